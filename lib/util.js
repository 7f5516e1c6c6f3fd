'use strict';
/**
 * Small helpers of useServer's core (lib/server.js, lib/operation.js, lib/messages.js,
 * lib/attach.js): type checks and graphql-ws's close-reason limit.
 * @module subwire/lib/util
 */

/** The close reason of a 4500 in production, and of a reason too long to send. */
const INTERNAL = 'Internal server error';

/** Any object but null (arrays too). @param {unknown} v @returns {v is Record<string, unknown>} */
function isObject(v) {
  return typeof v === 'object' && v !== null;
}

/** graphql-ws's `isObject`: an object that is not an array. @param {unknown} v @returns {v is Record<string, any>} */
function isRecord(v) {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** @param {unknown} v @returns {v is AsyncIterable<unknown>} */
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

module.exports = { isObject, isRecord, isAsyncIterable, isAsyncGenerator, limitCloseReason, INTERNAL };
