'use strict';
/**
 * Checking options: the few rules every public entry point uses (integers in a range,
 * string lists, typed optionals, graphql-ws's millisecond options), and the whole check
 * of `listen()`'s options, mapped to the native addon's shape. A bad option throws a
 * TypeError coded `ERR_SUBWIRE_INVALID_OPTION` before anything binds or starts.
 * Called by lib/transport.js (`listen`) and lib/use-server.js.
 * @module subwire/lib/options
 */

const { invalidOption } = require('./errors.js');

const U32 = 0xffff_ffff;

/** `o[name]`, when set, is an integer from `min` to `max`. @param {Record<string, unknown>} o @param {string} name @param {number} min @param {number} max */
function checkInt(o, name, min, max) {
  const v = o[name];
  if (v === undefined) return;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
    throw invalidOption(`option ${name} must be an integer from ${min} to ${max}, got ${String(v)}`);
  }
}

/** `o[name]`, when set, is an array of strings. @param {Record<string, unknown>} o @param {string} name */
function checkStringList(o, name) {
  const v = o[name];
  if (v === undefined) return;
  if (!Array.isArray(v) || v.some((s) => typeof s !== 'string')) {
    throw invalidOption(`option ${name} must be an array of strings`);
  }
}

/**
 * `o[name]`, when set, is of `type`.
 * @param {Record<string, unknown>} o @param {string} name @param {'string' | 'boolean' | 'function'} type
 */
function checkType(o, name, type) {
  if (o[name] !== undefined && typeof o[name] !== type) throw invalidOption(`option ${name} must be a ${type}`);
}

/**
 * Milliseconds where 0, negative, Infinity or NaN mean "off" (as graphql-ws): the value to
 * pass on (0: off), `dflt` when unset.
 * @param {string} name @param {unknown} v @param {number} dflt @returns {number}
 */
function msOption(name, v, dflt) {
  if (v === undefined) return dflt;
  if (typeof v !== 'number') {
    throw invalidOption(`${name} must be a number of milliseconds (0 or Infinity: off), got ${String(v)}`);
  }
  return v > 0 && Number.isFinite(v) ? Math.min(Math.round(v), U32) : 0;
}

/**
 * `listen()`'s options (with `_testPanicOn`, the fault injection of subwire's own tests,
 * which the public type leaves out).
 * @typedef {import('../index').ListenOptions & { _testPanicOn?: string }} ListenOptions
 */

/**
 * Validates `listen()`'s options and maps them to the native shape.
 * @param {ListenOptions} options
 * @returns {import('../native/native').ListenOptions}
 */
function listenOptions(options) {
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
  checkInt(o, 'connectionInitWaitTimeout', 0, U32);
  checkInt(o, 'keepAlive', 0, U32);
  checkInt(o, 'maxSubscriptionsPerConnection', 1, U32);
  checkStringList(o, 'allowedOrigins');
  checkStringList(o, 'headers');
  for (const k of ['host', 'path', 'mode', 'listener']) checkType(o, k, 'string');
  checkType(o, 'reusePort', 'boolean');
  checkType(o, 'onError', 'function');
  checkType(o, 'onEvents', 'function');
  for (const k of ['rawMessages', 'forwardPings', 'forwardPongs']) checkType(o, k, 'boolean');
  if (o.mode === 'graphql' && typeof o.onEvents !== 'function') {
    throw invalidOption("mode 'graphql' needs an onEvents(events) function to receive connection events");
  }
  return {
    port: options.port,
    host: options.host,
    path: options.path,
    mode: options.mode,
    listener: options.listener,
    reusePort: options.reusePort,
    reactors: options.reactors,
    maxConnections: options.maxConnections,
    maxPayload: options.maxPayload,
    maxHeaderBytes: options.maxHeaderBytes,
    maxBufferedBytes: options.maxBufferedBytes,
    allowedOrigins: options.allowedOrigins,
    headers: options.headers,
    handshakeTimeout: options.handshakeTimeout,
    closeTimeout: options.closeTimeout,
    testPanicOn: typeof options._testPanicOn === 'string' ? options._testPanicOn : undefined,
    connectionInitWaitTimeout: options.connectionInitWaitTimeout,
    keepAlive: options.keepAlive,
    maxSubscriptionsPerConnection: options.maxSubscriptionsPerConnection,
    rawMessages: options.rawMessages,
    forwardPings: options.forwardPings,
    forwardPongs: options.forwardPongs,
  };
}

module.exports = { checkInt, checkStringList, checkType, msOption, listenOptions };
