'use strict';
/**
 * Attaching to a Node `http.Server`: subwire serves WebSocket upgrades on the app's own
 * port, next to its HTTP routes (Apollo Server, Yoga, express…), as graphql-ws on `ws` does.
 *
 * Called by useServer() (lib/use-server.js) for a `{ server, path }` target. On each
 * `'upgrade'` event for its path, the socket is handed to Rust (fd hand-off): Node's
 * socket stops reading, anything it had buffered is collected, the file descriptor is
 * duplicated by the native side, and Node's socket is destroyed (closing only Node's copy:
 * libuv removes it from its epoll first, and close() does not end the connection while
 * the duplicate lives). The request head is written back as Node received it (method,
 * target, raw headers) and followed by the `head` bytes, so the reactor runs the same
 * upgrade checks (version, key, origin, subprotocol, maxHeaderBytes) and writes the 101
 * or the HTTP error itself. From then on the connection is Rust's.
 *
 * Other paths are left to other `'upgrade'` listeners (as `ws` with `noServer`); if subwire
 * is the only one, they get 404 so the socket does not hang. TLS sockets cannot be handed
 * over (the TLS state lives in Node): an `https.Server` is refused with
 * ERR_SUBWIRE_TLS_ATTACH.
 * @module subwire/lib/attach
 */

const tls = require('node:tls');
const { codedError, invalidOption } = require('./errors.js');

const NOT_FOUND = 'HTTP/1.1 404 Not Found\r\nConnection: close\r\nContent-Type: text/plain\r\nContent-Length: 35\r\n\r\nno WebSocket endpoint at this path\n';

/** @param {unknown} server */
function checkAttachable(server) {
  const s = /** @type {any} */ (server);
  if (!s || typeof s.on !== 'function' || typeof s.removeListener !== 'function' || typeof s.listenerCount !== 'function') {
    throw invalidOption('target.server must be a Node http.Server (an EventEmitter with an "upgrade" event)');
  }
  if (s instanceof tls.Server) {
    throw codedError(
      'ERR_SUBWIRE_TLS_ATTACH',
      'subwire cannot take over sockets of an https.Server: their TLS state lives in Node. ' +
        'Terminate TLS in front of the app (nginx, a load balancer, a TLS proxy) and attach to a plain http.Server, ' +
        'or let subwire listen on its own port with { port, host, path } behind that proxy.',
    );
  }
}

/** The request head as Node parsed it, written back in HTTP/1.1 form. @param {import('node:http').IncomingMessage} req */
function requestHead(req) {
  let head = `${req.method} ${req.url} HTTP/${req.httpVersion}\r\n`;
  const raw = req.rawHeaders;
  for (let i = 0; i + 1 < raw.length; i += 2) head += `${raw[i]}: ${raw[i + 1]}\r\n`;
  return Buffer.from(`${head}\r\n`, 'latin1');
}

/**
 * Starts handing `server`'s upgrades for `path` to `adopt(fd, bytes)`. Returns `detach()`.
 * @param {any} server a Node http.Server
 * @param {string | undefined} path only this path (query ignored); every path when undefined
 * @param {(fd: number, bytes: Buffer) => void} adopt
 * @param {(err: Error) => void} onError
 */
function attach(server, path, adopt, onError) {
  checkAttachable(server);
  /** @param {import('node:http').IncomingMessage} req @param {import('node:net').Socket} socket @param {Buffer} head */
  const onUpgrade = (req, socket, head) => {
    const pathname = (req.url ?? '').split('?')[0];
    if (path !== undefined && pathname !== path) {
      // Someone else's path; with no one else listening, answer rather than hang.
      if (server.listenerCount('upgrade') === 1) socket.end(NOT_FOUND);
      return;
    }
    const fd = /** @type {any} */ (socket)._handle?.fd;
    if (/** @type {any} */ (socket).encrypted || typeof fd !== 'number' || fd < 0) {
      socket.destroy();
      onError(codedError('ERR_SUBWIRE_ATTACH', `an upgrade on ${pathname} arrived on a socket subwire cannot take over (TLS, or no file descriptor); it was closed`));
      return;
    }
    socket.pause();
    const buffered = socket.read();
    const bytes = Buffer.concat(buffered ? [requestHead(req), head, buffered] : [requestHead(req), head]);
    try {
      adopt(fd, bytes);
    } catch (err) {
      onError(/** @type {Error} */ (err));
    } finally {
      socket.destroy();
    }
  };
  server.on('upgrade', onUpgrade);
  return () => server.removeListener('upgrade', onUpgrade);
}

module.exports = { attach, checkAttachable };
