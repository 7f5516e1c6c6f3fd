'use strict';
/**
 * The JS → Rust outbox of a TransportServer's session answers (lib/transport.js).
 *
 * Every answer (accept, reject, next, error, complete, internal error, close, and their
 * whole-message forms, pongs and parsed client messages) is queued
 * here in call order and the queue crosses into Rust in ONE native call per 1,024 answers
 * (`NativeServer.batch`), which hands each reactor its share as one command with one
 * wake-up. The flush runs on `process.nextTick`: scheduled from inside a cascade of promise
 * jobs (what a publish to 10k iterators sets off), it runs once that cascade has drained,
 * so one publish's answers go out together without waiting for another event-loop turn.
 * `hold()` suspends the early flush at 1,024 answers until the next flush: batched
 * executions (lib/executed-triggers.js) put one event's answers, however many, in one call.
 * Strings move into Rust as they are; nothing is copied again on the way to the socket.
 * @module subwire/lib/outbox
 */

const { invalidOption } = require('./errors.js');

/**
 * A queue this long crosses at once instead of waiting for the turn to end: a publish to
 * 100k iterators is one long cascade of promise jobs, and holding every answer until it
 * drains would delay the first delivery until the last execution and hold them all.
 */
const FLUSH_AT = 1024;

/**
 * Op kinds, as NativeServer.batch reads them. `…Message` ops carry the whole message as the
 * app wrote it (graphql-ws's jsonMessageReplacer); `clientMessage` the envelope of a client
 * message JS parsed (jsonMessageReviver).
 */
const KIND = {
  accept: 0,
  acceptWith: 1,
  reject: 2,
  next: 3,
  error: 4,
  complete: 5,
  internalError: 6,
  close: 7,
  acceptMessage: 8,
  nextMessage: 9,
  errorMessage: 10,
  completeMessage: 11,
  pong: 12,
  clientMessage: 13,
};

/**
 * An operation serial (from a `subscribe` event; 0: whichever operation holds the id), or
 * throws. @param {unknown} serial @returns {number}
 */
function checkSerial(serial) {
  if (Number.isInteger(serial) && /** @type {number} */ (serial) >= 0 && /** @type {number} */ (serial) <= 0xffffffff) {
    return /** @type {number} */ (serial);
  }
  throw invalidOption(`${String(serial)} is not an operation serial (an integer from a subscribe event, or 0)`);
}

class Outbox {
  /** @param {(kinds: Uint8Array, conns: Float64Array, serials: Uint32Array, a: string[], b: string[]) => boolean} send */
  constructor(send) {
    this.send = send;
    /** @type {number[]} */
    this.kinds = [];
    /** @type {number[]} */
    this.conns = [];
    /** @type {number[]} */
    this.serials = [];
    /** @type {string[]} */
    this.a = [];
    /** @type {string[]} */
    this.b = [];
    this.scheduled = false;
    /** No early flush until the next flush (`hold`). */
    this.held = false;
    this.tick = () => {
      this.scheduled = false;
      this.flush();
    };
  }

  /** @param {number} kind @param {number} conn @param {string} a @param {string} b @param {number} [serial] */
  push(kind, conn, a, b, serial = 0) {
    if (!Number.isSafeInteger(conn) || conn < 0) {
      throw invalidOption(`${String(conn)} is not a connection id`);
    }
    this.serials.push(serial === 0 ? 0 : checkSerial(serial));
    this.kinds.push(kind);
    this.conns.push(conn);
    this.a.push(a);
    this.b.push(b);
    if (this.kinds.length >= FLUSH_AT && !this.held) {
      this.flush();
    } else if (!this.scheduled) {
      this.scheduled = true;
      process.nextTick(this.tick);
    }
  }

  /**
   * Answers queued from now until the next flush (the end of this JS turn, or `flushIfFull`)
   * cross together, however many: no early flush at FLUSH_AT.
   */
  hold() {
    if (this.held) return;
    this.held = true;
    if (!this.scheduled) {
      this.scheduled = true;
      process.nextTick(this.tick);
    }
  }

  /** Sends what is queued now if that is FLUSH_AT answers or more (else it waits for the turn's end). */
  flushIfFull() {
    if (this.kinds.length >= FLUSH_AT) this.flush();
  }

  /** Sends everything queued (also called by dispose(), so nothing queued is lost). */
  flush() {
    this.held = false;
    if (this.kinds.length === 0) return;
    const kinds = Uint8Array.from(this.kinds);
    const conns = Float64Array.from(this.conns);
    const serials = Uint32Array.from(this.serials);
    const { a, b } = this;
    this.kinds = [];
    this.conns = [];
    this.serials = [];
    this.a = [];
    this.b = [];
    this.send(kinds, conns, serials, a, b);
  }
}

module.exports = { Outbox, KIND, checkSerial };
