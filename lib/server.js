'use strict';
/**
 * The graphql-ws v6 compatible core (graphql-ws's `makeServer`, src/server.ts): the
 * `ServerOptions` hooks run over a connection's events with graphql-ws's names, arguments
 * and call order. It knows nothing of sockets or of the native addon: events come in
 * through `handle(events)` (mode `graphql` of `listen()`: the sessions run in Rust) and
 * answers go out through a {@link SessionApi}, which a TransportServer is.
 * lib/use-server.js binds the two (graphql-ws's `use/ws.ts`).
 *
 * Rust owns the protocol state machines (graphql-transport-ws and legacy graphql-ws):
 * subprotocol choice, close codes 4400/4401/4406/4408/4409/4429, ping/pong, `ka`, message
 * framing. Here:
 * - init (lib/messages.js): ctx.connectionInitReceived, connectionParams → onConnect(ctx)
 *   → false: reject (4403), an object: the ack payload; ctx.acknowledged → ack.
 * - subscribe, complete: lib/operation.js.
 * - ping: onPing(ctx, payload), then `pong` (echoing a payload); pong: onPong(ctx, payload).
 *   A connection that sends one before `connection_init` gets its ctx then (`opened`).
 *   The options that need JS per message (`jsonMessageReviver`, `jsonMessageReplacer`,
 *   `onPing`, `onPong`) have lib/messages.js read and write those messages whole.
 * - subscribe sent before the ack (right after connection_init) waits in Rust and arrives
 *   after the ack, in order; it is dropped if onConnect refuses.
 * - closed: `return()` on every live iterator of the connection, onDisconnect(ctx, code,
 *   reason) if acknowledged, then onClose(ctx, code, reason).
 *
 * A hook that throws during init or subscribe closes the connection with 4500 (the message
 * outside production, 'Internal server error' in production), as graphql-ws on ws does; a
 * hook that throws in the close path is logged. Nothing here crashes the process.
 *
 * The `ctx` of a connection exists from its first event on (`init`, or `opened` when it is
 * heard from before its init): an idle upgraded connection costs no JS object. Connections
 * closed before any event get a throw-away ctx only if `onClose` is set.
 * @module subwire/lib/server
 */

const { isAsyncGenerator, limitCloseReason, INTERNAL } = require('./util.js');
const { invalidOption } = require('./errors.js');
const { MessageEvents } = require('./messages.js');
const { makeOperations } = require('./operation.js');
const { checkLoadersOption } = require('./loaders.js');

/**
 * What the core asks of its transport: the session answers and trigger-hub calls of a
 * TransportServer in mode `graphql` (index.d.ts documents each).
 * @typedef {Pick<import('../index').TransportServer,
 *   'accept' | 'reject' | 'next' | 'error' | 'complete' | 'internalError' | 'closeConnection'
 *   | 'acceptMessage' | 'nextMessage' | 'errorMessage' | 'completeMessage' | 'pong' | 'clientMessage'
 *   | 'triggerAdd' | 'triggerRemove' | 'triggerRemoveClient' | 'triggerNext' | 'triggerError'
 *   | 'triggerComplete' | 'triggerPlan' | 'triggerPlanRemove' | 'triggerProject'
 *   | 'brokerRoute' | 'brokerUnroute' | 'brokerAck'
 *   | 'holdAnswers' | 'flushAnswers'>} SessionApi
 */
/** @typedef {import('../index').SessionEvent} SessionEvent */
/** @typedef {import('./connection.js').Conn} Conn */

/**
 * Checks the options the core reads that graphql-ws does not check itself; called before
 * anything listens. @param {import('../index').ServerOptions} options
 */
function checkServerOptions(options) {
  if (options.shareKey !== undefined && typeof options.shareKey !== 'function') {
    throw invalidOption('shareKey must be a function (ctx, message, args) => string | undefined');
  }
  checkLoadersOption(options.loaders);
  if (options.jit !== undefined && typeof options.jit !== 'boolean') throw invalidOption('jit must be a boolean');
}

/**
 * The core of one server.
 * @param {import('../index').ServerOptions} options graphql-ws `ServerOptions` plus subwire's
 * @param {SessionApi} srv where answers go
 */
function makeServer(options, srv) {
  const graphql = require('graphql');
  const { onConnect, onDisconnect, onClose, onPing, onPong } = options;
  const isProd = typeof options.isProd === 'boolean' ? options.isProd : process.env.NODE_ENV === 'production';

  /** @type {Map<number, Conn>} */
  const conns = new Map();
  /** Promises of close handlers still running (dispose waits for them). @type {Set<Promise<void>>} */
  const closing = new Set();

  /** A hook failed while handling a message: 4500, as graphql-ws on ws. @param {Conn} c @param {unknown} err */
  const internalError = (c, err) => {
    console.error('Internal error occurred during message handling. Please check your implementation.', err);
    if (c.closed) return;
    const message = isProd ? INTERNAL : limitCloseReason(err instanceof Error ? err.message : String(err));
    try {
      srv.internalError(c.conn, message);
    } catch {
      // the connection is gone
    }
  };

  const messages = new MessageEvents({
    conns,
    srv,
    reviver: options.jsonMessageReviver,
    replacer: options.jsonMessageReplacer,
    onConnect,
    onPing,
    onPong,
    internalError,
  });
  const operations = makeOperations({ graphql, options, srv, messages, internalError });

  /** @param {{ conn: number, code: number, reason: string }} ev */
  async function onClosed(ev) {
    const c = conns.get(ev.conn);
    conns.delete(ev.conn);
    messages.forget(ev.conn);
    if (!c) {
      // closed before connection_init (timeout, 4406, the peer left): graphql-ws still calls onClose
      if (onClose) {
        const ctx = { connectionInitReceived: false, acknowledged: false, subscriptions: Object.create(null), extra: { request: undefined, socket: undefined } };
        await onClose(/** @type {any} */ (ctx), ev.code, ev.reason);
      }
      return;
    }
    c.closed = true;
    if (c.shared) srv.triggerRemoveClient(c.conn);
    const { ctx } = c;
    const ops = c.ops();
    const subs = ops.map((op) => op.iterator);
    // Operations whose stream loop is running: their onComplete comes before onDisconnect.
    const streaming = [...ops, ...(c.ending ?? [])].map((op) => op.finished).filter(Boolean);
    for (const op of ops) operations.release(c, op);
    c.ending = null;
    await Promise.all(
      subs.filter(isAsyncGenerator).map((sub) =>
        Promise.resolve()
          .then(() => sub.return(undefined))
          .catch((err) => console.error('An iterator threw from return() while its connection closed.', err)),
      ),
    );
    await Promise.all(streaming);
    if (ctx.acknowledged && onDisconnect) {
      try {
        await onDisconnect(ctx, ev.code, ev.reason);
      } catch (err) {
        // graphql-ws would skip onClose (and reject unhandled); subwire logs and goes on
        console.error('Internal error occurred in onDisconnect. Please check your implementation.', err);
      }
    }
    await onClose?.(ctx, ev.code, ev.reason);
  }

  /** One batch of session events, in order. @param {SessionEvent[]} events */
  function handle(events) {
    for (const ev of events) {
      switch (ev.type) {
        case 'init':
          messages.init(ev).catch(logHookError);
          break;
        case 'opened':
          messages.conn(ev);
          break;
        case 'message':
          messages.text(ev);
          break;
        case 'ping':
          messages.ping(ev).catch(logHookError);
          break;
        case 'pong':
          messages.pong(ev).catch(logHookError);
          break;
        case 'refused':
          messages.refused(ev);
          break;
        case 'subscribe': {
          const c = conns.get(ev.conn);
          if (c && !c.closed) operations.subscribe(c, ev.id, ev.serial ?? 0, ev.payload).catch(logHookError);
          break;
        }
        case 'complete': {
          const c = conns.get(ev.conn);
          if (c) operations.complete(c, ev.id).catch((err) => internalError(c, err));
          break;
        }
        case 'closed': {
          const p = onClosed(ev).catch((err) => console.error('Internal error occurred while a connection closed. Please check your implementation.', err));
          closing.add(p);
          p.finally(() => closing.delete(p));
          break;
        }
        default:
          break;
      }
    }
  }

  return {
    handle,
    /** Connections JS knows, by Rust id. */
    conns,
    /** Close handlers still running. */
    closing,
    /** Runs the close path of connections whose `closed` event never came (dispose). @param {number[]} ids */
    closeAll(ids) {
      handle(ids.map((conn) => ({ conn, type: 'closed', code: 1001, reason: 'Going away', acknowledged: false })));
    },
    /** The server is being disposed: publishes need no more events for its loaders. */
    stop() {
      operations.close();
    },
    /** This server's figures for `stats()`. */
    stats: () => ({
      subscriptions: operations.live,
      subscriptionsByPath: operations.paths,
      projectionFallbacks: operations.fallbacks,
      compiledExecutions: operations.compiled.executions,
      compiledFallbacks: operations.compiled.fallbacks,
    }),
  };
}

/** @param {unknown} err */
function logHookError(err) {
  console.error('Internal error occurred during message handling. Please check your implementation.', err);
}

/** @typedef {ReturnType<typeof makeServer>} Core */

module.exports = { makeServer, checkServerOptions };
