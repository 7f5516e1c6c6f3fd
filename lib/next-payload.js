'use strict';
/**
 * The payload of a `next` message for an execution result, as graphql-ws v6 builds it:
 * `{ ...resultWithoutErrors, errors: errors.map((e) => e.toJSON()) }`, so `data` (and
 * `extensions`) come before `errors`, where `JSON.stringify(result)` of a graphql-js
 * result puts `errors` first. Every path that serializes a result for `next` uses it:
 * per subscriber (lib/operation.js), shared triggers and projected fallbacks
 * (lib/shared-triggers.js, lib/projected-triggers.js); the legacy protocol's `data`
 * carries the same payload.
 * A result that `onNext` replaced is sent as the app returned it, as graphql-ws does.
 * @module subwire/lib/next-payload
 */

/** @param {unknown} result an ExecutionResult @returns {unknown} what graphql-ws sends as its `next` payload */
function nextPayload(result) {
  if (result === null || typeof result !== 'object') return result;
  // Without errors a plain result is its own payload: the copy would have the same keys in
  // the same order, so the same JSON (an undefined `errors` is left out by JSON.stringify).
  if (/** @type {{ errors?: unknown }} */ (result).errors === undefined && Object.getPrototypeOf(result) === Object.prototype) return result;
  const { errors, ...rest } = /** @type {{ errors?: unknown }} */ (result);
  if (!errors) return rest;
  return { ...rest, errors: Array.isArray(errors) ? errors.map(errorJson) : errors };
}

/** @param {any} e a GraphQLError (anything else as it is) */
function errorJson(e) {
  return typeof e?.toJSON === 'function' ? e.toJSON() : e;
}

module.exports = { nextPayload };
