'use strict';
/**
 * subwire's GraphQL server for the fan-out scenario: `useServer` with subwire's PubSub,
 * the benchmark schema `subscription { tick(topic: String!) { seq sentAt body } }`, events
 * published as `{ tick: { seq, sentAt, body } }`.
 *
 * `--mode projected` (default): unshared subscriptions; tick has graphql-js's default
 * resolvers, so Rust projects each event from the published JSON. `--mode shared`:
 * `shareKey: () => 'all'` (one execution per event in JS). `--mode js`: unshared with
 * `projection: false` (graphql-js executes every event for every subscriber, as graphql-ws
 * does).
 * @module benchmark/servers/subwire-graphql
 */

const { serve, argv, nowMs } = require('../lib/server-harness');

serve('subwire-graphql', async () => {
  const { useServer, PubSub } = require('../..');
  const { GraphQLSchema, GraphQLObjectType, GraphQLString, GraphQLNonNull, GraphQLInt, GraphQLFloat } = require('graphql');
  const mode = argv().mode || 'projected';
  if (!['projected', 'shared', 'js'].includes(mode)) throw new Error(`--mode ${mode}: projected, shared or js`);
  const pubsub = new PubSub({ maxQueued: Infinity });
  const Tick = new GraphQLObjectType({
    name: 'Tick',
    fields: { seq: { type: new GraphQLNonNull(GraphQLInt) }, sentAt: { type: new GraphQLNonNull(GraphQLFloat) }, body: { type: GraphQLString } },
  });
  const schema = new GraphQLSchema({
    query: new GraphQLObjectType({ name: 'Query', fields: { hello: { type: GraphQLString, resolve: () => 'world' } } }),
    subscription: new GraphQLObjectType({
      name: 'Subscription',
      fields: {
        tick: {
          type: new GraphQLNonNull(Tick),
          args: { topic: { type: new GraphQLNonNull(GraphQLString) } },
          subscribe: (_root, { topic }) => pubsub.asyncIterableIterator(topic),
        },
      },
    }),
  });
  const server = useServer(
    { schema, maxConnections: 19500, shareKey: mode === 'shared' ? () => 'all' : undefined, projection: mode === 'projected' },
    { port: 0, host: '127.0.0.1', path: '/' },
    0,
  );
  return {
    port: server.address().port,
    stats: () => server.stats(),
    publish: (topic, seq, bodyBytes) => server.publish(topic, { tick: { seq, sentAt: nowMs(), body: 'x'.repeat(bodyBytes) } }),
    close: () => server.dispose(),
  };
});
