'use strict';
// server.metrics(): the scrape, parsed by a real Prometheus text parser, says what the test
// did — connections open, subscriptions by path, events delivered, one fan-out sample per
// hub event, each close counted once under its code, each refusal under its status.
const test = require('node:test');
const assert = require('node:assert/strict');
const { GraphQLSchema, GraphQLObjectType, GraphQLString, GraphQLInt, GraphQLNonNull } = require('graphql');
const { useServer, PubSub, publish, METRICS_CONTENT_TYPE } = require('..');
const { connect, upgradeRequest, clientFrame, closePayload, eventually } = require('./helpers');
const { parseScrape, value, histogram, subscriber } = require('./metrics-helpers');

const pubsub = new PubSub();
const Tick = new GraphQLObjectType({ name: 'Tick', fields: { seq: { type: GraphQLInt }, body: { type: GraphQLString } } });
const topicArg = { topic: { type: new GraphQLNonNull(GraphQLString) } };
const schema = new GraphQLSchema({
  query: new GraphQLObjectType({ name: 'Query', fields: { hello: { type: GraphQLString } } }),
  subscription: new GraphQLObjectType({
    name: 'Subscription',
    fields: {
      // graphql-js's default resolvers only: projected (Rust writes each result)
      raw: { type: Tick, args: topicArg, subscribe: (_r, { topic }) => pubsub.asyncIterableIterator(topic) },
      // a resolver of its own: executed by graphql-js, per subscriber unless shared
      tick: { type: Tick, args: topicArg, subscribe: (_r, { topic }) => pubsub.asyncIterableIterator(topic), resolve: (p) => p },
    },
  }),
});
const RAW = 'subscription ($topic: String!) { raw(topic: $topic) { seq } }';
const TICK = 'subscription ($topic: String!) { tick(topic: $topic) { seq } }';
const SHARED = 'subscription Shared($topic: String!) { tick(topic: $topic) { seq } }';
// Shared when the operation is named Shared: one execution per event for all of them.
const shareKey = (_ctx, msg) => (msg.operationName === 'Shared' || /Shared/.test(msg.query) ? 'all' : undefined);

const scrape = (server) => parseScrape(server.metrics());

test('a scrape counts connections, subscriptions by path, deliveries and one fan-out sample per hub event', async (t) => {
  const server = useServer({ schema, shareKey }, { port: 0, path: '/graphql' }, 0);
  t.after(() => server.dispose());
  const url = `ws://127.0.0.1:${server.address().port}/graphql`;
  const publishesBefore = value(scrape(server), 'subwire_publishes_total');
  const clients = [
    ...Array.from({ length: 6 }, () => subscriber(url, RAW, { topic: 'p' })),
    ...Array.from({ length: 4 }, () => subscriber(url, SHARED, { topic: 's' })),
    ...Array.from({ length: 3 }, () => subscriber(url, TICK, { topic: 'e' })),
  ];
  t.after(() => clients.forEach((c) => c.ws.terminate()));
  await eventually(() => server.stats().subscriptions === 13, 5000, '13 live subscriptions');
  await eventually(() => server.stats().triggerSubscriptions === 10, 5000, 'the hub has the projected and shared ones');

  let fams = scrape(server);
  assert.equal(value(fams, 'subwire_connections_open'), 13);
  assert.equal(value(fams, 'subwire_connections_accepted_total'), 13);
  assert.equal(value(fams, 'subwire_upgrades_total'), 13);
  assert.equal(value(fams, 'subwire_subscriptions_active', { path: 'projected' }), 6);
  assert.equal(value(fams, 'subwire_subscriptions_active', { path: 'shared' }), 4);
  assert.equal(value(fams, 'subwire_subscriptions_active', { path: 'executed' }), 3);
  assert.equal(value(fams, 'subwire_hub_subscriptions'), 10);
  assert.equal(value(fams, 'subwire_reactor_connections_open'), 13, 'summed over reactors');
  assert.ok(value(fams, 'subwire_process_open_fds') >= 13 * 2, 'both ends of each connection are in this process');
  assert.ok(value(fams, 'subwire_process_max_fds') >= value(fams, 'subwire_process_open_fds'));
  assert.ok(value(fams, 'subwire_topics') >= 3);
  assert.equal(histogram(fams, 'subwire_fanout_duration_seconds').count, 0, 'nothing published yet');
  const delivered0 = value(fams, 'subwire_events_delivered_total');
  assert.equal(delivered0, 0);

  const M = 7;
  for (let seq = 1; seq <= M; seq++) {
    publish('p', { raw: { seq } });
    publish('s', { seq });
    publish('e', { seq });
  }
  await eventually(() => clients.every((c) => c.data.length === M), 10000, 'every client got every event');
  for (const c of clients) assert.deepEqual(c.data.map((d) => Object.values(d)[0].seq), [1, 2, 3, 4, 5, 6, 7]);

  fams = scrape(server);
  assert.equal(value(fams, 'subwire_events_delivered_total'), M * clients.length);
  assert.equal(value(fams, 'subwire_publishes_total') - publishesBefore, 3 * M);
  // Hub events: each publish on `p` is one projected update, each on `s` one shared one;
  // the executed subscribers' results go through their sessions, not the hub.
  assert.equal(value(fams, 'subwire_trigger_updates_total'), 2 * M);
  const fanout = histogram(fams, 'subwire_fanout_duration_seconds');
  assert.equal(fanout.count, 2 * M, 'one sample per hub event');
  assert.ok(fanout.sum > 0 && fanout.sum < 2 * M * 5, `plausible total: ${fanout.sum} s`);
  assert.equal(fanout.buckets.get('+Inf'), 2 * M);
  const sizes = histogram(fams, 'subwire_fanout_subscribers');
  assert.equal(sizes.count, 2 * M);
  assert.equal(sizes.sum, M * 6 + M * 4, 'each event counted its subscribers');
  assert.equal(sizes.buckets.get('4'), M, 'the shared events reached 4');
  assert.equal(sizes.buckets.get('16'), 2 * M);
  assert.ok(value(fams, 'subwire_bytes_sent_total') > 0);
  assert.ok(value(fams, 'subwire_bytes_received_total') > 0);
  assert.equal(value(fams, 'subwire_queued_bytes'), 0);
  assert.ok(histogram(fams, 'subwire_reactor_turn_duration_seconds').count > 0);
  assert.ok(value(fams, 'subwire_reactor_busy_seconds_total') > 0);
  assert.equal(typeof METRICS_CONTENT_TYPE, 'string');
});

/** Waits until the scrape's closes add up to `n`; returns them by code. @param {any} server @param {number} n */
async function closesBy(server, n) {
  let by = {};
  await eventually(() => {
    const f = scrape(server).get('subwire_closes_total');
    by = Object.fromEntries(f.metrics.filter((m) => Number(m.value) > 0).map((m) => [m.labels.code, Number(m.value)]));
    return Object.values(by).reduce((a, b) => a + b, 0) >= n;
  }, 10000, `${n} closes counted`);
  return by;
}

test('each close is counted once under its code, whoever closed; refusals by status; handshake timeouts', async (t) => {
  const cap = 64 * 1024;
  const server = useServer(
    { schema, shareKey, maxBufferedBytes: cap, connectionInitWaitTimeout: 300, handshakeTimeout: 300, closeTimeout: 300 },
    { port: 0, path: '/graphql' },
    0,
  );
  t.after(() => server.dispose());
  const port = server.address().port;
  const url = `ws://127.0.0.1:${port}/graphql`;
  const sent = (c) => new Promise((r) => (c.ws.readyState === 1 ? r() : c.ws.once('open', r)));
  /** A raw socket upgraded with the graphql-transport-ws subprotocol (else the session closes 4406). */
  const gql = async () => {
    const p = await connect(port);
    p.write(upgradeRequest({ path: '/graphql', headers: { 'Sec-WebSocket-Protocol': 'graphql-transport-ws' } }));
    assert.equal((await p.response()).status, 101);
    return p;
  };

  // 1000: the client closes normally.
  const normal = subscriber(url, RAW, { topic: 'c' });
  await eventually(() => normal.acked, 5000, 'acknowledged');
  normal.ws.close(1000);
  // 4400: a message graphql-ws cannot read.
  const bad = subscriber(url, RAW, { topic: 'c' });
  await sent(bad);
  bad.ws.send('{"type":"no such type"}');
  // 4408: no connection_init in time.
  const WebSocket = require('ws');
  const silent = new WebSocket(url, 'graphql-transport-ws');
  silent.on('error', () => {});
  // 1002: an unmasked client frame; 1005: a close frame without a code; 4999: a peer's own code.
  const unmasked = await gql();
  unmasked.write(clientFrame({ payload: 'x', mask: false }));
  assert.equal((await unmasked.closeFrame()).code, 1002);
  unmasked.destroy(); // (hanging up ends its linger before the close timeout)
  const empty = await gql();
  empty.write(clientFrame({ opcode: 8 }));
  const own = await gql();
  own.write(clientFrame({ opcode: 8, payload: closePayload(4999, 'mine') }));
  // 1006: the TCP connection drops without a close frame.
  const dropped = await gql();
  dropped.destroy();
  let by = await closesBy(server, 7);
  assert.deepEqual(by, { 1000: 1, 1002: 1, 1005: 1, 1006: 1, 4400: 1, 4408: 1, other: 1 });
  for (const p of [empty, own]) p.destroy();

  // 1008: a subscriber that stops reading falls more than maxBufferedBytes behind.
  const slow = subscriber(url, 'subscription Shared($topic: String!) { tick(topic: $topic) { seq body } }', { topic: 'slow' });
  t.after(() => slow.ws.terminate());
  await eventually(() => server.stats().triggerSubscriptions === 1, 5000, 'the slow one subscribed');
  slow.ws._socket.pause();
  const body = 'b'.repeat(256 * 1024);
  let seq = 0;
  const t0 = Date.now();
  while (server.stats().slowConsumers === 0 && seq < 2000) {
    publish('slow', { seq: seq++, body });
    await new Promise((r) => setImmediate(r));
  }
  t.diagnostic(`cut after ${seq} events of 256 KiB, ${Date.now() - t0} ms`);
  by = await closesBy(server, 8);
  assert.deepEqual(by, { 1000: 1, 1002: 1, 1005: 1, 1006: 1, 1008: 1, 4400: 1, 4408: 1, other: 1 });
  let fams = scrape(server);
  assert.equal(value(fams, 'subwire_slow_consumers_total'), 1);
  // Each connection ended once: the closes add up to the upgrades.
  assert.equal(value(fams, 'subwire_upgrades_total'), 8);
  // The slow one never reads its close frame: the close timeout drops it.
  const tw = Date.now();
  await eventually(() => server.stats().open === 0, 10000, 'every connection gone');
  t.diagnostic(`gone after ${Date.now() - tw} ms; slow saw ${JSON.stringify(slow.close)} ${slow.ws._socket.destroyed}`);
  assert.equal(value(scrape(server), 'subwire_close_timeouts_total'), 1);

  // Refusals by status, and a handshake that never completes.
  const ask = async (raw) => {
    const p = await connect(port);
    p.write(raw);
    const res = await p.response();
    p.destroy();
    return res.status;
  };
  assert.equal(await ask(upgradeRequest({ path: '/elsewhere' })), 404);
  assert.equal(await ask(upgradeRequest({ path: '/graphql', headers: { 'Sec-WebSocket-Version': '8' } })), 426);
  assert.equal(await ask(upgradeRequest({ path: '/graphql', headers: { 'Sec-WebSocket-Version': '8' } })), 426);
  assert.equal(await ask(upgradeRequest({ method: 'POST', path: '/graphql' })), 405);
  const partial = await connect(port);
  partial.write('GET /graphql HTTP/1.1\r\nHost: x\r\n');
  await partial.waitEnd(5000);
  fams = scrape(server);
  const rejections = Object.fromEntries(fams.get('subwire_upgrade_rejections_total').metrics.map((m) => [m.labels.status, Number(m.value)]));
  assert.deepEqual(rejections, { 400: 0, 403: 0, 404: 1, 405: 1, 426: 2, 431: 0, 503: 0 });
  assert.equal(value(fams, 'subwire_handshake_timeouts_total'), 1);
  assert.equal(value(fams, 'subwire_upgrades_total'), 8, 'refusals are not upgrades');
  assert.equal(value(fams, 'subwire_connections_accepted_total'), 8 + 4 + 1);
  const closes = fams.get('subwire_closes_total').metrics.reduce((a, m) => a + Number(m.value), 0);
  assert.equal(closes, 8, 'refused and timed-out handshakes are not closes');
});

test('an operation error is counted; dispose makes metrics() throw ERR_SUBWIRE_DISPOSED', async () => {
  const server = useServer({ schema }, { port: 0, path: '/graphql' }, 0);
  const url = `ws://127.0.0.1:${server.address().port}/graphql`;
  const c = subscriber(url, 'subscription { nope }');
  await eventually(() => c.errors.length === 1, 5000, 'the validation error');
  assert.equal(value(scrape(server), 'subwire_operation_errors_total'), 1);
  c.ws.terminate();
  await server.dispose();
  assert.throws(() => server.metrics(), { code: 'ERR_SUBWIRE_DISPOSED' });
});

test("listen()'s bare listener has the Rust families: a close in echo mode counts too", async (t) => {
  const { listen } = require('..');
  const server = listen({ port: 0 });
  t.after(() => server.dispose());
  const { upgraded: up } = require('./helpers');
  const p = await up(server.address().port);
  p.write(clientFrame({ opcode: 8, payload: closePayload(1000) }));
  await p.closeFrame();
  p.destroy();
  await eventually(() => value(parseScrape(server.metrics()), 'subwire_closes_total', { code: '1000' }) === 1, 5000, 'the close');
  const fams = parseScrape(server.metrics());
  assert.ok(!fams.has('subwire_subscriptions_active'), 'no GraphQL core here');
  assert.equal(value(fams, 'subwire_upgrades_total'), 1);
  assert.deepEqual(server.metricFamilies().find((f) => f.name === 'subwire_closes_total')?.labelNames, ['code']);
});
