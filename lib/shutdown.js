'use strict';
/**
 * `useServer(...).dispose()`: stop taking connections over from Node (attach mode), close
 * the Rust server (every connection gets 1001), then run the close hooks of every
 * connection JS still knows (iterators returned, onDisconnect, onClose), waiting for them
 * at most `HOOKS_WAIT` ms so an iterator whose `return()` never settles cannot hold the
 * app's shutdown forever. Called once per server by lib/use-server.js.
 * @module subwire/lib/shutdown
 */

/** How long dispose() waits for close hooks still running. */
const HOOKS_WAIT = 5000;

/**
 * @param {{ detach: () => void, srv: { dispose(): Promise<void> }, conns: Map<number, unknown>,
 *   closing: Set<Promise<void>>, closeAll: (conns: number[]) => void }} s
 *   `closeAll` reports connections as closed to the server's event handler
 * @returns {Promise<void>}
 */
async function shutDown({ detach, srv, conns, closing, closeAll }) {
  detach();
  await srv.dispose();
  // Rust reports a `closed` event for every connection; let the last batch arrive.
  for (let i = 0; i < 50 && conns.size > 0; i++) await new Promise((r) => setTimeout(r, 10));
  if (conns.size > 0) closeAll([...conns.keys()]);
  const closed = (async () => {
    while (closing.size > 0) await Promise.all([...closing]);
  })();
  // Not unref'd: an awaited dispose() must settle (here at the latest), even when nothing
  // else keeps the event loop alive.
  /** @type {NodeJS.Timeout | undefined} */
  let timer;
  const late = new Promise((resolve) => {
    timer = setTimeout(resolve, HOOKS_WAIT, 'late');
  });
  if ((await Promise.race([closed, late])) === 'late') {
    process.emitWarning(
      `subwire: dispose() stopped waiting after ${HOOKS_WAIT} ms for ${closing.size} connection(s) whose iterators or close hooks have not settled`,
      { code: 'SUBWIRE_DISPOSE_HOOKS_PENDING' },
    );
  }
  clearTimeout(timer);
}

module.exports = { shutDown };
