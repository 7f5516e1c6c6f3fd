'use strict';
/**
 * Small helpers of lib/use-server.js: coded errors,
 * type checks, graphql-ws's close-reason limit and millisecond options.
 * @module subwire/lib/util
 */

const INTERNAL = 'Internal server error';

/** @param {string} code @param {string} message @param {Function} [Ctor] */
function codedError(code, message, Ctor = Error) {
  const err = new /** @type {any} */ (Ctor)(message);
  err.code = code;
  return err;
}

/** @param {unknown} v @returns {v is Record<string, unknown>} */
function isObject(v) {
  return typeof v === 'object' && v !== null;
}

/** @param {unknown} v */
function isAsyncIterable(v) {
  return typeof Object(v)[Symbol.asyncIterator] === 'function';
}

/** @param {unknown} v @returns {v is AsyncGenerator} */
function isAsyncGenerator(v) {
  return isObject(v) && typeof Object(v)[Symbol.asyncIterator] === 'function' && typeof v.return === 'function';
}

/** graphql-ws's limitCloseReason: a reason over the 123-byte limit is replaced. @param {string} reason */
function limitCloseReason(reason, whenTooLong = INTERNAL) {
  return Buffer.byteLength(reason) > 123 ? whenTooLong : reason;
}

/** milliseconds where 0, negative, Infinity or NaN mean "off" (as graphql-ws). @param {string} name @param {unknown} v @param {number} dflt */
function msOption(name, v, dflt) {
  if (v === undefined) return dflt;
  if (typeof v !== 'number') {
    throw codedError('ERR_SUBWIRE_INVALID_OPTION', `${name} must be a number of milliseconds (0 or Infinity: off), got ${String(v)}`, TypeError);
  }
  return v > 0 && Number.isFinite(v) ? Math.min(Math.round(v), 0xffff_ffff) : 0;
}

/**
 * napi-rs's platform suffix of the native addon's file name, e.g. `linux-x64-gnu` (index.js
 * loads `native/subwire.<this>.node`; scripts/install.js checks for it before building).
 * @returns {string}
 */
function platformTriple() {
  const { platform, arch } = process;
  if (platform !== 'linux') return `${platform}-${arch}`;
  const report = typeof process.report?.getReport === 'function' ? process.report.getReport() : null;
  const glibc = /** @type {any} */ (report)?.header?.glibcVersionRuntime;
  return `linux-${arch}-${glibc ? 'gnu' : 'musl'}`;
}

module.exports = { platformTriple, codedError, isObject, isAsyncIterable, isAsyncGenerator, limitCloseReason, msOption, INTERNAL };
