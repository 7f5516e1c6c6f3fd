'use strict';
/**
 * The fan-out benchmark's GraphQL schema and in-process pubsub, shared by the JS reference
 * servers (servers/graphql-ws.js, servers/stws.js): `subscription { tick(topic: String!)
 * { seq sentAt body } }`, tick's `subscribe` returning an async iterator fed by `publish`,
 * `resolve: (payload) => payload`. `subscriptions` counts iterators whose resolver ran and
 * that were not returned yet: a subscription counted there gets every later publish.
 * @module benchmark/lib/tick-schema
 */

const { nowMs } = require('./server-harness');

/**
 * `subscription { tick(topic: String!) { seq sentAt body } }` (and `query { hello }`), the
 * one schema every GraphQL server of the benchmark serves.
 * @param {(root: unknown, args: { topic: string }) => unknown} subscribe tick's source stream
 * @param {((payload: any) => unknown) | undefined} resolve tick's resolver (none: graphql-js's
 *   default, which reads `payload.tick`)
 * @param {typeof import('graphql')} [graphql] the graphql module to build it with (the one
 *   the server executes with)
 */
function tickSchema(subscribe, resolve, graphql = require('graphql')) {
  const { GraphQLSchema, GraphQLObjectType, GraphQLString, GraphQLNonNull, GraphQLInt, GraphQLFloat } = graphql;
  const Tick = new GraphQLObjectType({
    name: 'Tick',
    fields: { seq: { type: new GraphQLNonNull(GraphQLInt) }, sentAt: { type: new GraphQLNonNull(GraphQLFloat) }, body: { type: GraphQLString } },
  });
  return new GraphQLSchema({
    query: new GraphQLObjectType({ name: 'Query', fields: { hello: { type: GraphQLString, resolve: () => 'world' } } }),
    subscription: new GraphQLObjectType({
      name: 'Subscription',
      fields: {
        tick: {
          type: new GraphQLNonNull(Tick),
          args: { topic: { type: new GraphQLNonNull(GraphQLString) } },
          subscribe: /** @type {any} */ (subscribe),
          ...(resolve ? { resolve } : {}),
        },
      },
    }),
  });
}

function createTicks() {
  /** topic → set of push functions, one per live subscription. @type {Map<string, Set<(v: unknown) => void>>} */
  const topics = new Map();
  let subscriptions = 0;

  /** An async iterator fed by `publish`, removed from its topic on return(). @param {string} topic */
  function listen(topic) {
    /** @type {unknown[]} */
    const queue = [];
    /** @type {((r: IteratorResult<unknown>) => void) | null} */
    let waiting = null;
    let done = false;
    const push = (/** @type {unknown} */ value) => {
      if (waiting) {
        const w = waiting;
        waiting = null;
        w({ value, done: false });
      } else queue.push(value);
    };
    if (!topics.has(topic)) topics.set(topic, new Set());
    /** @type {Set<(v: unknown) => void>} */ (topics.get(topic)).add(push);
    subscriptions++;
    const finish = () => {
      if (!done) {
        done = true;
        subscriptions--;
        topics.get(topic)?.delete(push);
        if (waiting) waiting({ value: undefined, done: true });
      }
      return Promise.resolve({ value: undefined, done: true });
    };
    return {
      next: () =>
        queue.length ? Promise.resolve({ value: queue.shift(), done: false })
          : done ? Promise.resolve({ value: undefined, done: true })
            : new Promise((resolve) => { waiting = resolve; }),
      return: finish,
      throw: (/** @type {unknown} */ e) => { finish(); return Promise.reject(e); },
      [Symbol.asyncIterator]() { return this; },
    };
  }

  const schema = tickSchema((_root, { topic }) => listen(topic), (payload) => payload);

  return {
    schema,
    subscriptions: () => subscriptions,
    /**
     * Pushes `{ seq, sentAt, body: 'x' × bodyBytes }` to every live subscription of `topic`;
     * `sentAt` defaults to now (the harness's `rate` passes each event's scheduled time).
     */
    publish(/** @type {string} */ topic, /** @type {number} */ seq, /** @type {number} */ bodyBytes, sentAt = nowMs()) {
      const tick = { seq, sentAt, body: 'x'.repeat(bodyBytes) };
      for (const push of topics.get(topic) || []) push(tick);
    },
  };
}

module.exports = { createTicks, tickSchema };
