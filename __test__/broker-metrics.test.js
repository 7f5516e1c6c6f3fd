'use strict';
// The broker's metric families (issue 18 × issue 16): the scrape of a server whose process has
// a broker says whether Redis is up, since when it is down, and counts publishes, messages
// from other publishers (projected without JS or handed to JS), drops and reconnects, checked
// against what the test did. A real redis-server, started and killed by the test; scrapes
// parsed with a real Prometheus text parser.
const test = require('node:test');
const assert = require('node:assert/strict');
const { GraphQLSchema, GraphQLObjectType, GraphQLString, GraphQLInt, GraphQLNonNull } = require('graphql');
const { useServer, PubSub } = require('..');
const { eventually } = require('./helpers');
const { parseScrape, value, subscriber } = require('./metrics-helpers');
const { SKIP, startRedis } = require('./redis');

test('broker families: up, publishes, messages projected and to JS, drops, an outage and the reconnect', { skip: SKIP }, async (t) => {
  const redis = await startRedis(t);
  const broker = { url: redis.url, prefix: 'm:', reconnect: { minDelay: 50, maxDelay: 200 } };
  const pubsub = new PubSub({ broker });
  const Tick = new GraphQLObjectType({ name: 'Tick', fields: { seq: { type: new GraphQLNonNull(GraphQLInt) } } });
  const schema = new GraphQLSchema({
    query: new GraphQLObjectType({ name: 'Query', fields: { hello: { type: GraphQLString } } }),
    subscription: new GraphQLObjectType({
      name: 'Subscription',
      fields: { tick: { type: Tick, subscribe: () => pubsub.asyncIterableIterator('ticks') } },
    }),
  });
  const warnings = [];
  const onWarning = (/** @type {any} */ w) => warnings.push(w.code);
  process.on('warning', onWarning);
  t.after(() => process.off('warning', onWarning));
  const server = useServer({ schema, broker }, { port: 0, path: '/' }, 0);
  t.after(() => server.dispose());
  const scrape = () => parseScrape(server.metrics());

  const c = subscriber(`ws://127.0.0.1:${server.address().port}/`, 'subscription { tick { seq } }');
  t.after(() => c.ws.terminate());
  await eventually(() => redis.numsub('m:ticks') === 1, 5000, 'the topic subscribed on Redis');
  let fams = scrape();
  assert.equal(value(fams, 'subwire_broker_up'), 1);
  assert.equal(value(fams, 'subwire_broker_state', { state: 'up' }), 1);
  assert.equal(value(fams, 'subwire_broker_state', { state: 'down' }), 0);
  assert.equal(value(fams, 'subwire_broker_outage_seconds'), 0);
  assert.equal(value(fams, 'subwire_broker_topics_subscribed'), 1);

  // 3 publishes of this process (delivered locally, echoes dropped), 2 from another publisher
  // (projected without JS), 1 not JSON (dropped, reported)
  for (let seq = 1; seq <= 3; seq++) await server.publish('ticks', { tick: { seq } });
  redis.cli('PUBLISH', 'm:ticks', '{"tick":{"seq":4}}');
  redis.cli('PUBLISH', 'm:ticks', '{"tick":{"seq":5}}');
  redis.cli('PUBLISH', 'm:ticks', 'not json');
  await eventually(() => c.data.length === 5, 5000, 'five events');
  assert.deepEqual(c.data.map((d) => d.tick.seq), [1, 2, 3, 4, 5]);
  await eventually(() => value(scrape(), 'subwire_broker_messages_dropped_total', { reason: 'bad_json' }) === 1, 5000, 'the bad message counted');
  fams = scrape();
  assert.equal(value(fams, 'subwire_broker_publishes_total'), 3);
  assert.equal(value(fams, 'subwire_broker_publish_failures_total'), 0);
  assert.equal(value(fams, 'subwire_broker_messages_received_total'), 3, 'the other publisher\'s three; the own three came back as echoes and are not counted');
  assert.equal(value(fams, 'subwire_broker_messages_projected_total'), 2);
  assert.equal(value(fams, 'subwire_broker_messages_to_js_total'), 1, 'the text that is not JSON went to JS, which found it so');
  assert.equal(value(fams, 'subwire_broker_reconnects_total'), 0);

  // An outage: down, for how long, a publish that fails; then back up with one reconnect.
  await redis.kill();
  await eventually(() => value(scrape(), 'subwire_broker_up') === 0, 10_000, 'the broker down');
  await assert.rejects(server.publish('ticks', { tick: { seq: 6 } }), { code: 'ERR_SUBWIRE_BROKER_DOWN' });
  await new Promise((r) => setTimeout(r, 300));
  fams = scrape();
  assert.equal(value(fams, 'subwire_broker_state', { state: 'down' }) + value(fams, 'subwire_broker_state', { state: 'connecting' }), 1);
  assert.ok(value(fams, 'subwire_broker_outage_seconds') >= 0.25, 'the outage has lasted at least the wait');
  assert.equal(value(fams, 'subwire_broker_publish_failures_total'), 1);
  await redis.start();
  await eventually(() => value(scrape(), 'subwire_broker_up') === 1, 15_000, 'the broker up again');
  fams = scrape();
  assert.equal(value(fams, 'subwire_broker_reconnects_total'), 1);
  assert.equal(value(fams, 'subwire_broker_outage_seconds'), 0);
  assert.ok(warnings.includes('ERR_SUBWIRE_BROKER_DOWN'), 'the outage was reported');
});
