'use strict';
/**
 * What JS keeps for one GraphQL connection from its `connection_init` on, kept small
 * because a server holds 10k–1M of them: `Conn` (useServer's own record: the Rust id, its
 * operations, close state) and `Context` (graphql-ws's `ctx`, which the app's hooks see).
 *
 * Memory, per idle subscribed connection, is what this file is about (docs/ARCHITECTURE.md,
 * "Memory per connection"):
 * - operations: the first one sits in a field, a `Map` exists only from the second on (a
 *   `Map` costs ~180 bytes of V8 heap even with one entry);
 * - `ctx.subscriptions` is not stored: it is a live read-only view of the operations, made
 *   when read (a null-prototype object holding one id costs ~240 bytes);
 * - `ctx.extra` (`{ request: { url, headers }, socket }`) is built the first time it is read
 *   (an app that never reads it keeps only the url and the raw header pairs), and is then an
 *   ordinary own property;
 * - request urls are interned: 10k connections to `/graphql` share one string.
 *
 * Used by lib/messages.js (creates both at a connection's first event), lib/server.js,
 * lib/operation.js, lib/shared-triggers.js, lib/executed-triggers.js, and lib/trigger.js and
 * lib/executed-members.js (a shared subscriber or a group member is itself the operation
 * record: `JoinedOp`).
 * @module subwire/lib/connection
 */

/** The Conn behind a Context (a symbol: Object.keys, spread and JSON.stringify skip it). */
const CONN = Symbol('subwire.connection');

/**
 * One operation of a connection, as the connection tracks it. `iterator` is what
 * `ctx.subscriptions[id]` shows: `null` while the operation starts, then its async iterator.
 * `serial` names the operation in Rust (see `TransportServer.next`).
 * @typedef {{ readonly id: string, readonly serial?: number, iterator: any, finished: Promise<void> | null | undefined }} Op
 */

/**
 * An operation served by a trigger or an executed group instead of a stream of its own (a
 * shared subscriber, lib/trigger.js; a group member, lib/executed-members.js): as
 * an `Op` it is its own iterator, which yields nothing; `return()` (client complete,
 * connection close, `ctx.subscriptions[id].return()`) leaves what serves it.
 */
class JoinedOp {
  /** As an `Op`: what `ctx.subscriptions[id]` shows. */
  get iterator() {
    return this;
  }
  /** As an `Op`: no stream loop of useServer's runs for it. */
  get finished() {
    return null;
  }
  next() {
    return Promise.resolve({ value: undefined, done: true });
  }
  async return() {
    await this.leave();
    return { value: undefined, done: true };
  }
  [Symbol.asyncIterator]() {
    return this;
  }
  /** Leaves the trigger or group that serves it (each subclass says which). @returns {Promise<void>} */
  leave() {
    return Promise.reject(new Error('JoinedOp.leave is defined by its subclass'));
  }
}

/** The last url seen: connections to the same path share this string. */
let lastUrl = '';

/** useServer's record of one connection. */
class Conn {
  /**
   * @param {number} conn the Rust connection id
   * @param {boolean} legacy the connection speaks subscriptions-transport-ws
   * @param {string} url the upgrade request's path and query
   * @param {[string, string][] | undefined} headers the request headers the app asked for
   */
  constructor(conn, legacy, url, headers) {
    if (url === lastUrl) url = lastUrl;
    else lastUrl = url;
    this.conn = conn;
    /** @type {Op | null} the first operation (most connections have one) */
    this.op = null;
    /** @type {Map<string, Op> | null} the others, when there are more */
    this.more = null;
    /** @type {Set<Op> | null} completed operations whose stream loop has not ended yet */
    this.ending = null;
    this.closed = false;
    this.legacy = legacy;
    /** The connection has joined a shared trigger (its close must tell the hub). */
    this.shared = false;
    /** Kept for `ctx.extra` until it is built. @type {string | null} */
    this.url = url;
    /** @type {[string, string][] | null} */
    this.headers = headers && headers.length > 0 ? headers : null;
    this.ctx = new Context(this);
  }

  /** The operation under `id`, if any. @param {string} id @returns {Op | undefined} */
  getOp(id) {
    if (this.op !== null && this.op.id === id) return this.op;
    return this.more?.get(id);
  }

  /** Records `op` under its id (replacing the one there). @param {Op} op */
  setOp(op) {
    if (this.op !== null && this.op.id === op.id) this.op = op;
    else if (this.more?.has(op.id)) /** @type {Map<string, Op>} */ (this.more).set(op.id, op);
    else if (this.op === null) this.op = op;
    else (this.more ??= new Map()).set(op.id, op);
  }

  /** Forgets `op` if it is still the operation under its id; false if it was not. @param {Op} op */
  deleteOp(op) {
    if (this.op === op) {
      this.op = null;
      return true;
    }
    if (this.more?.get(op.id) !== op) return false;
    /** @type {Map<string, Op>} */ (this.more).delete(op.id);
    if (/** @type {Map<string, Op>} */ (this.more).size === 0) this.more = null;
    return true;
  }

  /** Every operation, the first one first. @returns {Op[]} */
  ops() {
    const all = this.op === null ? [] : [this.op];
    if (this.more !== null) for (const op of this.more.values()) all.push(op);
    return all;
  }
}

/** graphql-ws's `ctx.extra` for a connection: what the app asked for of the upgrade request. @param {Conn} c */
function buildExtra(c) {
  /** @type {Record<string, string>} */
  const headers = {};
  for (const [name, value] of c.headers ?? []) headers[name] = value;
  c.headers = null;
  return { request: { url: /** @type {string} */ (c.url), headers }, socket: undefined };
}

/**
 * `ctx.subscriptions`: reads go to the connection's operations (id → iterator, `null` while
 * starting); writes are refused, as graphql-ws types it `readonly`. No prototype, as
 * graphql-ws's own object has none.
 * @type {ProxyHandler<Conn>}
 */
const subscriptionsView = {
  get: (c, id) => (typeof id === 'string' ? c.getOp(id)?.iterator : undefined),
  has: (c, id) => typeof id === 'string' && c.getOp(id) !== undefined,
  ownKeys: (c) => c.ops().map((op) => op.id),
  getOwnPropertyDescriptor(c, id) {
    const op = typeof id === 'string' ? c.getOp(id) : undefined;
    return op && { value: op.iterator, writable: false, enumerable: true, configurable: true };
  },
  getPrototypeOf: () => null,
  set: () => false,
  defineProperty: () => false,
  deleteProperty: () => false,
};

/** @typedef {import('../index').Context} PublicContext */

/**
 * graphql-ws v6's `Context` of one connection. (`connectionParams` is set by
 * lib/messages.js at `connection_init`, only when the client sent some.)
 * @implements {PublicContext}
 */
class Context {
  /** @param {Conn} c */
  constructor(c) {
    this.connectionInitReceived = false;
    this.acknowledged = false;
    /** @type {Conn} */
    this[CONN] = c;
  }

  /**
   * The connection's operations: id → `null` while starting, then the async iterator.
   * @returns {PublicContext['subscriptions']}
   */
  get subscriptions() {
    return /** @type {any} */ (new Proxy(this[CONN], subscriptionsView));
  }

  /**
   * `{ request: { url, headers }, socket: undefined }`, built on first read.
   * @returns {import('../index').Extra}
   */
  get extra() {
    const extra = buildExtra(this[CONN]);
    this.extra = extra;
    return extra;
  }

  /** @param {import('../index').Extra} value */
  set extra(value) {
    Object.defineProperty(this, 'extra', { value, writable: true, enumerable: true, configurable: true });
  }
}

module.exports = { Conn, Context, JoinedOp };
