'use strict';
/**
 * Proving, per published event, that a projection is exact: the checker of a projection
 * plan (lib/projection.js compiles one per plan and caches it with it).
 *
 * Rust projects `JSON.stringify(payload)`; graphql-js reads the payload itself. The two
 * agree only where JSON.stringify writes what graphql-js's default resolver and built-in
 * serializers read, so before an event is projected, the checker walks the payload along
 * exactly the plan's paths and proves, for every value read there:
 * - objects are plain (prototype `Object.prototype` or null, not a Proxy) with no `toJSON`
 *   function, and each field read is an own, enumerable data property, or absent with
 *   nothing inherited under that name (`constructor`, `toString`… are inherited methods,
 *   which graphql-js would call);
 * - lists are plain arrays (not a Proxy, `Array.prototype`'s iterator, no `toJSON`);
 * - leaves are primitives of the kind the plan expects: a finite number for Int/Float, a
 *   string for String/enum, a boolean for Boolean, a string or finite number for ID
 *   (Rust still refuses what graphql-js would coerce or reject: 1.5 for an Int…).
 * Anything else (Date, BigInt, symbol, NaN, a class instance, a getter, a function…) means
 * graphql-js executes the event instead. Values the plan never reads may be anything,
 * as long as JSON.stringify does not throw on them (the caller catches that).
 *
 * The answer also says whether graphql-js's result can depend on the subscriber:
 * default resolvers only pass `(args, context, info)` to functions they find in the
 * payload, so an event whose read paths are plain data is one execution for every
 * subscriber, whatever their context ({@link ONCE}); one where a function may be called
 * (a method, a getter that may return one, a class instance or Proxy the checker does not
 * open) is executed per distinct context ({@link EACH}).
 *
 * Called by lib/shared-triggers.js once per publish and projected trigger, not per
 * subscriber; for plain JSON it costs a property descriptor per field read.
 * @module subwire/lib/projection-check
 */

const { isProxy } = require('node:util').types;

/** The event may be projected from `JSON.stringify(payload)`. */
const PROJECT = 0;
/** graphql-js must execute it; no app code can see the subscriber's context: once for all. */
const ONCE = 1;
/** graphql-js must execute it, and app code may be called with each subscriber's context. */
const EACH = 2;

const OBJECT_PROTO = Object.prototype;
const ARRAY_PROTO = Array.prototype;
const ARRAY_VALUES = Array.prototype[Symbol.iterator];
const getProto = Object.getPrototypeOf;
const describe = Object.getOwnPropertyDescriptor;

/** @typedef {(value: unknown) => number} Check a value read at one place of the plan → PROJECT, ONCE or EACH */

/**
 * The checker of a plan (lib/projection.js's form, before it is JSON text).
 * @param {{ name: string, node: any }} plan @returns {(payload: unknown) => number}
 */
function compileCheck(plan) {
  const field = checkFor(plan.node);
  const { name } = plan;
  return (payload) => {
    // a primitive payload or null: graphql-js reads undefined, JSON.stringify writes no object
    if (typeof payload === 'function') return EACH;
    if (typeof payload !== 'object' || payload === null) return ONCE;
    if (isProxy(payload)) return EACH;
    const proto = getProto(payload);
    if (proto !== OBJECT_PROTO && proto !== null) return EACH;
    const own = typeof (/** @type {any} */ (payload).toJSON) === 'function' ? ONCE : PROJECT;
    return Math.max(own, read(payload, name, field));
  };
}

/**
 * The field `name` of plain object `o`, read the way graphql-js's default resolver reads it.
 * @param {object} o @param {string} name @param {Check} check
 */
function read(o, name, check) {
  const d = describe(o, name);
  // absent: graphql-js reads undefined unless something is inherited (a method: EACH)
  if (d === undefined) return name in o ? EACH : check(undefined);
  // a getter: its value (maybe a function graphql-js would call) is not ours to read
  if (!('value' in d)) return EACH;
  const state = check(d.value);
  // not enumerable: JSON.stringify leaves it out
  return d.enumerable || state === EACH ? state : Math.max(state, ONCE);
}

/** @param {any} node a plan node @returns {Check} */
function checkFor(node) {
  const { nn } = node;
  const none = nn ? ONCE : PROJECT;
  switch (node.k) {
    case 'int':
    case 'float':
      return leaf(none, (v) => Number.isFinite(v));
    case 'string':
      return leaf(none, (v) => typeof v === 'string');
    case 'enum': {
      const values = new Set(node.values);
      return leaf(none, (v) => typeof v === 'string' && values.has(v));
    }
    case 'bool':
      return leaf(none, (v) => typeof v === 'boolean');
    case 'id':
      return leaf(none, (v) => typeof v === 'string' || Number.isFinite(v));
    case 'list':
      return list(none, checkFor(node.of));
    case 'obj':
      return object(none, node.fields);
    default:
      throw new Error(`projection plan node ${node.k} has no checker`);
  }
}

/** @param {number} none the state for null/undefined @param {(v: unknown) => boolean} ok @returns {Check} */
function leaf(none, ok) {
  // a function was called by the default resolver (with the context) before it got here
  return (v) => (v == null ? none : ok(v) ? PROJECT : typeof v === 'function' ? EACH : ONCE);
}

/** @param {number} none @param {Check} of @returns {Check} */
function list(none, of) {
  return (v) => {
    if (v == null) return none;
    // graphql-js iterates any iterable (Set, Map, generators…) and may find methods in it
    if (!Array.isArray(v) || isProxy(v) || getProto(v) !== ARRAY_PROTO || v[Symbol.iterator] !== ARRAY_VALUES) {
      return typeof v === 'object' || typeof v === 'function' ? EACH : ONCE;
    }
    let state = typeof (/** @type {any} */ (v).toJSON) === 'function' ? ONCE : PROJECT;
    // (holes read undefined on both sides: null, or an error for a non-null item)
    for (let i = 0; i < v.length; i++) {
      const s = of(v[i]);
      if (s === EACH) return EACH;
      if (s > state) state = s;
    }
    return state;
  };
}

/** @param {number} none @param {[string, string, any][]} fields @returns {Check} */
function object(none, fields) {
  /** @type {[string, Check][]} */
  const reads = [];
  for (const [, name, node] of fields) if (node.k !== 'typename') reads.push([name, checkFor(node)]);
  return (v) => {
    if (v == null) return none;
    // a primitive: graphql-js reads undefined from it, JSON.stringify writes no object
    if (typeof v !== 'object') return typeof v === 'function' ? EACH : ONCE;
    if (isProxy(v)) return EACH;
    const proto = getProto(v);
    if (proto !== OBJECT_PROTO && proto !== null) return EACH;
    let state = typeof (/** @type {any} */ (v).toJSON) === 'function' ? ONCE : PROJECT;
    for (const [name, check] of reads) {
      const s = read(v, name, check);
      if (s === EACH) return EACH;
      if (s > state) state = s;
    }
    return state;
  };
}

module.exports = { compileCheck, PROJECT, ONCE, EACH };
