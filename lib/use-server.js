'use strict';
/**
 * subwire's graphql-ws v6 compatible `useServer()`: the GraphQL layer in JS on top of the
 * Rust sessions of `listen({ mode: 'graphql' })`.
 *
 * Rust owns the sockets and the protocol state machines (graphql-transport-ws and legacy
 * graphql-ws): subprotocol choice, close codes 4400/4401/4406/4408/4409/4429, ping/pong,
 * `ka`, message framing. This file receives the sessions' events in batches (`init`,
 * `subscribe`, `complete`, `closed`) and runs graphql-ws v6's `ServerOptions` over them with
 * the same names, arguments and call order as graphql-ws's `makeServer` (src/server.ts).
 * The options that need JS per message (`jsonMessageReviver`, `jsonMessageReplacer`,
 * `onPing`, `onPong`) turn on the matching Rust forwarding, and lib/messages.js reads and
 * writes those messages whole (graphql-transport-ws); without them Rust does it alone.
 *
 * - init: ctx.connectionInitReceived, connectionParams → onConnect(ctx) → false: reject
 *   (4403), an object: the ack payload; ctx.acknowledged → ack.
 * - subscribe: onSubscribe(ctx, id, payload) → execution args | GraphQLError[] (→ `error`)
 *   | void (parse → schema(ctx, id, payload, args) → validate; errors → `error`) →
 *   getOperationAST → roots / context(ctx, id, payload, args) → subscribe() or execute() →
 *   onOperation(ctx, id, payload, args, result) → for each result onNext(…) → `next`; a
 *   thrown iteration error → onError(ctx, id, payload, errors) → `error`; at the end
 *   onComplete(ctx, id, payload) and `complete` (only if the client did not complete first).
 * - complete (client): the operation's iterator's `return()`; its loop then ends and calls
 *   onComplete, as in graphql-ws.
 * - ping: onPing(ctx, payload), then `pong` (echoing a payload); pong: onPong(ctx, payload).
 *   A connection that sends one before `connection_init` gets its ctx then (`opened`).
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
 * @module subwire/lib/use-server
 */

/** graphql-ws's default for `headers` copied at upgrade into `ctx.extra.request.headers`. */
const DEFAULT_HEADERS = ['authorization', 'cookie', 'origin', 'user-agent'];

/** subwire limits passed through to `listen()` as they are. */
const PASSTHROUGH = [
  'reactors',
  'listener',
  'maxConnections',
  'maxPayload',
  'maxHeaderBytes',
  'maxBufferedBytes',
  'allowedOrigins',
  'handshakeTimeout',
  'closeTimeout',
  'maxSubscriptionsPerConnection',
];

/** How long dispose() waits for the close path (iterators' return(), onDisconnect, onClose). */

const { codedError, isObject, isAsyncIterable, isAsyncGenerator, limitCloseReason, msOption, INTERNAL } = require('./util.js');
const { DocCache } = require('./doc-cache.js');
const { Registry } = require('./shared-triggers.js');
const { publishToTopic, topicStats, subscribeTopic, topicsOf } = require('./pubsub.js');
const { projectionFor } = require('./projection.js');
const { nextPayload } = require('./next-payload.js');
const { prepareOperation, mapStream } = require('./execution.js');
const { shutDown } = require('./shutdown.js');
const { attach, checkAttachable } = require('./attach.js');
const { Conn } = require('./connection.js');
const { MessageEvents } = require('./messages.js');

/** The process-wide topic figures for `stats()`. */
function pubsubStats() {
  const { topics, publishes } = topicStats();
  return { topics, publishes };
}

/**
 * Starts a graphql-ws v6 compatible server on a Rust-owned listener.
 * @param {import('../index').ServerOptions} options graphql-ws `ServerOptions` plus subwire's limits
 * @param {import('../index').ServerTarget} target `{ port, host?, path?, reusePort? }` or `{ server, path? }`
 * @param {number} [keepAlive] WebSocket ping interval in ms (0 or Infinity: off)
 * @returns {import('../index').Server}
 */
function useServer(options, target, keepAlive = 12_000) {
  if (!isObject(options)) throw codedError('ERR_SUBWIRE_INVALID_OPTION', 'useServer(options, target): options must be an object', TypeError);
  if (!isObject(target)) {
    throw codedError('ERR_SUBWIRE_INVALID_OPTION', 'useServer(options, target): target must be an object such as { port: 4000, path: "/graphql" }', TypeError);
  }
  const httpServer = target.server;
  if (httpServer !== undefined) checkAttachable(httpServer);
  if (httpServer !== undefined && target.reusePort !== undefined) {
    throw codedError('ERR_SUBWIRE_INVALID_OPTION', 'useServer(options, { server }): reusePort is for subwire\'s own listener; the http.Server owns its port (listen it with reusePort)', TypeError);
  }
  const { listen } = require('../index.js');
  const graphql = require('graphql');
  const {
    schema,
    context,
    roots,
    parse,
    validate,
    execute,
    subscribe,
    onConnect,
    onDisconnect,
    onClose,
    onPing,
    onPong,
    onSubscribe,
    onOperation,
    onNext,
    onError,
    onComplete,
    jsonMessageReviver: reviver,
    jsonMessageReplacer: replacer,
    shareKey,
  } = options;
  if (shareKey !== undefined && typeof shareKey !== 'function') {
    throw codedError('ERR_SUBWIRE_INVALID_OPTION', 'shareKey must be a function (ctx, message, args) => string | undefined', TypeError);
  }
  const isProd = typeof options.isProd === 'boolean' ? options.isProd : process.env.NODE_ENV === 'production';

  /** @param {unknown} err */
  const toGraphQLError = (err) => {
    const original = err instanceof Error ? err : new Error(String(err));
    return new graphql.GraphQLError(original.message, { originalError: original });
  };

  /** @typedef {import('./connection.js').Op} Op */
  /** @type {Map<number, Conn>} */
  const conns = new Map();
  /** Promises of close handlers still running (dispose waits for them). @type {Set<Promise<void>>} */
  const closing = new Set();
  let liveOps = 0;

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
  /** @param {unknown} v */
  const stringify = (v) => JSON.stringify(v, replacer);
  /**
   * @param {Conn} c @param {string} id @param {number} serial the operation's (Rust drops
   *   answers carrying it once the id is another operation's) @param {string} raw its
   *   payload's JSON (with a reviver: the token of what lib/messages.js kept)
   */
  async function onSubscribeMessage(c, id, serial, raw) {
    const { ctx } = c;
    /** @type {Op} */
    const op = { id, serial, iterator: null, finished: null };
    c.setOp(op);
    liveOps += 1;
    /** Whether this operation may still talk to the client (not completed, not closed). */
    const active = () => !c.closed && c.getOp(id) === op;
    /** @type {any} */
    let payload;
    /** Whether a shared trigger took the operation over (it then ends the op itself). */
    let shared = false;

    const emitNext = async (/** @type {any} */ result, /** @type {any} */ args) => {
      const maybeResult = await onNext?.(ctx, id, payload, args, result);
      if (active()) send.next(c, id, serial, maybeResult || nextPayload(result));
    };
    const emitError = async (/** @type {readonly any[]} */ errors) => {
      const maybeErrors = await onError?.(ctx, id, payload, errors);
      if (active()) send.error(c, id, serial, maybeErrors || errors);
    };
    const emitComplete = async (/** @type {boolean} */ notifyClient) => {
      await onComplete?.(ctx, id, payload);
      if (notifyClient && active()) send.complete(c, id, serial);
    };

    try {
      payload = messages.payloadOf(c, raw);
      const prepared = await prepareOperation(execDeps, ctx, id, payload);
      if ('errors' in prepared) return active() ? await emitError(prepared.errors) : undefined;
      const { execArgs, operationAST } = prepared;
      if (shareKey && operationAST.operation === 'subscription') {
        const key = await shareKey(ctx, payload, execArgs);
        if (typeof key === 'string' && active()) {
          shared = true;
          triggers.join(c, op, payload, execArgs, key);
          return;
        }
      }
      if (!('contextValue' in execArgs)) {
        execArgs.contextValue = typeof context === 'function' ? await context(ctx, id, payload, execArgs) : context;
      }
      /** @type {any} */
      let operationResult;
      const plan =
        projectable && operationAST.operation === 'subscription' ? projectionFor(graphql, execArgs) : null;
      if (plan) {
        // Run the resolver's subscribe() as graphql would; a subwire topic stream is then
        // served by projection in Rust, anything else is mapped through execute() as usual.
        const stream = await graphql.createSourceEventStream(execArgs);
        const topics = topicsOf(stream);
        if (topics) {
          await /** @type {any} */ (stream).return();
          if (!active()) return;
          shared = true;
          triggers.joinProjected(c, op, payload, execArgs, topics, plan);
          return;
        }
        operationResult = isAsyncIterable(stream) ? mapStream(stream, (value) => graphql.execute({ ...execArgs, rootValue: value })) : stream;
      } else {
        operationResult =
          operationAST.operation === 'subscription'
            ? await (subscribe ?? graphql.subscribe)(execArgs)
            : await (execute ?? graphql.execute)(execArgs);
      }
      const maybeResult = await onOperation?.(ctx, id, payload, execArgs, operationResult);
      if (maybeResult) operationResult = maybeResult;

      if (isAsyncIterable(operationResult)) {
        if (!active()) {
          // completed or closed while the operation started: end it at once
          if (isAsyncGenerator(operationResult)) await operationResult.return(undefined);
        } else {
          op.iterator = operationResult;
          /** @type {() => void} */
          let finished = () => {};
          op.finished = new Promise((resolve) => (finished = resolve));
          try {
            try {
              for await (const result of operationResult) await emitNext(result, execArgs);
            } catch (err) {
              await emitError([toGraphQLError(err)]);
              release(c, op);
            }
            await emitComplete(active());
          } finally {
            c.ending?.delete(op);
            finished();
          }
          return;
        }
      } else if (active()) {
        await emitNext(operationResult, execArgs);
      }
      await emitComplete(active());
    } catch (err) {
      internalError(c, err);
    } finally {
      if (!shared) {
        release(c, op);
        liveOps -= 1;
      }
    }
  }

  /** Forgets `op` if it is still the connection's operation under its id. @param {Conn} c @param {Op} op */
  function release(c, op) {
    c.deleteOp(op);
  }

  /** The client completed (or stopped) an operation. @param {Conn} c @param {string} id */
  async function onClientComplete(c, id) {
    const op = c.getOp(id);
    if (!op) return;
    const subscription = op.iterator;
    release(c, op);
    if (op.finished) (c.ending ??= new Set()).add(op);
    if (isAsyncGenerator(subscription)) await subscription.return(undefined);
  }

  /** @param {{ conn: number, code: number, reason: string }} ev */
  async function onClosed(ev) {
    const c = conns.get(ev.conn);
    conns.delete(ev.conn);
    messages.forget(ev.conn);
    if (!c) {
      // closed before connection_init (timeout, 4406, the peer left): graphql-ws still calls onClose
      if (onClose) {
        const ctx = { connectionInitReceived: false, acknowledged: false, subscriptions: Object.create(null), extra: { request: undefined, socket: undefined } };
        await onClose(ctx, ev.code, ev.reason);
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
    for (const op of ops) release(c, op);
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

  /** @param {any[]} batch */
  function onEvents(batch) {
    for (const ev of batch) {
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
          if (c && !c.closed) onSubscribeMessage(c, ev.id, ev.serial ?? 0, ev.payload).catch(logHookError);
          break;
        }
        case 'complete': {
          const c = conns.get(ev.conn);
          if (c) onClientComplete(c, ev.id).catch((err) => internalError(c, err));
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

  const docs = parse || validate ? null : new DocCache(graphql);
  /** @type {import('./execution.js').Deps} */
  const execDeps = { graphql, schema, roots, onSubscribe, parse, validate, docs };
  /**
   * Unshared subscriptions may be projected in Rust (lib/projection.js) when nothing of the
   * app runs per event or around execution: no onNext/onError/onOperation, graphql-js's
   * own subscribe/execute, no replacer (it writes whole messages, and may look at any of
   * them). `projection: false` turns it off.
   */
  const projectable = options.projection !== false && !onNext && !onError && !onOperation && !subscribe && !execute && !replacer;
  const triggers = new Registry({
    srv: /** @type {any} */ (null),
    graphql,
    options,
    stringify,
    toGraphQLError,
    isAsyncIterable,
    internalError,
    subscribeTopic,
    framed: null,
    released: (/** @type {Conn} */ c, /** @type {Op} */ op) => {
      release(c, op);
      liveOps -= 1;
    },
  });

  /** @type {Record<string, unknown>} */
  const limits = {};
  for (const k of PASSTHROUGH) if (options[k] !== undefined) limits[k] = options[k];
  const srv = listen({
    ...limits,
    ...(httpServer !== undefined
      ? { listener: 'none', path: target.path ?? '*' }
      : { port: target.port, host: target.host, path: target.path, reusePort: target.reusePort }),
    mode: 'graphql',
    keepAlive: msOption('keepAlive', keepAlive, 12_000),
    connectionInitWaitTimeout: msOption('connectionInitWaitTimeout', options.connectionInitWaitTimeout, 3000),
    headers: options.headers ?? DEFAULT_HEADERS,
    // graphql-transport-ws messages JS must see (lib/messages.js)
    rawMessages: typeof reviver === 'function',
    forwardPings: Boolean(onPing || replacer),
    forwardPongs: Boolean(onPong),
    onEvents,
  });
  const messages = new MessageEvents({ conns, srv, reviver, replacer, onConnect, onPing, onPong, internalError });
  const { send } = messages;
  triggers.deps.srv = srv;
  // A replacer may look at any message, ids included: shared results are framed per
  // subscriber in JS instead of by the hub (one execution per event still).
  if (replacer) triggers.deps.framed = send;
  const detach =
    httpServer === undefined
      ? () => {}
      : attach(httpServer, target.path, (fd, bytes) => srv._adopt(fd, bytes), (err) =>
          // (graphql-ws's onError is the GraphQL error hook: transport faults go where listen()'s go)
          process.emitWarning(err.message, { code: /** @type {any} */ (err).code }),
        );

  /** @type {Promise<void> | undefined} */
  let disposed;
  return {
    address: () => (httpServer !== undefined ? httpServer.address() : srv.address()),
    stats: () => ({ ...srv.stats(), subscriptions: liveOps, projectionFallbacks: triggers.fallbacks, ...pubsubStats() }),
    publish(topic, payload) {
      publishToTopic(topic, payload);
    },
    dispose() {
      disposed ??= shutDown({ detach, srv, conns, closing, closeAll: (ids) => onEvents(ids.map((conn) => ({ conn, type: 'closed', code: 1001, reason: 'Going away', acknowledged: false }))) });
      return disposed;
    },
  };
}

/** @param {unknown} err */
function logHookError(err) {
  console.error('Internal error occurred during message handling. Please check your implementation.', err);
}

module.exports = { useServer, DEFAULT_HEADERS };
