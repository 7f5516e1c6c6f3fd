'use strict';
// A slow consumer cut in the middle of a burst still gets its 1008 close frame: the queue's
// front entry is then a run of several messages (a burst folded into one entry), the cut
// keeps all of it, and the close frame queued behind it must not count as a new backlog.
const test = require('node:test');
const assert = require('node:assert/strict');
const { GraphQLSchema, GraphQLObjectType, GraphQLString, GraphQLInt, GraphQLNonNull } = require('graphql');
const { useServer, PubSub, publish } = require('..');
const { eventually } = require('./helpers');
const { subscriber } = require('./metrics-helpers');

const pubsub = new PubSub();
const Tick = new GraphQLObjectType({ name: 'Tick', fields: { seq: { type: GraphQLInt }, body: { type: GraphQLString } } });
const schema = new GraphQLSchema({
  query: new GraphQLObjectType({ name: 'Query', fields: { hello: { type: GraphQLString } } }),
  subscription: new GraphQLObjectType({
    name: 'Subscription',
    fields: {
      raw: {
        type: Tick,
        args: { topic: { type: new GraphQLNonNull(GraphQLString) } },
        subscribe: (_r, { topic }) => pubsub.asyncIterableIterator(topic),
      },
    },
  }),
});

test('a consumer cut during bursts of several events still receives the 1008 close frame', async (t) => {
  const server = useServer({ schema, maxBufferedBytes: 64 * 1024 }, { port: 0, path: '/graphql' }, 0);
  t.after(() => server.dispose());
  const url = `ws://127.0.0.1:${server.address().port}/graphql`;
  const slow = subscriber(url, 'subscription { raw(topic: "burst") { seq body } }');
  t.after(() => slow.ws.terminate());
  await eventually(() => server.stats().triggerSubscriptions === 1, 5000, 'subscribed');
  slow.ws._socket.pause();
  const body = 'b'.repeat(256 * 1024);
  let seq = 0;
  while (server.stats().slowConsumers === 0 && seq < 4000) {
    // Eight in one JS turn: one hub batch, folded by the reactor into one run per connection.
    for (let i = 0; i < 8; i++) publish('burst', { raw: { seq: seq++, body } });
    await new Promise((r) => setImmediate(r));
  }
  assert.equal(server.stats().slowConsumers, 1, `cut after ${seq} events`);
  slow.ws._socket.resume();
  await eventually(() => slow.close !== null, 10000, 'the client to see the close');
  assert.deepEqual(slow.close, { code: 1008, reason: 'slow consumer' });
  // What came before the close frame arrived whole and in order.
  assert.ok(slow.data.length > 0);
  assert.deepEqual(slow.data.map((d) => d.raw.seq), slow.data.map((_, i) => i));
});
