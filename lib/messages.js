'use strict';
/**
 * A connection's messages in JS, other than its operations (lib/operation.js runs those):
 * `connection_init` and, for the graphql-ws options that work on whole graphql-transport-ws
 * messages, their reading and writing (shared triggers write through `Sender` too). Without
 * these options only `init` runs here: Rust parses, answers pings and frames alone.
 *
 * - `jsonMessageReviver` ({@link Reader}): Rust hands each client text over unread; it is
 *   parsed here with the reviver and checked with graphql-ws's rules (graphql-ws 6.4
 *   `validateMessage`; anything else closes with 4400 `Invalid message received`, as
 *   graphql-ws does). What the app's hooks need of it (init, subscribe, ping and pong
 *   payloads) is kept under a token, and Rust gets the message's envelope
 *   (`{"type","id"?,"payload"?:token}`): the one state machine in Rust still decides phases,
 *   ids and close codes, and its events carry the token back.
 * - `jsonMessageReplacer` ({@link Sender}): every message graphql-ws stringifies with the
 *   replacer (`connection_ack`, `next`, `error`, `complete`, `pong`) is written here whole,
 *   `JSON.stringify({ id, type, payload }, replacer)` with graphql-ws's key order, and sent
 *   by Rust as it is (still only while its id is active).
 * - `onPing`: the pong is written here too, after the hook.
 *
 * The legacy protocol (subscriptions-transport-ws) is subwire's own addition: there the
 * reviver and replacer apply to payloads only, as before (its messages have other types).
 * @module subwire/lib/messages
 */

const { Conn } = require('./connection.js');
const { isRecord } = require('./util.js');

/** Client message types and whether graphql-ws requires a non-empty string `id`. @type {Record<string, boolean>} */
const NEEDS_ID = { connection_init: false, connection_ack: false, ping: false, pong: false, subscribe: true, next: true, error: true, complete: true };

/** @param {unknown} v */
const nullish = (v) => v === null || v === undefined;

/**
 * graphql-ws 6.4's `validateMessage`: true when `msg` is a message graphql-ws's server
 * would handle (its words are not needed: the close reason is always the same).
 * @param {any} msg
 */
function isValidMessage(msg) {
  if (!isRecord(msg) || !msg.type || typeof msg.type !== 'string') return false;
  if (!Object.prototype.hasOwnProperty.call(NEEDS_ID, msg.type)) return false;
  if (NEEDS_ID[msg.type] && (typeof msg.id !== 'string' || !msg.id)) return false;
  switch (msg.type) {
    case 'connection_init':
    case 'connection_ack':
    case 'ping':
    case 'pong':
      return nullish(msg.payload) || isRecord(msg.payload);
    case 'subscribe': {
      const p = msg.payload;
      return (
        isRecord(p) &&
        typeof p.query === 'string' &&
        (nullish(p.variables) || isRecord(p.variables)) &&
        (nullish(p.operationName) || typeof p.operationName === 'string') &&
        (nullish(p.extensions) || isRecord(p.extensions))
      );
    }
    case 'next':
      return isRecord(msg.payload);
    case 'error':
      return Array.isArray(msg.payload) && msg.payload.length > 0 && msg.payload.every((e) => isRecord(e) && 'message' in e);
    default:
      return true; // complete
  }
}

/** Client messages read in JS, with what they carried kept per connection under tokens. */
class Reader {
  /** @param {(key: string, value: any) => any} reviver @param {boolean} pongs the app hears pongs (onPong) */
  constructor(reviver, pongs) {
    this.reviver = reviver;
    this.pongs = pongs;
    /** Per connection: the last token, the values kept, whether a message was refused. @type {Map<number, { last: number, kept: Map<number, unknown>, bad: boolean }>} */
    this.conns = new Map();
  }

  /**
   * Parses one client text as graphql-ws does; returns the envelope for Rust, or null
   * when graphql-ws would close with 4400.
   * @param {number} conn @param {string} text @returns {string | null}
   */
  read(conn, text) {
    let msg;
    try {
      msg = JSON.parse(text, this.reviver);
    } catch {
      msg = undefined;
    }
    if (!isValidMessage(msg)) {
      this.state(conn).bad = true;
      return null;
    }
    /** @type {{ type: string, id?: string, payload?: number }} */
    const envelope = { type: msg.type };
    if (NEEDS_ID[msg.type]) envelope.id = msg.id;
    const keep =
      (msg.type === 'connection_init' && isRecord(msg.payload)) ||
      msg.type === 'subscribe' ||
      (msg.type === 'ping' && msg.payload !== undefined) ||
      (msg.type === 'pong' && this.pongs && msg.payload !== undefined);
    if (keep) envelope.payload = this.keep(conn, msg.payload);
    return JSON.stringify(envelope);
  }

  /** @param {number} conn */
  state(conn) {
    let c = this.conns.get(conn);
    if (!c) this.conns.set(conn, (c = { last: 0, kept: new Map(), bad: false }));
    return c;
  }

  /** Whether a message of the connection was refused (it is closing: read no more). @param {number} conn */
  refused(conn) {
    return this.conns.get(conn)?.bad === true;
  }

  /** @param {number} conn @param {unknown} value @returns {number} its token */
  keep(conn, value) {
    const c = this.state(conn);
    c.last += 1;
    c.kept.set(c.last, value);
    return c.last;
  }

  /**
   * The value kept under the token Rust sent back (an event's payload), now forgotten.
   * @param {number} conn @param {string} token
   */
  take(conn, token) {
    const kept = this.conns.get(conn)?.kept;
    const n = Number(token);
    const value = kept?.get(n);
    kept?.delete(n);
    return value;
  }

  /** The connection closed: everything it kept goes. @param {number} conn */
  forget(conn) {
    this.conns.delete(conn);
  }
}

/**
 * Sends a connection's answers: for graphql-transport-ws with a replacer, whole messages
 * written here; otherwise payloads that Rust frames (stringified with the replacer, which
 * then sees payloads only: the legacy protocol).
 */
class Sender {
  /** @param {import('./server.js').SessionApi} srv @param {((key: string, value: any) => any) | undefined} replacer */
  constructor(srv, replacer) {
    this.srv = srv;
    this.replacer = replacer;
    this.whole = typeof replacer === 'function';
  }

  /** @param {unknown} v */
  stringify(v) {
    return JSON.stringify(v, this.replacer);
  }

  /** `connection_ack`, with `payload` when it is an object. @param {{ conn: number, legacy: boolean }} c @param {unknown} payload */
  ack(c, payload) {
    const p = isRecord(payload) ? payload : undefined;
    if (this.whole && !c.legacy) {
      this.srv.acceptMessage(c.conn, this.stringify(p ? { type: 'connection_ack', payload: p } : { type: 'connection_ack' }));
    } else {
      this.srv.accept(c.conn, p === undefined ? undefined : this.stringify(p));
    }
  }

  /** @param {{ conn: number, legacy: boolean }} c @param {string} id @param {number} serial @param {unknown} payload */
  next(c, id, serial, payload) {
    if (this.whole && !c.legacy) this.srv.nextMessage(c.conn, id, this.stringify({ id, type: 'next', payload }), serial);
    else this.srv.next(c.conn, id, this.stringify(payload), serial);
  }

  /** @param {{ conn: number, legacy: boolean }} c @param {string} id @param {number} serial @param {unknown} errors */
  error(c, id, serial, errors) {
    if (this.whole && !c.legacy) this.srv.errorMessage(c.conn, id, this.stringify({ id, type: 'error', payload: errors }), serial);
    else this.srv.error(c.conn, id, this.stringify(errors), serial);
  }

  /** @param {{ conn: number, legacy: boolean }} c @param {string} id @param {number} serial */
  complete(c, id, serial) {
    if (this.whole && !c.legacy) this.srv.completeMessage(c.conn, id, this.stringify({ id, type: 'complete' }), serial);
    else this.srv.complete(c.conn, id, serial);
  }

  /** The `pong` for a ping with `payload` (graphql-ws echoes a truthy one). @param {{ conn: number }} c @param {unknown} payload */
  pong(c, payload) {
    this.srv.pong(c.conn, this.stringify(payload ? { type: 'pong', payload } : { type: 'pong' }));
  }
}

/**
 * What the core (lib/server.js) does with a connection's events other than its
 * operations': the record made by its first event, `init` (onConnect, then the ack or
 * 4403), and the events the options above turn on (`message`, `ping`, `pong`, `refused`).
 * Per connection, in order.
 */
class MessageEvents {
  /**
   * @param {{ conns: Map<number, Conn>, srv: import('./server.js').SessionApi,
   *   reviver?: (key: string, value: any) => any, replacer?: (key: string, value: any) => any,
   *   onConnect?: import('../index').ServerOptions['onConnect'],
   *   onPing?: import('../index').ServerOptions['onPing'], onPong?: import('../index').ServerOptions['onPong'],
   *   internalError: (c: Conn, err: unknown) => void }} deps
   */
  constructor(deps) {
    this.deps = deps;
    /** With a reviver, graphql-transport-ws messages are read here whole. */
    this.reader = typeof deps.reviver === 'function' ? new Reader(deps.reviver, Boolean(deps.onPong)) : null;
    this.send = new Sender(deps.srv, deps.replacer);
  }

  /**
   * The connection's record (lib/connection.js), made by its first event.
   * @param {{ conn: number, url?: string, headers?: [string, string][], protocol?: string }} ev
   */
  conn(ev) {
    const { conns } = this.deps;
    let c = conns.get(ev.conn);
    if (!c) conns.set(ev.conn, (c = new Conn(ev.conn, ev.protocol === 'graphql-ws', ev.url ?? '', ev.headers)));
    return c;
  }

  /**
   * An event's payload as the app sees it: what the reader kept under the token, or the
   * JSON parsed (legacy payloads: with the reviver on their own).
   * @param {{ conn: number, legacy: boolean }} c @param {string} raw
   */
  payloadOf(c, raw) {
    return this.reader && !c.legacy ? this.reader.take(c.conn, raw) : JSON.parse(raw, this.deps.reviver);
  }

  /** `connection_init`: connectionParams, onConnect, then the ack or 4403. @param {{ conn: number, payload?: string | null }} ev */
  async init(ev) {
    const { onConnect, srv, internalError } = this.deps;
    const c = this.conn(ev);
    const { ctx } = c;
    try {
      ctx.connectionInitReceived = true;
      if (ev.payload !== undefined && ev.payload !== null) {
        const params = this.payloadOf(c, ev.payload);
        if (typeof params === 'object' && params !== null) /** @type {{ connectionParams?: object }} */ (ctx).connectionParams = params;
      }
      const permittedOrPayload = await onConnect?.(ctx);
      if (c.closed) return;
      if (permittedOrPayload === false) {
        srv.reject(c.conn, 'Forbidden');
        return;
      }
      ctx.acknowledged = true;
      this.send.ack(c, permittedOrPayload);
    } catch (err) {
      internalError(c, err);
    }
  }

  /** A client text to read (with a reviver): its envelope goes to Rust, or 4400. @param {{ conn: number, payload: string }} ev */
  text(ev) {
    const { conns, srv } = this.deps;
    const c = conns.get(ev.conn);
    const r = /** @type {Reader} */ (this.reader);
    // After a refused message the connection is closing: its later ones are not read.
    if (!c || c.closed || r.refused(c.conn)) return;
    const envelope = r.read(c.conn, ev.payload);
    // As graphql-ws: what does not parse or check closes with 4400.
    if (envelope === null) srv.closeConnection(c.conn, 4400, 'Invalid message received');
    else srv.clientMessage(c.conn, envelope);
  }

  /** `ping`: onPing, then the pong. @param {{ conn: number, payload?: string | null }} ev */
  async ping(ev) {
    const { conns, onPing, internalError } = this.deps;
    const c = conns.get(ev.conn);
    if (!c || c.closed) return;
    try {
      const payload = ev.payload == null ? undefined : this.payloadOf(c, ev.payload);
      await onPing?.(c.ctx, payload);
      if (!c.closed) this.send.pong(c, payload);
    } catch (err) {
      internalError(c, err);
    }
  }

  /** `pong`: onPong. @param {{ conn: number, payload?: string | null }} ev */
  async pong(ev) {
    const { conns, onPong, internalError } = this.deps;
    const c = conns.get(ev.conn);
    if (!c || c.closed) return;
    try {
      await onPong?.(c.ctx, ev.payload == null ? undefined : this.payloadOf(c, ev.payload));
    } catch (err) {
      internalError(c, err);
    }
  }

  /** A subscribe refused as one operation too many: what was kept for it goes. @param {{ conn: number, payload: string }} ev */
  refused(ev) {
    this.reader?.take(ev.conn, ev.payload);
  }

  /** The connection closed: what was kept for it goes. @param {number} conn */
  forget(conn) {
    this.reader?.forget(conn);
  }
}

module.exports = { Reader, Sender, MessageEvents, isValidMessage };
