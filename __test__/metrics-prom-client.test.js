'use strict';
// subwire's metrics in an app's prom-client registry (prom-client is an optional peer; a
// devDependency here): a real Registry renders them beside the app's own with the values
// server.metrics() shows, in both of its formats; and the renderer's escaping, checked by a
// real parser.
const test = require('node:test');
const assert = require('node:assert/strict');
const client = require('prom-client');
const { buildSchema } = require('graphql');
const { useServer, registerMetrics, PubSub } = require('..');
const { render } = require('../lib/metrics.js');
const { eventually } = require('./helpers');
const { parseScrape, value, histogram, subscriber } = require('./metrics-helpers');

const pubsub = new PubSub();
const schema = buildSchema('type Query { a: Int } type Tick { seq: Int } type Subscription { tick: Tick }');
const roots = { subscription: { tick: () => pubsub.asyncIterableIterator('prom') } };

test("prom-client's registry serves subwire's families beside the app's, with the server's values", async (t) => {
  const server = useServer({ schema, roots }, { port: 0, path: '/graphql' }, 0);
  t.after(() => server.dispose());
  const registry = new client.Registry();
  client.collectDefaultMetrics({ register: registry }); // process_* names: no clash with subwire_*
  const requests = new client.Counter({ name: 'app_requests_total', help: 'the app own', registers: [registry] });
  requests.inc(5);
  const unregister = registerMetrics(server, registry);
  assert.throws(() => registerMetrics(server, registry), /already been registered/, 'a name is registered once');

  const url = `ws://127.0.0.1:${server.address().port}/graphql`;
  const clients = [1, 2, 3].map(() => subscriber(url, 'subscription { tick { seq } }'));
  t.after(() => clients.forEach((c) => c.ws.terminate()));
  await eventually(() => server.stats().triggerSubscriptions === 3, 5000, 'three subscribed');
  for (let seq = 1; seq <= 4; seq++) pubsub.publish('prom', { tick: { seq } });
  await eventually(() => clients.every((c) => c.data.length === 4), 5000, 'all delivered');

  const ours = parseScrape(server.metrics());
  const theirs = parseScrape(await registry.metrics());
  assert.equal(value(theirs, 'app_requests_total'), 5);
  assert.ok(theirs.has('process_cpu_user_seconds_total'), "prom-client's default metrics are there");
  const subwire = [...ours.keys()];
  assert.ok(subwire.length >= 30, `${subwire.length} families`);
  for (const name of subwire) {
    const a = ours.get(name);
    const b = theirs.get(name);
    assert.ok(b, `${name} is in the registry`);
    assert.equal(b.type, a.type, name);
    assert.equal(b.help, a.help, name);
    if (/busy|turn|fds|bytes_received|bridge/.test(name)) continue; // (moved between the two reads)
    assert.deepEqual(b.metrics, a.metrics, name);
  }
  assert.equal(value(theirs, 'subwire_events_delivered_total'), 12);
  assert.equal(histogram(theirs, 'subwire_fanout_duration_seconds').count, 4);

  // JSON, as prom-client's cluster aggregation reads it.
  const json = await registry.getMetricsAsJSON();
  const open = json.find((m) => m.name === 'subwire_connections_open');
  assert.deepEqual(open.values.map((v) => v.value), [3]);

  // OpenMetrics: prom-client renames counters to add `_total` itself; it is not doubled.
  const om = new client.Registry(client.Registry.OPENMETRICS_CONTENT_TYPE);
  registerMetrics(server, om);
  const text = await om.metrics();
  assert.match(text, /^subwire_upgrades_total 3$/m);
  assert.match(text, /^# TYPE subwire_upgrades counter$/m);
  assert.doesNotMatch(text, /_total_total/);
  assert.match(text, /^subwire_fanout_duration_seconds_count 4$/m);

  unregister();
  assert.ok(!parseScrape(await registry.metrics()).has('subwire_connections_open'), 'removed again');
  assert.equal(value(parseScrape(await registry.metrics()), 'app_requests_total'), 5);

  // After dispose the families scrape as empty instead of breaking the app's /metrics.
  registerMetrics(server, registry);
  await server.dispose();
  const after = parseScrape(await registry.metrics());
  assert.deepEqual(after.get('subwire_connections_open')?.metrics ?? [], []);
  assert.equal(value(after, 'app_requests_total'), 5);
});

test('the renderer escapes help and label values and writes special numbers as the format says', () => {
  const text = render([
    { name: 'x_total', help: 'back\\slash\nnew line', type: 'counter', labelNames: ['l'], bounds: [], samples: [{ labels: ['q"uote\\ and\nline'], value: 3 }] },
    { name: 'x_total', help: 'a second family of the same name is dropped', type: 'counter', labelNames: [], bounds: [], samples: [{ labels: [], value: 9 }] },
    { name: 'y', help: 'gauge', type: 'gauge', labelNames: [], bounds: [], samples: [{ labels: [], value: NaN }] },
    { name: 'z', help: 'gauge', type: 'gauge', labelNames: [], bounds: [], samples: [{ labels: [], value: -Infinity }] },
    { name: 'h_seconds', help: 'h', type: 'histogram', labelNames: [], bounds: [0.0001, 1], samples: [{ labels: [], value: 3, buckets: [1, 2], sum: 2.5 }] },
  ]);
  const fams = parseScrape(text);
  const x = fams.get('x_total');
  assert.equal(x.help, 'back\\slash\nnew line');
  assert.equal(x.metrics.length, 1);
  assert.deepEqual(x.metrics[0], { value: '3', labels: { l: 'q"uote\\ and\nline' } });
  assert.equal(fams.get('y').metrics[0].value, 'NaN');
  assert.equal(fams.get('z').metrics[0].value, '-Inf');
  assert.deepEqual(fams.get('h_seconds').metrics[0], { buckets: { 0.0001: '1', 1: '2', '+Inf': '3' }, sum: '2.5', count: '3' });
  assert.match(text, /^h_seconds_bucket\{le="0.0001"\} 1$/m);
});
