'use strict';
/**
 * Compiling a subscription into a projection plan (src/project.rs runs it).
 *
 * Called by lib/operation.js for each unshared subscription when the app
 * set no per-event hooks. A subscription qualifies when its result is a pure function of
 * the published payload: one root field, every field resolved by graphql-js's default
 * resolver (no `resolve` anywhere in the selection), object types only (no interfaces or
 * unions), leaves that are built-in scalars (Int, Float, String, Boolean, ID) or enums
 * whose values are their names, plain fields and `__typename` (no fragments, no
 * directives, no duplicate response keys). Its source must be a subwire PubSub topic
 * iterator (checked by the caller once the resolver's `subscribe` ran): then Rust can
 * write `{"data":…}` for each published payload without a JS execution, and every
 * subscription with the same plan and topics shares that work (nothing per-connection can
 * change the result). Anything else gets `null` and runs through graphql-js as usual.
 *
 * A plan comes with its checker (lib/projection-check.js), which decides per published
 * event whether the projection of that event is exact.
 * @module subwire/lib/projection
 */

const { compileCheck } = require('./projection-check.js');

/** @typedef {import('graphql')} GraphQL */
/**
 * A compiled plan: its JSON text (Rust's `Plan`, also part of the trigger key) and its
 * per-event checker (PROJECT, ONCE or EACH, see lib/projection-check.js).
 * @typedef {{ json: string, check: (payload: unknown) => number }} Projection
 */

/** plans per schema and document (`null`: does not qualify). @type {WeakMap<object, WeakMap<object, Map<string, Projection | null>>>} */
const cache = new WeakMap();

/**
 * The projection of a subscription's execution arguments, or null when graphql-js must run
 * it: the plan of its operation, unless the app replaced graphql-js's default resolver.
 * @param {GraphQL} graphql @param {any} execArgs
 */
function projectionFor(graphql, execArgs) {
  const { fieldResolver } = execArgs;
  if (fieldResolver != null && fieldResolver !== graphql.defaultFieldResolver) return null;
  return planFor(graphql, execArgs.schema, execArgs.document, execArgs.operationName);
}

/**
 * The plan for `document`'s operation `operationName` against `schema`, or null.
 * @param {GraphQL} graphql @param {import('graphql').GraphQLSchema} schema
 * @param {import('graphql').DocumentNode} document @param {string | null | undefined} operationName
 * @returns {Projection | null}
 */
function planFor(graphql, schema, document, operationName) {
  let bySchema = cache.get(schema);
  if (!bySchema) cache.set(schema, (bySchema = new WeakMap()));
  let byDoc = bySchema.get(document);
  if (!byDoc) bySchema.set(document, (byDoc = new Map()));
  const name = operationName ?? '';
  let plan = byDoc.get(name);
  if (plan === undefined) {
    plan = compile(graphql, schema, document, operationName);
    byDoc.set(name, plan);
  }
  return plan;
}

/** @param {GraphQL} graphql @param {any} schema @param {any} document @param {any} operationName @returns {Projection | null} */
function compile(graphql, schema, document, operationName) {
  if (document.definitions.some((/** @type {any} */ d) => d.kind === graphql.Kind.FRAGMENT_DEFINITION)) return null;
  const op = graphql.getOperationAST(document, operationName);
  const root = schema.getSubscriptionType();
  if (!op || op.operation !== 'subscription' || !root || op.directives?.length) return null;
  const sel = op.selectionSet.selections;
  if (sel.length !== 1 || sel[0].kind !== graphql.Kind.FIELD || sel[0].directives?.length) return null;
  const field = root.getFields()[sel[0].name.value];
  if (!field || field.resolve) return null;
  const node = nodeFor(graphql, field.type, sel[0]);
  if (!node) return null;
  const plan = { key: (sel[0].alias ?? sel[0].name).value, name: sel[0].name.value, node };
  return { json: JSON.stringify(plan), check: compileCheck(plan) };
}

const SCALARS = /** @type {const} */ ([
  ['GraphQLInt', 'int'],
  ['GraphQLFloat', 'float'],
  ['GraphQLString', 'string'],
  ['GraphQLBoolean', 'bool'],
  ['GraphQLID', 'id'],
]);

/** @param {GraphQL} graphql @param {any} type @param {any} fieldNode @returns {object | null} */
function nodeFor(graphql, type, fieldNode) {
  const nn = type instanceof graphql.GraphQLNonNull;
  const t = nn ? type.ofType : type;
  if (t instanceof graphql.GraphQLList) {
    const of = nodeFor(graphql, t.ofType, fieldNode);
    return of && { k: 'list', nn, of };
  }
  if (t instanceof graphql.GraphQLScalarType) {
    if (fieldNode.selectionSet) return null;
    const hit = SCALARS.find(([name]) => graphql[name] === t);
    return hit ? { k: hit[1], nn } : null;
  }
  if (t instanceof graphql.GraphQLEnumType) {
    const values = t.getValues();
    if (fieldNode.selectionSet || values.some((v) => v.value !== v.name)) return null;
    return { k: 'enum', nn, values: values.map((v) => v.name) };
  }
  if (!(t instanceof graphql.GraphQLObjectType) || !fieldNode.selectionSet) return null;
  // A type with isTypeOf, or fields with resolvers, is the app's code: not ours to skip.
  if (t.isTypeOf) return null;
  const defs = t.getFields();
  const keys = new Set();
  const fields = [];
  for (const s of fieldNode.selectionSet.selections) {
    if (s.kind !== graphql.Kind.FIELD || s.directives?.length) return null;
    const key = (s.alias ?? s.name).value;
    if (keys.has(key)) return null;
    keys.add(key);
    if (s.name.value === '__typename') {
      fields.push([key, '__typename', { k: 'typename', name: t.name }]);
      continue;
    }
    const def = defs[s.name.value];
    if (!def || def.resolve) return null;
    const child = nodeFor(graphql, def.type, s);
    if (!child) return null;
    fields.push([key, s.name.value, child]);
  }
  return { k: 'obj', nn, fields };
}

module.exports = { planFor, projectionFor };
