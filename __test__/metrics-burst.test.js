'use strict';
// Scraping while a burst fans out: 3,000 subscribed clients (ws, in this process) receive
// 20 events while server.metrics() is read again and again. No event is lost or reordered,
// the scrape then counts exactly what was delivered (one fan-out sample per event), and the
// time a scrape takes is reported. The 19k-connection version, with clients in other
// processes, is `node benchmark/metrics-scrape.js` (benchmark/README.md).
const test = require('node:test');
const assert = require('node:assert/strict');
const { GraphQLSchema, GraphQLObjectType, GraphQLString, GraphQLInt } = require('graphql');
const { useServer, PubSub } = require('..');
const { eventually } = require('./helpers');
const { parseScrape, value, histogram, subscriber } = require('./metrics-helpers');

const N = 3000;
const EVENTS = 20;

const pubsub = new PubSub();
const schema = new GraphQLSchema({
  query: new GraphQLObjectType({ name: 'Query', fields: { hello: { type: GraphQLString } } }),
  subscription: new GraphQLObjectType({
    name: 'Subscription',
    fields: {
      tick: {
        type: new GraphQLObjectType({ name: 'Tick', fields: { seq: { type: GraphQLInt }, body: { type: GraphQLString } } }),
        subscribe: () => pubsub.asyncIterableIterator('burst'),
      },
    },
  }),
});

test(`scrapes during a burst to ${N} subscribers: nothing lost or reordered, counts exact`, { timeout: 120000 }, async (t) => {
  const server = useServer({ schema, reactors: 2 }, { port: 0, path: '/graphql' }, 0);
  t.after(() => server.dispose());
  const url = `ws://127.0.0.1:${server.address().port}/graphql`;
  /** @type {ReturnType<typeof subscriber>[]} */
  const clients = [];
  t.after(() => clients.forEach((c) => c.ws.terminate()));
  for (let i = 0; i < N; i += 500) {
    for (let k = i; k < Math.min(N, i + 500); k++) clients.push(subscriber(url, 'subscription { tick { seq body } }'));
    await eventually(() => server.stats().triggerSubscriptions === clients.length, 30000, `${clients.length} subscribed`);
  }
  const before = parseScrape(server.metrics());
  assert.equal(value(before, 'subwire_connections_open'), N);
  assert.equal(value(before, 'subwire_subscriptions_active', { path: 'projected' }), N);

  const body = 'x'.repeat(200);
  const times = [];
  for (let seq = 1; seq <= EVENTS; seq++) pubsub.publish('burst', { tick: { seq, body } });
  const all = () => clients.every((c) => c.data.length === EVENTS);
  while (!all()) {
    const t0 = process.hrtime.bigint();
    const text = server.metrics();
    times.push(Number(process.hrtime.bigint() - t0) / 1e6);
    if (times.length % 25 === 1) parseScrape(text); // valid mid-burst too
    await new Promise((r) => setImmediate(r));
    if (times.length > 200_000) break;
  }
  await eventually(all, 30000, 'every client got every event');
  for (const c of clients) {
    assert.equal(c.close, null);
    assert.deepEqual(c.data.map((d) => d.tick.seq), Array.from({ length: EVENTS }, (_, i) => i + 1));
  }
  const after = parseScrape(server.metrics());
  assert.equal(value(after, 'subwire_events_delivered_total'), N * EVENTS);
  const fanout = histogram(after, 'subwire_fanout_duration_seconds');
  assert.equal(fanout.count, EVENTS, 'one sample per event');
  assert.equal(histogram(after, 'subwire_fanout_subscribers').sum, N * EVENTS);
  assert.equal(value(after, 'subwire_slow_consumers_total'), 0);
  times.sort((a, b) => a - b);
  const median = times[times.length >> 1];
  t.diagnostic(`${times.length} scrapes during the burst: median ${median.toFixed(2)} ms, max ${times[times.length - 1].toFixed(2)} ms; ` +
    `fan-out mean ${((fanout.sum / fanout.count) * 1000).toFixed(1)} ms`);
  assert.ok(times.length >= 1);
  assert.ok(median < 50, `a scrape takes ${median} ms`);
});
