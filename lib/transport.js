'use strict';
/**
 * The Rust-owned WebSocket listener as JS sees it: `listen(options)` binds (synchronously:
 * a bind failure throws with a `code`) and returns a `TransportServer`, which wraps the
 * native server (lib/native.js) with coded errors, the answer outbox (lib/outbox.js) and
 * the per-turn flush of trigger-hub calls. Modes `echo` and `broadcast` are plain
 * WebSocket servers; mode `graphql` runs the graphql-transport-ws / legacy graphql-ws
 * sessions in Rust and reports their events to `onEvents`, and its session and hub methods
 * are what useServer's core (lib/server.js) answers with. Re-exported by index.js; used by
 * lib/use-server.js, the tests and the benchmarks.
 * @module subwire/lib/transport
 */

const { Outbox, KIND, checkSerial } = require('./outbox.js');
const { loadNative } = require('./native.js');
const { render } = require('./metrics.js');
const { codedError, invalidOption, fromNative } = require('./errors.js');
const { listenOptions } = require('./options.js');

const native = loadNative();

/** @typedef {import('../native/native').NativeServer} NativeServer */
/** @typedef {keyof NativeServer} NativeMethod */

/**
 * Servers that listen, held so that an app which drops its reference does not lose the
 * server to garbage collection (a listening `net.Server` keeps running too).
 * @type {Set<TransportServer>}
 */
const listening = new Set();

/** @typedef {import('../index').TransportServer} PublicTransportServer */

/**
 * A running Rust-owned WebSocket listener.
 * @implements {PublicTransportServer}
 */
class TransportServer {
  /** @param {NativeServer} inner the native server */
  constructor(inner) {
    this._inner = inner;
    /** @type {Promise<void> | null} */
    this._disposed = null;
    this._hubScheduled = false;
    this._outbox = new Outbox((kinds, conns, serials, a, b) => {
      try {
        return this._inner.batch(kinds, conns, serials, a, b);
      } catch (e) {
        throw fromNative(e);
      }
    });
    listening.add(this);
  }

  /** @returns {import('../index').AddressInfo} */
  address() {
    try {
      return this._inner.address();
    } catch (e) {
      throw fromNative(e);
    }
  }

  /** @returns {import('../index').TransportStats} */
  stats() {
    try {
      return this._inner.stats();
    } catch (e) {
      throw fromNative(e);
    }
  }

  /** The listener's metric families, read now (lib/metrics.js). @returns {import('../index').MetricFamily[]} */
  metricFamilies() {
    try {
      return /** @type {import('../index').MetricFamily[]} */ (this._inner.metrics());
    } catch (e) {
      throw fromNative(e);
    }
  }

  /** The listener's metrics as Prometheus text (format 0.0.4). */
  metrics() {
    return render(this.metricFamilies());
  }

  /**
   * Sends one message to every open connection. Strings go as text frames, Buffers and
   * Uint8Arrays as binary frames; the bytes are copied once and shared by all recipients.
   * @param {string | Uint8Array} data
   */
  broadcast(data) {
    const binary = typeof data !== 'string';
    if (binary && !(data instanceof Uint8Array)) throw invalidOption('broadcast takes a string or a Uint8Array');
    const bytes = binary ? data : Buffer.from(data, 'utf8');
    try {
      this._inner.broadcast(bytes, binary);
    } catch (e) {
      throw fromNative(e);
    }
  }

  // Low-level session API (mode 'graphql'): answers to the events `onEvents` receives.
  // useServer() is built on these. They are queued in call order and cross into Rust
  // together at the end of the current JS turn (lib/outbox.js); each returns false once
  // dispose() began (the answer goes nowhere). An answer for a connection that has gone is
  // dropped by its reactor.

  /**
   * Accepts `connection_init`; `payload` goes into `connection_ack`: an object (serialized
   * here) or the JSON text of one, sent as it is.
   * @param {number} conn @param {Record<string, unknown> | string | null} [payload]
   */
  accept(conn, payload) {
    if (payload === undefined || payload === null) return this._queue(KIND.accept, conn, '', '');
    return this._queue(KIND.acceptWith, conn, typeof payload === 'string' ? payload : JSON.stringify(payload), '');
  }
  /** Refuses `connection_init` (4403; legacy: `connection_error`). @param {number} conn @param {string} message */
  reject(conn, message = 'Forbidden') {
    return this._queue(KIND.reject, conn, String(message), '');
  }
  // `serial` (next, error, complete, triggerAdd): the operation's, from its `subscribe`
  // event. A client may complete an id and subscribe with it again; with the serial, an
  // answer still on its way for the old operation is dropped instead of reaching the new
  // one. 0 (or absent): whichever operation holds the id.

  /** Sends one result for operation `id`: an object, or JSON text/bytes sent as they are. @param {number} conn @param {string} id @param {unknown} result @param {number} [serial] */
  next(conn, id, result, serial = 0) {
    return this._queue(KIND.next, conn, String(id), toJsonText(result), serial);
  }
  /** Fails operation `id` with GraphQL errors (an array). @param {number} conn @param {string} id @param {unknown} errors @param {number} [serial] */
  error(conn, id, errors, serial = 0) {
    return this._queue(KIND.error, conn, String(id), toJsonText(errors), serial);
  }
  /** Completes operation `id`. @param {number} conn @param {string} id @param {number} [serial] */
  complete(conn, id, serial = 0) {
    return this._queue(KIND.complete, conn, String(id), '', serial);
  }
  /** A hook failed: closes with 4500 and `message`. @param {number} conn @param {string} message */
  internalError(conn, message) {
    return this._queue(KIND.internalError, conn, String(message), '');
  }
  // Whole messages (graphql-transport-ws), written by the app as they go on the wire, e.g.
  // with graphql-ws's jsonMessageReplacer; Rust checks nothing in them but applies the same
  // rules as for the ops above (an id must be active and held by `serial`).

  /** Accepts `connection_init` with this whole `connection_ack` (JSON text). @param {number} conn @param {string} message */
  acceptMessage(conn, message) {
    return this._queue(KIND.acceptMessage, conn, String(message), '');
  }
  /** The whole `next` message for operation `id`. @param {number} conn @param {string} id @param {string} message @param {number} [serial] */
  nextMessage(conn, id, message, serial = 0) {
    return this._queue(KIND.nextMessage, conn, String(id), String(message), serial);
  }
  /** The whole `error` message for operation `id` (it ends). @param {number} conn @param {string} id @param {string} message @param {number} [serial] */
  errorMessage(conn, id, message, serial = 0) {
    return this._queue(KIND.errorMessage, conn, String(id), String(message), serial);
  }
  /** The whole `complete` message for operation `id` (it ends). @param {number} conn @param {string} id @param {string} message @param {number} [serial] */
  completeMessage(conn, id, message, serial = 0) {
    return this._queue(KIND.completeMessage, conn, String(id), String(message), serial);
  }
  /** The whole `pong` answering a `ping` event (listen option `forwardPings`). @param {number} conn @param {string} message */
  pong(conn, message) {
    return this._queue(KIND.pong, conn, String(message), '');
  }
  /**
   * A client message the app parsed itself (listen option `rawMessages`), as its envelope:
   * JSON `{ type, id?, payload? }` where `payload` is any JSON value of the app's (e.g. a
   * number naming what it kept), given back in the event the message produces.
   * @param {number} conn @param {string} envelope
   */
  clientMessage(conn, envelope) {
    return this._queue(KIND.clientMessage, conn, String(envelope), '');
  }
  /** Closes one connection (code 1000 or 3000–4999). @param {number} conn @param {number} code @param {string} [reason] */
  closeConnection(conn, code, reason = '') {
    if (!(code === 1000 || (Number.isInteger(code) && code >= 3000 && code <= 4999))) {
      throw invalidOption(`close code ${String(code)} is not allowed: use 1000 or 3000-4999`);
    }
    return this._queue(KIND.close, conn, String(reason), String(code));
  }
  /**
   * A trigger-hub call: queued in Rust and sent to the hub thread with the rest of this JS
   * turn's hub calls, in order, as one batch (so a burst of publishes reaches each reactor
   * together). @param {NativeMethod} method @param {...unknown} args
   */
  _hub(method, ...args) {
    const r = this._call(method, ...args);
    if (!this._hubScheduled && !this._disposed) {
      this._hubScheduled = true;
      process.nextTick(() => {
        this._hubScheduled = false;
        if (!this._disposed) this._call('hubFlush');
      });
    }
    return r;
  }
  /**
   * Answers queued from now until the end of this JS turn (or `flushAnswers`) cross into
   * Rust in one call, however many (no early flush at 1,024; lib/outbox.js).
   */
  holdAnswers() {
    this._outbox.hold();
  }
  /** Sends the queued answers now if there are 1,024 or more (else at the end of the turn). */
  flushAnswers() {
    if (!this._disposed) this._outbox.flushIfFull();
  }
  /** Attach mode: takes over a socket Node accepted (lib/attach.js). @param {number} fd @param {Buffer} bytes */
  _adopt(fd, bytes) {
    this._outbox.flush();
    return this._call('adopt', fd, bytes);
  }
  /** @param {number} kind @param {number} conn @param {string} a @param {string} b @param {number} [serial] */
  _queue(kind, conn, a, b, serial = 0) {
    if (this._disposed) return false;
    this._outbox.push(kind, conn, a, b, serial);
    return true;
  }

  // Trigger hub API (shared subscriptions; lib/shared-triggers.js is built on it). A
  // trigger id is the caller's: an integer never reused while the server runs.

  /** Operation `id` of `conn` joins `trigger`. @param {number} trigger @param {number} conn @param {string} id @param {boolean} [legacy] the connection speaks subscriptions-transport-ws @param {number} [serial] */
  triggerAdd(trigger, conn, id, legacy = false, serial = 0) {
    return this._hub('triggerAdd', trigger, conn, String(id), Boolean(legacy), checkSerial(serial));
  }
  /** Operation `id` of `conn` leaves `trigger`. @param {number} trigger @param {number} conn @param {string} id */
  triggerRemove(trigger, conn, id) {
    return this._hub('triggerRemove', trigger, conn, String(id));
  }
  /** Every operation of `conn` leaves its triggers. @param {number} conn */
  triggerRemoveClient(conn) {
    return this._hub('triggerRemoveClient', conn);
  }
  /** One result to every subscriber of `trigger`: an object, or JSON text/bytes as they are. @param {number} trigger @param {unknown} result */
  triggerNext(trigger, result) {
    return this._hub('triggerNext', trigger, toJsonBytes(result));
  }
  /** `error` (GraphQL errors, an array) to every subscriber; the trigger ends. @param {number} trigger @param {unknown} errors */
  triggerError(trigger, errors) {
    return this._hub('triggerError', trigger, toJsonBytes(errors));
  }
  /** Gives `trigger` a projection plan (lib/projection.js). @param {number} trigger @param {string} plan */
  triggerPlan(trigger, plan) {
    return this._call('triggerPlan', trigger, plan);
  }
  /** Forgets `trigger`'s plan. @param {number} trigger */
  triggerPlanRemove(trigger) {
    return this._call('triggerPlanRemove', trigger);
  }
  /** Projects a published payload (JSON text) to every subscriber of `trigger`; false: execute it in JS instead. @param {number} trigger @param {string} json */
  triggerProject(trigger, json) {
    return this._hub('triggerProject', trigger, json);
  }
  /** `complete` to every subscriber; the trigger ends. @param {number} trigger */
  triggerComplete(trigger) {
    return this._hub('triggerComplete', trigger);
  }
  /** Broker: projected `trigger` takes messages on `topics` as route `route` (lib/broker.js). @param {number} trigger @param {number} route @param {string[]} topics */
  brokerRoute(trigger, route, topics) {
    return this._call('brokerRoute', trigger, route, topics);
  }
  /** Broker: route `route` ends. @param {number} route */
  brokerUnroute(route) {
    return this._call('brokerUnroute', route);
  }
  /** Broker: route `route`'s messages up to `seq` are handled; the hub calls queued go now. @param {number} route @param {number} seq */
  brokerAck(route, seq) {
    return this._call('brokerAck', route, seq);
  }

  /**
   * Calls the native server's `method`, unless dispose() began.
   * @param {NativeMethod} method @param {...unknown} args
   */
  _call(method, ...args) {
    // Once dispose() started every connection is going away (and the native object is
    // borrowed by the dispose task until it resolves): answers go nowhere.
    if (this._disposed) return false;
    try {
      return /** @type {any} */ (this._inner)[method](...args);
    } catch (e) {
      throw fromNative(e);
    }
  }

  /**
   * Closes every connection (close code 1001), ends the reactor threads and releases the
   * event loop. Resolves when all of that is done; calling it again returns the same promise.
   * @returns {Promise<void>}
   */
  dispose() {
    if (!this._disposed) {
      this._outbox.flush();
      this._call('hubFlush');
      this._disposed = /** @type {Promise<void>} */ (this._inner.dispose());
      listening.delete(this);
    }
    return this._disposed;
  }
}

/** @param {unknown} v JSON text, bytes, or a value to serialize @returns {string} */
function toJsonText(v) {
  if (typeof v === 'string') return v;
  if (v instanceof Uint8Array) return Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('utf8');
  return JSON.stringify(v);
}

/** @param {unknown} v JSON text, bytes, or a value to serialize */
function toJsonBytes(v) {
  if (typeof v === 'string') return Buffer.from(v, 'utf8');
  if (v instanceof Uint8Array) return v;
  return Buffer.from(JSON.stringify(v), 'utf8');
}

/**
 * Starts a WebSocket listener owned by Rust. Synchronous: a bind failure throws an Error
 * with a `code` (`ERR_SUBWIRE_ADDR_IN_USE`, …).
 * @param {import('./options.js').ListenOptions} [options]
 * @returns {TransportServer}
 */
function listen(options = {}) {
  const opts = listenOptions(options);
  const onError =
    typeof options.onError === 'function'
      ? options.onError
      : (/** @type {import('./errors.js').CodedError} */ err) => process.emitWarning(err.message, { code: err.code });
  // napi-rs calls it with the tuple spread: (code, message).
  const report = /** @type {any} */ ((/** @type {string} */ code, /** @type {string} */ message) => onError(codedError(code, message)));
  try {
    const onEvents = /** @type {any} */ (typeof options.onEvents === 'function' ? options.onEvents : undefined);
    return new TransportServer(native.NativeServer.listen(opts, report, onEvents));
  } catch (e) {
    throw fromNative(e);
  }
}

module.exports = { listen, TransportServer };
