'use strict';
/**
 * Compiled execution for executed groups (lib/executed-triggers.js): graphql-jit, an optional
 * dependency, compiles a subscription's document once per (schema, document, operation) into
 * a function that executes one event several times cheaper than graphql-js `execute()`.
 * Used only where the result is graphql-js's, byte for byte; everywhere else graphql-js runs:
 *
 * - graphql-jit absent, compiled against another copy of `graphql` than subwire's, the
 *   `jit: false` option, or a compile that fails: graphql-js.
 * - Documents (checked once, at compile): no directives (graphql-jit keeps skipped keys as
 *   `undefined`); no interface or union in the selection, no object type with `isTypeOf`
 *   (graphql-jit resolves and checks types differently); variables and arguments of built-in
 *   scalars and enums with primitive values only (graphql-jit coerces variables itself and
 *   literal arguments once, at compile time); no introspection field but `__typename`.
 * - Fields without a resolver: graphql-jit reads `parent.field` inline, and more than once for
 *   an object or a list (a getter would run several times), and never calls a method or awaits
 *   a promise there, where graphql-js's default resolver reads once and does both. Such fields
 *   of object or list type, the subscription's root field, and leaves named as a property that
 *   primitives have (`length`, `description`), are compiled with graphql-js's own
 *   `defaultFieldResolver`; other leaves are read once, and a function or a promise there makes
 *   a serialization error, which the next rule catches.
 * - Per execution: a result with errors (graphql-jit words some errors differently, orders
 *   them differently and locates some elsewhere) is thrown away and the event is executed
 *   again by graphql-js for that subscriber: its resolvers run a second time for that event
 *   (with `loaders`, on the same bag, so loads are not repeated), and graphql-js executes
 *   that subscriber's later events (lib/executed-triggers.js drops its compiled query).
 *
 * Resolvers get graphql-jit's `info`: the same fields, but `info.path` entries have no
 * `typename`. Resolvers of one execution may run in another order than graphql-js's (so a
 * batch function may see its keys in another order); each runs once.
 * @module subwire/lib/jit
 */

const path = require('node:path');

/** @typedef {(rootValue: unknown, contextValue: unknown, variables: unknown) => any} Query */

/** graphql-jit when it is installed and uses this `graphql`; else null. @param {typeof import('graphql')} graphql */
function loadJit(graphql) {
  try {
    const jitPath = require.resolve('graphql-jit');
    const ours = require.resolve('graphql');
    const theirs = require.resolve('graphql', { paths: [path.dirname(jitPath)] });
    if (ours !== theirs || require(ours) !== graphql) return null;
    return require(jitPath);
  } catch {
    return null;
  }
}

/** Property names that primitives inherit and that are not functions (read on a primitive parent). */
const PRIMITIVE_PROPS = new Set(['length', 'description']);

/**
 * Why the document cannot be compiled exactly, or the fields to give graphql-js's default
 * resolver. @param {typeof import('graphql')} graphql @param {any} schema @param {any} document
 * @param {any} operation @returns {string | Set<any>}
 */
function inspect(graphql, schema, document, operation) {
  const { Kind, isLeafType, isObjectType, isEnumType, isAbstractType, getNamedType, isSpecifiedScalarType, typeFromAST } = graphql;
  /** @type {Map<string, any>} */
  const fragments = new Map();
  for (const d of document.definitions) if (d.kind === Kind.FRAGMENT_DEFINITION) fragments.set(d.name.value, d);
  /** Built-in scalars and enums whose values are primitives (input objects and custom scalars: no). @param {any} type */
  const simpleInput = (type) => {
    const named = /** @type {any} */ (getNamedType(type));
    if (isSpecifiedScalarType(named)) return true;
    if (isEnumType(named)) return named.getValues().every((/** @type {any} */ v) => v.value === null || ['string', 'number', 'boolean'].includes(typeof v.value));
    return false;
  };
  for (const v of operation.variableDefinitions ?? []) {
    const type = typeFromAST(schema, v.type);
    if (!type || !simpleInput(type)) return `variable $${v.variable.name.value} is not of a built-in scalar or plain enum type`;
    if (v.directives?.length) return 'a directive on a variable';
  }
  if (operation.directives?.length) return 'a directive on the operation';
  /** @type {Set<any>} */
  const exact = new Set();
  const root = schema.getRootType ? schema.getRootType(operation.operation) : schema.getSubscriptionType();
  /** @type {Set<string>} fragments being walked (a cycle is invalid anyway) */
  const walking = new Set();
  /** @param {any} type @param {any} selectionSet @param {boolean} top @returns {string | null} */
  const walk = (type, selectionSet, top) => {
    for (const sel of selectionSet.selections) {
      if (sel.directives?.length) return `a directive (@${sel.directives[0].name.value})`;
      if (sel.kind === Kind.FRAGMENT_SPREAD) {
        const frag = fragments.get(sel.name.value);
        if (!frag || walking.has(sel.name.value)) return 'an unknown fragment';
        if (frag.directives?.length) return 'a directive on a fragment';
        const t = typeFromAST(schema, frag.typeCondition);
        if (t !== type) return 'a fragment on another type';
        walking.add(sel.name.value);
        const why = walk(type, frag.selectionSet, top);
        walking.delete(sel.name.value);
        if (why) return why;
        continue;
      }
      if (sel.kind === Kind.INLINE_FRAGMENT) {
        if (sel.typeCondition && typeFromAST(schema, sel.typeCondition) !== type) return 'a fragment on another type';
        const why = walk(type, sel.selectionSet, top);
        if (why) return why;
        continue;
      }
      const name = sel.name.value;
      if (name === '__typename') continue;
      if (name.startsWith('__')) return `introspection (${name})`;
      const field = type.getFields()[name];
      if (!field) return `unknown field ${type.name}.${name}`;
      for (const arg of field.args) if (!simpleInput(arg.type)) return `argument ${type.name}.${name}(${arg.name}:) is not of a built-in scalar or plain enum type`;
      const named = getNamedType(field.type);
      if (isAbstractType(named)) return `${type.name}.${name} is an interface or union`;
      if (typeof field.resolve !== 'function') {
        const nullable = graphql.getNullableType(field.type);
        if (top || !isLeafType(nullable) || PRIMITIVE_PROPS.has(name)) exact.add(field);
      }
      if (isObjectType(named)) {
        if (typeof named.isTypeOf === 'function') return `${named.name} has isTypeOf`;
        if (!sel.selectionSet) return `${type.name}.${name} has no selection`;
        const why = walk(named, sel.selectionSet, false);
        if (why) return why;
      } else if (!isLeafType(named)) return `${type.name}.${name} is of an unknown kind of type`;
    }
    return null;
  };
  if (!root) return 'no root type';
  const why = walk(root, operation.selectionSet, true);
  return why ?? exact;
}

/** A copy of a document's nodes (graphql-jit marks the nodes it compiles), sharing `loc`. @param {any} node @returns {any} */
function copyAst(node) {
  if (Array.isArray(node)) return node.map(copyAst);
  if (node === null || typeof node !== 'object') return node;
  /** @type {Record<string, unknown>} */
  const out = {};
  for (const key of Object.keys(node)) out[key] = key === 'loc' ? node.loc : copyAst(node[key]);
  return out;
}

/** The compiled queries of one server (the cache is per schema and document, weakly held). */
class Compiler {
  /** @param {typeof import('graphql')} graphql @param {boolean} enabled the `jit` option */
  constructor(graphql, enabled) {
    this.graphql = graphql;
    /** graphql-jit, loaded on first use (undefined until then). @type {any} */
    this.jit = enabled ? undefined : null;
    /** Documents compiled and refused, events executed by compiled queries, of which graphql-js executed again (`stats()`). */
    this.counts = { compiled: 0, refused: 0, executions: 0, fallbacks: 0 };
    /** schema → document → operation name → query or null. @type {WeakMap<object, WeakMap<object, Map<string | undefined, Query | null>>>} */
    this.cache = new WeakMap();
  }

  /**
   * The compiled query for `execArgs` (document, operationName, schema), or null when
   * graphql-js must run it. @param {any} execArgs @returns {Query | null}
   */
  queryFor(execArgs) {
    if (this.jit === undefined) this.jit = loadJit(this.graphql);
    if (this.jit === null) return null;
    const { schema, document, operationName } = execArgs;
    // a fieldResolver or typeResolver from onSubscribe: graphql-jit would not use them
    if (execArgs.fieldResolver != null || execArgs.typeResolver != null) return null;
    if (typeof schema !== 'object' || schema === null || typeof document !== 'object' || document === null) return null;
    let byDoc = this.cache.get(schema);
    if (byDoc === undefined) this.cache.set(schema, (byDoc = new WeakMap()));
    let byName = byDoc.get(document);
    if (byName === undefined) byDoc.set(document, (byName = new Map()));
    let q = byName.get(operationName);
    if (q === undefined) byName.set(operationName, (q = this.compile(schema, document, operationName)));
    return q;
  }

  /** @param {any} schema @param {any} document @param {string | undefined} operationName @returns {Query | null} */
  compile(schema, document, operationName) {
    const { graphql } = this;
    const jit = /** @type {any} */ (this.jit);
    const operation = graphql.getOperationAST(document, operationName);
    if (!operation || operation.operation !== 'subscription') return null;
    const verdict = inspect(graphql, schema, document, operation);
    if (typeof verdict === 'string') {
      this.counts.refused += 1;
      return null;
    }
    // graphql-js's default resolver on the fields that need it, for the compile only: it
    // reads `field.resolve` then and never again (a synchronous window: nothing else runs).
    const patched = [...verdict];
    for (const f of patched) f.resolve = graphql.defaultFieldResolver;
    let compiled;
    try {
      compiled = jit.compileQuery(schema, copyAst(document), operationName, { disablingCapturingStackErrors: true });
    } catch {
      compiled = null;
    } finally {
      for (const f of patched) f.resolve = undefined;
    }
    if (!compiled || !jit.isCompiledQuery(compiled)) {
      this.counts.refused += 1;
      return null;
    }
    this.counts.compiled += 1;
    return compiled.query;
  }

  /**
   * One event executed by a compiled query: its result (or a promise of it), or null when
   * graphql-js must execute it (the query threw, or its result has errors). A promised result
   * goes through `inexact` once settled. @param {Query} query
   * @param {any} args the subscriber's execution arguments @param {unknown} rootValue @param {unknown} contextValue
   * @returns {unknown}
   */
  run(query, args, rootValue, contextValue) {
    this.counts.executions += 1;
    let r;
    try {
      r = query(rootValue, contextValue, args.variableValues);
    } catch {
      this.counts.fallbacks += 1;
      return null;
    }
    if (typeof r.then === 'function' || r.errors === undefined) return r;
    this.counts.fallbacks += 1;
    return null;
  }

  /** Whether a compiled query's settled result must be thrown away (graphql-js executes the event again). @param {any} r */
  inexact(r) {
    if (r.errors === undefined) return false;
    this.counts.fallbacks += 1;
    return true;
  }
}

module.exports = { Compiler, inspect };
