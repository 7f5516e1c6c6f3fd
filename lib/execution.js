'use strict';
/**
 * From a `subscribe` message to graphql-js execution arguments, the way graphql-ws's server
 * does it: the app's `onSubscribe` may answer with arguments or errors; otherwise the query
 * is parsed and validated (through the document cache when the app did not bring its own
 * `parse`/`validate`), the operation is found and `roots` supplies its root value.
 * Called by lib/operation.js once per operation; also holds `mapStream`, graphql's mapping
 * of a source stream to results (lib/loaders.js `executeEvents`).
 * @module subwire/lib/execution
 */

/**
 * @typedef {{ graphql: typeof import('graphql'), schema: any, roots: any, onSubscribe: any,
 *   parse: any, validate: any, docs: import('./doc-cache.js').DocCache | null }} Deps
 * @typedef {{ errors: readonly any[] } | { execArgs: any, operationAST: any, normalized: string | undefined }} Prepared
 */

/**
 * @param {Deps} deps
 * @param {any} ctx graphql-ws's connection context
 * @param {string} id
 * @param {any} payload the parsed subscribe payload
 * @returns {Promise<Prepared>} errors to send to the client, or what to execute
 */
async function prepareOperation(deps, ctx, id, payload) {
  const { graphql, schema, roots, onSubscribe, parse, validate, docs } = deps;
  /** @type {any} */
  let execArgs;
  /** The document's printed form when the cache had it (unused: shared triggers key by the query text). */
  let normalized;
  const maybeExecArgsOrErrors = await onSubscribe?.(ctx, id, payload);
  if (maybeExecArgsOrErrors) {
    if (areGraphQLErrors(graphql, maybeExecArgsOrErrors)) return { errors: maybeExecArgsOrErrors };
    if (Array.isArray(maybeExecArgsOrErrors)) {
      throw new Error('Invalid return value from onSubscribe hook, expected an array of GraphQLError objects');
    }
    execArgs = maybeExecArgsOrErrors;
  } else {
    if (!schema) throw new Error('The GraphQL schema is not provided');
    const parsed = docs?.parse(payload.query);
    if (parsed) normalized = parsed.normalized;
    const document = parsed ? parsed.document : (parse ?? graphql.parse)(payload.query);
    const { operationName, variables: variableValues } = payload;
    // One literal with every key (no spread, no key added later but rootValue/contextValue):
    // the objects of all operations then share one V8 hidden class (a spread copy gets a
    // hidden class of its own, ~240 bytes per live operation).
    execArgs = { operationName, document, variableValues, schema };
    if (typeof schema === 'function') execArgs.schema = await schema(ctx, id, payload, { operationName, document, variableValues });
    const validationErrors = docs
      ? docs.validate(execArgs.schema, execArgs.document)
      : (validate ?? graphql.validate)(execArgs.schema, execArgs.document);
    if (validationErrors.length > 0) return { errors: validationErrors };
  }
  const operationAST = graphql.getOperationAST(execArgs.document, execArgs.operationName);
  if (!operationAST) return { errors: [new graphql.GraphQLError('Unable to identify operation')] };
  if (!('rootValue' in execArgs)) execArgs.rootValue = roots?.[operationAST.operation];
  return { execArgs, operationAST, normalized };
}

/** @param {typeof import('graphql')} graphql @param {unknown} errors */
function areGraphQLErrors(graphql, errors) {
  return Array.isArray(errors) && errors.length > 0 && errors.every((e) => e instanceof graphql.GraphQLError);
}

/**
 * graphql's mapping of a source stream to results, with `return()` going straight to the
 * source (an async generator's would wait for the pending `next()`); when `fn` throws, the
 * source is returned and the error goes on, as graphql-js does.
 * @param {AsyncIterable<unknown>} stream @param {(value: unknown) => unknown} fn
 */
function mapStream(stream, fn) {
  const it = stream[Symbol.asyncIterator]();
  return {
    async next() {
      const r = await it.next();
      if (r.done) return r;
      try {
        return { value: await fn(r.value), done: false };
      } catch (err) {
        try {
          await it.return?.();
        } catch {
          // the original error goes on
        }
        throw err;
      }
    },
    return() {
      return typeof it.return === 'function' ? it.return() : Promise.resolve({ value: undefined, done: true });
    },
    throw(/** @type {unknown} */ err) {
      return typeof it.throw === 'function' ? it.throw(err) : Promise.reject(err);
    },
    [Symbol.asyncIterator]() {
      return this;
    },
  };
}

module.exports = { prepareOperation, mapStream };
