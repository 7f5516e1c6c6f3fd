'use strict';
/**
 * A connection's operations, as graphql-ws's server runs them (its `subscribe` and
 * `complete` message handling), over the session API (lib/server.js `SessionApi`):
 *
 * - subscribe: onSubscribe(ctx, id, payload) → execution args | GraphQLError[] (→ `error`)
 *   | void (parse → schema(ctx, id, payload, args) → validate; errors → `error`;
 *   lib/execution.js) → getOperationAST → roots / context(ctx, id, payload, args) →
 *   subscribe() or execute() → onOperation(ctx, id, payload, args, result) → for each
 *   result onNext(…) → `next`; a thrown iteration error → onError(ctx, id, payload, errors)
 *   → `error`; at the end onComplete(ctx, id, payload) and `complete` (only if the client
 *   did not complete first).
 * - complete (client): the operation's iterator's `return()`; its loop then ends and calls
 *   onComplete, as in graphql-ws.
 *
 * Where an operation goes: a subscription the app's `shareKey` names joins a shared
 * trigger (lib/shared-triggers.js); one that lib/projection.js compiles and whose source is
 * a subwire topic joins a projected trigger (lib/projected-triggers.js); any other whose
 * source is a subwire topic joins an executed group (lib/executed-triggers.js: executed
 * per subscriber, all of an event's subscribers in one JS turn), unless the app brought its
 * own `subscribe` or an `onOperation` (which may replace the stream); everything else runs
 * here, per subscriber, as graphql-ws runs it. With `loaders` (lib/loaders.js) resolvers
 * get `context.loaders`: the bag of the event being executed, of the operation for queries
 * and mutations. Made once per server by lib/server.js.
 * @module subwire/lib/operation
 */

const { isAsyncIterable, isAsyncGenerator } = require('./util.js');
const { DocCache } = require('./doc-cache.js');
const { Registry } = require('./shared-triggers.js');
const { TopicIterator } = require('./pubsub.js');
const { projectionFor } = require('./projection.js');
const { nextPayload } = require('./next-payload.js');
const { prepareOperation } = require('./execution.js');
const { loadersFor, executeEvents } = require('./loaders.js');
const { ExecutedTriggers } = require('./executed-triggers.js');
const { Compiler } = require('./jit.js');

/** @typedef {import('./connection.js').Conn} Conn */
/** @typedef {import('./connection.js').Op} Op */

/**
 * @param {{ graphql: typeof import('graphql'), options: import('../index').ServerOptions,
 *   srv: import('./server.js').SessionApi, messages: import('./messages.js').MessageEvents,
 *   internalError: (c: Conn, err: unknown) => void }} deps
 */
function makeOperations({ graphql, options, srv, messages, internalError }) {
  const { schema, context, roots, parse, validate, execute, subscribe, onSubscribe, onOperation, onNext, onError, onComplete, shareKey } = options;
  const replacer = options.jsonMessageReplacer;
  const { send } = messages;
  /** Operations live right now (`stats().subscriptions`). */
  let live = 0;

  /** @param {unknown} err */
  const toGraphQLError = (err) => {
    const original = err instanceof Error ? err : new Error(String(err));
    return new graphql.GraphQLError(original.message, { originalError: original });
  };

  const docs = parse || validate ? null : new DocCache(graphql);
  /** @type {import('./execution.js').Deps} */
  const execDeps = { graphql, schema, roots, onSubscribe, parse, validate, docs };
  /**
   * Unshared subscriptions may be projected in Rust (lib/projection.js) when nothing of the
   * app runs per event or around execution: no onNext/onError/onOperation, graphql-js's
   * own subscribe/execute, no replacer (it writes whole messages, and may look at any of
   * them). `projection: false` turns it off.
   */
  const projectable = options.projection !== false && !onNext && !onError && !onOperation && !subscribe && !execute && !replacer;
  /** Executed in groups (lib/executed-triggers.js): graphql-js's own subscribe, and no onOperation that could replace the stream. */
  const batchable = !subscribe && !onOperation;
  const loaders = loadersFor(options.loaders);
  /** @param {Conn} c @param {Op} op */
  const released = (c, op) => {
    release(c, op);
    live -= 1;
  };
  const compiler = new Compiler(graphql, options.jit !== false);
  const executed = new ExecutedTriggers({ graphql, options, srv, send, loaders, compiler, toGraphQLError, internalError, released });
  const triggers = new Registry({
    srv,
    graphql,
    options,
    stringify: (v) => JSON.stringify(v, replacer),
    toGraphQLError,
    internalError,
    // A replacer may look at any message, ids included: shared results are framed per
    // subscriber in JS instead of by the hub (one execution per event still).
    framed: replacer ? send : null,
    loaders,
    released,
    cohorts: batchable ? executed : null,
  });

  /**
   * @param {Conn} c @param {string} id @param {number} serial the operation's (Rust drops
   *   answers carrying it once the id is another operation's) @param {string} raw its
   *   payload's JSON (with a reviver: the token of what lib/messages.js kept)
   */
  async function subscribeMessage(c, id, serial, raw) {
    const { ctx } = c;
    /** @type {Op} */
    const op = { id, serial, iterator: null, finished: null };
    c.setOp(op);
    live += 1;
    /** Whether this operation may still talk to the client (not completed, not closed). */
    const active = () => !c.closed && c.getOp(id) === op;
    /** @type {any} */
    let payload;
    /** Whether a shared trigger took the operation over (it then ends the op itself). */
    let shared = false;

    const emitNext = async (/** @type {any} */ result, /** @type {any} */ args) => {
      const maybeResult = await onNext?.(ctx, id, payload, args, result);
      if (active()) send.next(c, id, serial, maybeResult || nextPayload(result));
    };
    const emitError = async (/** @type {readonly any[]} */ errors) => {
      const maybeErrors = await onError?.(ctx, id, payload, errors);
      if (active()) send.error(c, id, serial, maybeErrors || errors);
    };
    const emitComplete = async (/** @type {boolean} */ notifyClient) => {
      await onComplete?.(ctx, id, payload);
      if (notifyClient && active()) send.complete(c, id, serial);
    };

    try {
      payload = messages.payloadOf(c, raw);
      const prepared = await prepareOperation(execDeps, ctx, id, payload);
      if ('errors' in prepared) return active() ? await emitError(prepared.errors) : undefined;
      const { execArgs, operationAST } = prepared;
      if (shareKey && operationAST.operation === 'subscription') {
        const key = await shareKey(ctx, payload, execArgs);
        if (typeof key === 'string' && active()) {
          shared = true;
          triggers.join(c, op, payload, execArgs, key);
          return;
        }
      }
      if (!('contextValue' in execArgs)) {
        execArgs.contextValue = typeof context === 'function' ? await context(ctx, id, payload, execArgs) : context;
      }
      loaders?.check(execArgs.contextValue);
      /** @type {any} */
      let operationResult;
      /** With loaders and the app's own subscribe: a new bag for each result. @type {(() => void) | null} */
      let rotate = null;
      const subscription = operationAST.operation === 'subscription';
      if (subscription && !subscribe) {
        // graphql-js's subscribe() in its two steps: the resolver's source stream, then
        // each event executed. A subwire topic stream is served by projection in Rust or
        // by an executed group; anything else is mapped through execute() here.
        const stream = await graphql.createSourceEventStream(execArgs);
        const plan = projectable && stream instanceof TopicIterator ? projectionFor(graphql, execArgs) : null;
        if (stream instanceof TopicIterator && (plan || batchable)) {
          if (!active()) return void (await stream.return());
          shared = true;
          if (plan) {
            await stream.return();
            triggers.joinProjected(c, op, payload, execArgs, stream.topics, plan);
          } else executed.join(c, op, payload, execArgs, stream);
          return;
        }
        operationResult = executeEvents(graphql, loaders, execArgs, stream);
      } else if (subscription) {
        let args = execArgs;
        if (loaders) {
          const r = loaders.rolling(execArgs.contextValue);
          args = { ...execArgs, contextValue: r.context };
          rotate = r.rotate;
        }
        operationResult = await /** @type {NonNullable<typeof subscribe>} */ (subscribe)(args);
      } else {
        const args = loaders ? { ...execArgs, contextValue: loaders.context(execArgs.contextValue, loaders.bag()) } : execArgs;
        operationResult = await (execute ?? graphql.execute)(args);
      }
      const maybeResult = await onOperation?.(ctx, id, payload, execArgs, operationResult);
      if (maybeResult) operationResult = maybeResult;

      if (isAsyncIterable(operationResult)) {
        if (!active()) {
          // completed or closed while the operation started: end it at once
          if (isAsyncGenerator(operationResult)) await operationResult.return(undefined);
        } else {
          op.iterator = operationResult;
          /** @type {() => void} */
          let finished = () => {};
          op.finished = new Promise((resolve) => (finished = resolve));
          try {
            try {
              for await (const result of operationResult) {
                rotate?.();
                await emitNext(result, execArgs);
              }
            } catch (err) {
              await emitError([toGraphQLError(err)]);
              release(c, op);
            }
            await emitComplete(active());
          } finally {
            c.ending?.delete(op);
            finished();
          }
          return;
        }
      } else if (active()) {
        await emitNext(operationResult, execArgs);
      }
      await emitComplete(active());
    } catch (err) {
      internalError(c, err);
    } finally {
      if (!shared) {
        release(c, op);
        live -= 1;
      }
    }
  }

  /** Forgets `op` if it is still the connection's operation under its id. @param {Conn} c @param {Op} op */
  function release(c, op) {
    c.deleteOp(op);
  }

  /** The client completed (or stopped) an operation. @param {Conn} c @param {string} id */
  async function completeMessage(c, id) {
    const op = c.getOp(id);
    if (!op) return;
    const subscription = op.iterator;
    release(c, op);
    if (op.finished) (c.ending ??= new Set()).add(op);
    if (isAsyncGenerator(subscription)) await subscription.return(undefined);
  }

  return {
    subscribe: subscribeMessage,
    complete: completeMessage,
    release,
    /** The server stopped. */
    close() {
      loaders?.close();
    },
    /** Operations live right now. */
    get live() {
      return live;
    },
    /** Projected events that graphql-js had to execute. */
    get fallbacks() {
      return triggers.fallbacks;
    },
    /** Executed-group events run by graphql-jit, and of those the ones graphql-js ran again (lib/jit.js). */
    get compiled() {
      return compiler.counts;
    },
    /** Live operations by path: projected and shared triggers' subscribers, the rest executed per subscriber. */
    get paths() {
      const { projected, shared } = triggers.attached;
      return { projected, shared, executed: live - projected - shared };
    },
  };
}

module.exports = { makeOperations };
