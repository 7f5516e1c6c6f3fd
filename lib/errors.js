'use strict';
/**
 * subwire's errors: every Error that reaches the app carries a `code` (`ERR_SUBWIRE_…`).
 * The one place that builds them; called by every other module, and by lib/transport.js
 * for what the native addon throws.
 * @module subwire/lib/errors
 */

/**
 * @typedef {Error & { code: string }} CodedError
 */

/**
 * An Error (or `Ctor`, e.g. TypeError) with `code`.
 * @param {string} code @param {string} message @param {ErrorConstructor | TypeErrorConstructor} [Ctor]
 * @returns {CodedError}
 */
function codedError(code, message, Ctor = Error) {
  const err = /** @type {CodedError} */ (new Ctor(message));
  err.code = code;
  return err;
}

/** A bad argument or option: a TypeError coded `ERR_SUBWIRE_INVALID_OPTION`. @param {string} message */
function invalidOption(message) {
  return codedError('ERR_SUBWIRE_INVALID_OPTION', message, TypeError);
}

/**
 * What the native addon threw, as the app should see it: its errors read
 * `ERR_SUBWIRE_…: message` and become an Error with that `code`; anything else is returned
 * as it is.
 * @param {unknown} e
 * @returns {unknown}
 */
function fromNative(e) {
  const m = e instanceof Error ? /^(ERR_SUBWIRE_[A-Z_]+): ([\s\S]*)$/.exec(e.message) : null;
  return m ? codedError(m[1], m[2]) : e;
}

module.exports = { codedError, invalidOption, fromNative };
