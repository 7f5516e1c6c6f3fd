'use strict';
/**
 * subwire: GraphQL subscriptions over WebSocket for Node.js, with sockets, frames and
 * fan-out in Rust. This file is the public JS API; the native addon lives in native/
 * (built from src/ by `npm install`).
 *
 * Stage of this build: the transport core. `listen()` starts a Rust-owned WebSocket
 * listener (echo or broadcast) with every limit of the final server; the graphql-ws
 * compatible `useServer()` builds on it.
 * @module subwire
 */

const path = require('node:path');
const fs = require('node:fs');

/** @returns {string} the napi-rs platform suffix, e.g. `linux-x64-gnu` */
function platformTriple() {
  const { platform, arch } = process;
  if (platform !== 'linux') return `${platform}-${arch}`;
  const report = typeof process.report?.getReport === 'function' ? process.report.getReport() : null;
  const glibc = report?.header?.glibcVersionRuntime;
  return `linux-${arch}-${glibc ? 'gnu' : 'musl'}`;
}

function loadNative() {
  const file = path.join(__dirname, 'native', `subwire.${platformTriple()}.node`);
  if (!fs.existsSync(file)) {
    const err = new Error(
      `subwire's native addon is not built (${path.relative(process.cwd(), file) || file} is missing). ` +
        'Run `npm install` (or `npm run build`) in the subwire package; building needs Rust (cargo) on the PATH: https://rustup.rs',
    );
    err.code = 'ERR_SUBWIRE_NOT_BUILT';
    throw err;
  }
  return require(file);
}

const native = loadNative();

/**
 * Turns a native error (`ERR_SUBWIRE_…: message`) into an Error with `code`.
 * @param {unknown} e
 * @returns {unknown}
 */
function fromNative(e) {
  const m = e instanceof Error ? /^(ERR_SUBWIRE_[A-Z_]+): ([\s\S]*)$/.exec(e.message) : null;
  if (!m) return e;
  const err = new Error(m[2]);
  err.code = m[1];
  return err;
}

function invalidOption(message) {
  const err = new TypeError(message);
  err.code = 'ERR_SUBWIRE_INVALID_OPTION';
  return err;
}

/** @param {Record<string, unknown>} o @param {string} name @param {number} min @param {number} max */
function checkInt(o, name, min, max) {
  const v = o[name];
  if (v === undefined) return;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
    throw invalidOption(`option ${name} must be an integer from ${min} to ${max}, got ${String(v)}`);
  }
}

/** @param {Record<string, unknown>} o @param {string} name */
function checkStringList(o, name) {
  const v = o[name];
  if (v === undefined) return;
  if (!Array.isArray(v) || v.some((s) => typeof s !== 'string')) {
    throw invalidOption(`option ${name} must be an array of strings`);
  }
}

const U32 = 0xffff_ffff;

/**
 * Validates listen options and maps them to the native shape.
 * @param {import('./index').ListenOptions} options
 */
function nativeOptions(options) {
  if (options === null || typeof options !== 'object') throw invalidOption('options must be an object');
  const o = /** @type {Record<string, unknown>} */ (options);
  checkInt(o, 'port', 0, 65535);
  checkInt(o, 'reactors', 1, 64);
  checkInt(o, 'maxConnections', 1, U32);
  checkInt(o, 'maxPayload', 1, U32);
  checkInt(o, 'maxHeaderBytes', 256, U32);
  checkInt(o, 'maxBufferedBytes', 1, U32);
  checkInt(o, 'handshakeTimeout', 1, U32);
  checkInt(o, 'closeTimeout', 1, U32);
  checkStringList(o, 'allowedOrigins');
  checkStringList(o, 'headers');
  for (const k of ['host', 'path', 'mode', 'listener']) {
    if (o[k] !== undefined && typeof o[k] !== 'string') throw invalidOption(`option ${k} must be a string`);
  }
  if (o.onError !== undefined && typeof o.onError !== 'function') throw invalidOption('option onError must be a function');
  return {
    port: o.port,
    host: o.host,
    path: o.path,
    mode: o.mode,
    listener: o.listener,
    reactors: o.reactors,
    maxConnections: o.maxConnections,
    maxPayload: o.maxPayload,
    maxHeaderBytes: o.maxHeaderBytes,
    maxBufferedBytes: o.maxBufferedBytes,
    allowedOrigins: o.allowedOrigins,
    headers: o.headers,
    handshakeTimeout: o.handshakeTimeout,
    closeTimeout: o.closeTimeout,
    testPanicOn: typeof o._testPanicOn === 'string' ? o._testPanicOn : undefined,
  };
}

/**
 * Servers that listen, held so that an app which drops its reference does not lose the
 * server to garbage collection (a listening `net.Server` keeps running too).
 * @type {Set<TransportServer>}
 */
const listening = new Set();

/** A running Rust-owned WebSocket listener. */
class TransportServer {
  /** @param {any} inner the native server */
  constructor(inner) {
    this._inner = inner;
    /** @type {Promise<void> | null} */
    this._disposed = null;
    listening.add(this);
  }

  /** @returns {{ address: string, port: number, family: string }} */
  address() {
    try {
      return this._inner.address();
    } catch (e) {
      throw fromNative(e);
    }
  }

  /** @returns {import('./index').TransportStats} */
  stats() {
    try {
      return this._inner.stats();
    } catch (e) {
      throw fromNative(e);
    }
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

  /**
   * Closes every connection (close code 1001), ends the reactor threads and releases the
   * event loop. Resolves when all of that is done; calling it again returns the same promise.
   * @returns {Promise<void>}
   */
  dispose() {
    if (!this._disposed) {
      this._disposed = this._inner.dispose();
      listening.delete(this);
    }
    return this._disposed;
  }
}

/**
 * Starts a WebSocket listener owned by Rust. Synchronous: a bind failure throws an Error
 * with a `code` (`ERR_SUBWIRE_ADDR_IN_USE`, …).
 * @param {import('./index').ListenOptions} [options]
 * @returns {TransportServer}
 */
function listen(options = {}) {
  const opts = nativeOptions(options);
  const onError =
    typeof options.onError === 'function'
      ? options.onError
      : (/** @type {Error} */ err) => process.emitWarning(err.message, { code: /** @type {any} */ (err).code });
  const report = (/** @type {string} */ code, /** @type {string} */ message) => {
    const err = new Error(message);
    /** @type {any} */ (err).code = code;
    onError(err);
  };
  try {
    return new TransportServer(native.NativeServer.listen(opts, report));
  } catch (e) {
    throw fromNative(e);
  }
}

module.exports = { listen, TransportServer };
