'use strict';
// Scale-out in one process, against a real redis-server: the broker option, messages from a
// foreign publisher (redis-cli) to projected subscriptions without JS, to JS listeners once,
// order across the fallback to graphql-js, bad messages, refused publishes, UNSUBSCRIBE.
// (One broker per process: this file's process has one; fleets are in broker-fleet.test.js.)
const test = require('node:test');
const assert = require('node:assert/strict');
const { spawn, spawnSync } = require('node:child_process');
const WebSocket = require('ws');
const { buildSchema } = require('graphql');
const { createClient } = require('graphql-ws');
const { useServer, PubSub, createPubSub, publish, brokerStats } = require('..');
const { eventually } = require('./helpers');
const { SKIP, startRedis } = require('./redis');

const schema = buildSchema(`
  type Query { a: Int }
  enum Mood { HAPPY SAD }
  type Tick { seq: Int!, label: String, score: Float, mood: Mood, id: ID }
  type Subscription { tick(topic: String!): Tick, computed(topic: String!): Tick }
`);
const pubsub = new PubSub();
const roots = {
  subscription: {
    tick: ({ topic }) => pubsub.asyncIterableIterator(topic),
    computed: ({ topic }) => pubsub.asyncIterableIterator(topic),
  },
};
// app code resolves `computed`: never projected, served by the JS listener path
schema.getSubscriptionType().getFields().computed.resolve = (p) => p.tick;

const TICK = 'subscription ($t: String!) { tick(topic: $t) { seq label score mood id } }';
const COMPUTED = 'subscription ($t: String!) { computed(topic: $t) { seq label } }';

/** @type {Awaited<ReturnType<typeof startRedis>>} */
let redis;
/** @type {(Error & { code: string })[]} */
const errors = [];
const MAX = 4096;

test.before(async () => {
  if (!SKIP) redis = await startRedis(null);
});

test('broker options are checked before anything binds', { skip: SKIP }, async () => {
  const bad = { code: 'ERR_SUBWIRE_INVALID_OPTION' };
  const opts = (broker) => useServer({ schema, roots, broker }, { port: 0 }, 0);
  assert.throws(() => opts('redis://x'), bad);
  assert.throws(() => opts({ url: 'http://127.0.0.1:6379' }), bad);
  assert.throws(() => opts({ url: 'redis://127.0.0.1:notaport' }), bad);
  assert.throws(() => opts({ url: 'redis://127.0.0.1', prefix: 1 }), bad);
  assert.throws(() => opts({ url: 'redis://127.0.0.1', maxPayload: 0 }), bad);
  assert.throws(() => new PubSub({ broker: { url: '' } }), bad);
  assert.equal(brokerStats(), null, 'nothing configured by a failed call');
  const broker = { url: redis.url, prefix: 'app:', maxPayload: MAX, onError: (e) => errors.push(e) };
  const server = useServer({ schema, roots, broker }, { port: 0 }, 0);
  // The same broker again is fine, wherever it is configured; a different one throws.
  new PubSub({ broker: { url: redis.url, prefix: 'app:', maxPayload: MAX } });
  createPubSub({ broker: { url: redis.url, prefix: 'app:', maxPayload: MAX } });
  assert.throws(() => new PubSub({ broker: { url: redis.url, prefix: 'other:', maxPayload: MAX } }), (e) => e.code === 'ERR_SUBWIRE_INVALID_OPTION' && /already has a broker/.test(e.message));
  assert.throws(() => new PubSub({ broker: { url: 'redis://127.0.0.1:1', prefix: 'app:', maxPayload: MAX } }), bad);
  assert.throws(() => opts({ url: redis.url }), bad, 'a different prefix');
  await eventually(() => brokerStats()?.state === 'up', 10_000, 'the broker to connect');
  assert.equal(server.stats().broker?.prefix, 'app:');
  await server.dispose();
});

/** A useServer with the process's broker, and graphql-ws clients on it. @param {import('node:test').TestContext} t */
function setup(t, options = {}) {
  const broker = { url: redis.url, prefix: 'app:', maxPayload: MAX, onError: (/** @type {any} */ e) => errors.push(e) };
  const server = useServer({ schema, roots, broker, ...options }, { port: 0 }, 0);
  const url = `ws://127.0.0.1:${server.address().port}/`;
  const clients = [];
  t.after(async () => {
    for (const c of clients) await c.dispose();
    await server.dispose();
  });
  /** Subscribes a new client; `got` fills with its results. @param {string} query @param {string} topic */
  const subscribe = (query, topic) => {
    const c = createClient({ url, webSocketImpl: WebSocket, retryAttempts: 0, lazy: false, onNonLazyError: () => {} });
    clients.push(c);
    const got = [];
    c.subscribe({ query, variables: { t: topic } }, { next: (r) => got.push(r), error: (e) => got.push({ clientError: String(e) }), complete() {} });
    return got;
  };
  return { server, subscribe };
}

/** Publishes every JSON text on `channel` from one redis-cli (a foreign publisher), in order. */
function cliPublish(channel, texts) {
  // (in redis-cli's single quotes only \' is an escape)
  const input = texts.map((x) => `PUBLISH ${channel} '${x.replace(/'/g, "\\'")}'\n`).join('');
  const out = spawnSync('redis-cli', ['-p', String(redis.port)], { input, encoding: 'utf8' });
  assert.equal(out.status, 0, out.stderr);
}

const waitSubscribed = (channel, n = 1) => eventually(() => redis.numsub(channel) === n, 10_000, `${n} subscriber(s) of ${channel}`);

test('redis-cli PUBLISH reaches projected subscribers without entering JS', { skip: SKIP }, async (t) => {
  const { server, subscribe } = setup(t);
  const got = Array.from({ length: 20 }, () => subscribe(TICK, 'fast'));
  await eventually(() => server.stats().triggerSubscriptions === 20, 10_000, 'subscribers in the hub');
  await waitSubscribed('app:fast');
  const before = /** @type {import('..').BrokerStats} */ (brokerStats());
  const N = 50;
  cliPublish('app:fast', Array.from({ length: N }, (_, i) => JSON.stringify({ tick: { seq: i, label: `é${i}`, score: i / 2, mood: 'HAPPY' } })));
  const want = Array.from({ length: N }, (_, i) => ({ data: { tick: { seq: i, label: `é${i}`, score: i / 2, mood: 'HAPPY', id: null } } }));
  await eventually(() => got.every((g) => g.length === N), 10_000, 'every event at every client');
  for (const g of got) assert.deepEqual(g, want);
  const after = /** @type {import('..').BrokerStats} */ (brokerStats());
  assert.equal(after.toJs - before.toJs, 0, 'no message crossed into JS');
  assert.equal(after.projected - before.projected, N, 'one projection per message for the one trigger');
  assert.equal(server.stats().projectionFallbacks, 0);
});

test('order across the fallback to graphql-js: results equal a projection-off server, in publish order', { skip: SKIP }, async (t) => {
  const fast = setup(t);
  const reference = setup(t, { projection: false });
  const a = fast.subscribe(TICK, 'mixed');
  const b = reference.subscribe(TICK, 'mixed');
  await eventually(() => fast.server.stats().triggerSubscriptions === 1 && reference.server.stats().subscriptions === 1, 10_000, 'subscribed');
  await waitSubscribed('app:mixed');
  const texts = [
    '{"tick":{"seq":1}}',
    '{"tick":{"seq":null}}', // a null in a non-null field: graphql-js's error result
    '{"tick":{"seq":2}}', // projectable, must not overtake the one before
    '{"tick":{"seq":3,"score":1.50,"label":"\\u0041\\/"}}', // not JSON.stringify's text
    '{"tick":{"seq":"4"}}', // a string for an Int: graphql-js's error
    '{"tick":{"seq":5,"mood":"\\u0053AD","id":7}}',
    '{"tick":{"seq":6,"score":1e400}}', // Infinity in JS: graphql-js's error
    '{"tick":{"seq":7,"score":1e21}}',
    ...Array.from({ length: 20 }, (_, i) => `{"tick":{"seq":${8 + i}${i % 3 ? '' : ',"mood":"NOPE"'}}}`),
  ];
  cliPublish('app:mixed', texts);
  await eventually(() => a.length === texts.length && b.length === texts.length, 10_000, 'every event at both');
  assert.deepEqual(a, b, 'the projected path gives what graphql-js gives, in the same order');
  assert.deepEqual(a[0], { data: { tick: { seq: 1, label: null, score: null, mood: null, id: null } } });
  assert.equal(a[1].errors?.[0]?.message, 'Cannot return null for non-nullable field Tick.seq.');
  assert.deepEqual(a[3].data, { tick: { seq: 3, label: 'A/', score: 1.5, mood: null, id: null } });
  assert.ok(fast.server.stats().projectionFallbacks > 0);
});

test('JS listeners get each message once; a local publish is delivered here once and reaches Redis', { skip: SKIP }, async (t) => {
  const { server, subscribe } = setup(t, { shareKey: (_ctx, msg) => (msg.query.includes('shared') ? 'all' : undefined) });
  const computed = subscribe(COMPUTED, 'js');
  const shared = subscribe(`${COMPUTED} # shared`, 'js');
  const raw = [];
  const id = await pubsub.subscribe('js', (p) => raw.push(p));
  t.after(() => pubsub.unsubscribe(id));
  await eventually(() => server.stats().subscriptions === 2, 10_000, 'subscribed');
  await waitSubscribed('app:js');
  const { Redis } = require('ioredis');
  const sub = new Redis(redis.port, '127.0.0.1');
  t.after(() => sub.disconnect());
  const seen = [];
  sub.on('message', (channel, message) => seen.push([channel, message]));
  await sub.subscribe('app:js');
  cliPublish('app:js', ['{"tick":{"seq":1,"label":"cli"}}']);
  // (two publishers: no order between them; this one goes once the first arrived)
  await eventually(() => computed.length === 1 && shared.length === 1 && raw.length === 1, 10_000, 'the first event');
  await server.publish('js', { tick: { seq: 2, label: 'local' } });
  await eventually(() => computed.length === 2 && shared.length === 2 && raw.length === 2 && seen.length === 2, 10_000, 'both events everywhere');
  await new Promise((r) => setTimeout(r, 200));
  const want = [{ data: { computed: { seq: 1, label: 'cli' } } }, { data: { computed: { seq: 2, label: 'local' } } }];
  assert.deepEqual(computed, want);
  assert.deepEqual(shared, want);
  assert.deepEqual(raw, [{ tick: { seq: 1, label: 'cli' } }, { tick: { seq: 2, label: 'local' } }]);
  assert.deepEqual(seen[1], ['app:js', '{"tick":{"seq":2,"label":"local"}}'], 'channel = prefix + topic, message = the JSON text');
  assert.ok(/** @type {any} */ (brokerStats()).echoesDropped >= 1, 'the own publish came back and was dropped');
});

test('bad messages are counted and reported once per topic; other topics keep flowing', { skip: SKIP }, async (t) => {
  const { server, subscribe } = setup(t);
  const badGot = subscribe(TICK, 'bad');
  const goodGot = subscribe(TICK, 'good');
  const raw = [];
  const id = await pubsub.subscribe('bad', (p) => raw.push(p));
  t.after(() => pubsub.unsubscribe(id));
  await eventually(() => server.stats().triggerSubscriptions === 2, 10_000, 'subscribed');
  await waitSubscribed('app:bad');
  await waitSubscribed('app:good');
  const before = /** @type {import('..').BrokerStats} */ (brokerStats());
  errors.length = 0;
  const huge = JSON.stringify({ tick: { seq: 0, label: 'x'.repeat(MAX) } });
  for (let round = 0; round < 2; round++) {
    cliPublish('app:bad', ['{"tick":', 'null', '[1,2]', '"text"', huge, '{"tick":{"seq":1}}']);
    cliPublish('app:good', [`{"tick":{"seq":${round}}}`]);
  }
  await eventually(() => goodGot.length === 2 && badGot.length === 2, 10_000, 'the good events');
  assert.deepEqual(goodGot.map((r) => r.data.tick.seq), [0, 1]);
  assert.deepEqual(badGot.map((r) => r.data.tick.seq), [1, 1]);
  assert.equal(raw.length, 2, 'listeners got the good ones only');
  const after = /** @type {import('..').BrokerStats} */ (brokerStats());
  assert.equal(after.badJson - before.badJson, 2);
  assert.equal(after.notObject - before.notObject, 6);
  assert.equal(after.oversized - before.oversized, 2);
  await eventually(() => errors.length >= 3, 5000, 'the reports');
  await new Promise((r) => setTimeout(r, 200));
  const messages = errors.map((e) => `${e.code} ${e.message}`);
  assert.equal(errors.length, 3, `once per topic and reason: ${messages.join('\n')}`);
  for (const e of errors) assert.equal(e.code, 'ERR_SUBWIRE_BROKER_MESSAGE');
  assert.ok(messages.some((m) => /not JSON/.test(m)) && messages.some((m) => /not a JSON object/.test(m)) && messages.some((m) => /bigger than/.test(m)), messages.join('\n'));
});

test('a payload that cannot cross the broker: the promise rejects coded, local subscribers got it', { skip: SKIP }, async (t) => {
  const got = [];
  const id = await pubsub.subscribe('refused', (p) => got.push(p));
  t.after(() => pubsub.unsubscribe(id));
  const cycle = {};
  cycle.self = cycle;
  const code = { code: 'ERR_SUBWIRE_BROKER_MESSAGE' };
  await assert.rejects(pubsub.publish('refused', { n: 1n }), code);
  await assert.rejects(publish('refused', cycle), code);
  await assert.rejects(createPubSub().publish('refused', 5), code);
  await assert.rejects(pubsub.publish('refused', [1]), code);
  await assert.rejects(pubsub.publish('refused', { big: 'x'.repeat(MAX) }), (e) => e.code === 'ERR_SUBWIRE_BROKER_MESSAGE' && /maxPayload/.test(e.message));
  assert.equal(got.length, 5, 'delivered locally all the same');
  // Ignored, it is never an unhandled rejection (which would fail this test file).
  pubsub.publish('refused', 7);
  await pubsub.publish('refused', { ok: true });
});

test('one SUBSCRIBE per topic while it has listeners, UNSUBSCRIBE when the last leaves, through 1→0→1 races', { skip: SKIP }, async () => {
  for (let i = 0; i < 200; i++) {
    const it = pubsub.asyncIterableIterator(['race', `race${i % 3}`]);
    const off = await pubsub.subscribe('race', () => {});
    pubsub.unsubscribe(off);
    await it.return();
  }
  await eventually(() => redis.numsub('app:race') === 0 && redis.numsub('app:race0') === 0, 10_000, 'everything unsubscribed');
  const it = pubsub.asyncIterableIterator('race');
  const it2 = pubsub.asyncIterableIterator('race');
  await waitSubscribed('app:race', 1);
  cliPublish('app:race', ['{"n":1}']);
  assert.deepEqual((await it.next()).value, { n: 1 });
  assert.deepEqual((await it2.next()).value, { n: 1 });
  await it.return();
  await new Promise((r) => setTimeout(r, 100));
  assert.equal(redis.numsub('app:race'), 1, 'one listener left: still subscribed');
  await it2.return();
  await waitSubscribed('app:race', 0);
});

test('the publishes of one JS turn leave as one pipeline: Redis reads a burst at once, subscribers get it whole', { skip: SKIP }, async (t) => {
  const { server } = setup(t);
  const { Redis } = require('ioredis');
  const admin = new Redis(redis.port, '127.0.0.1');
  t.after(() => admin.disconnect());
  // Redis counts its socket reads; when nothing else talks to it, the reads a burst takes.
  const reads = async () => Number(/total_reads_processed:(\d+)/.exec(await admin.info('stats'))?.[1]);
  const R = 20;
  const seen = [];
  for (let b = 0; b < 10; b++) {
    const before = await reads();
    const sent = [];
    for (let i = 0; i < R; i++) sent.push(server.publish('burst', { tick: { seq: b * R + i } }));
    await Promise.all(sent);
    seen.push((await reads()) - before - 1); // (less the INFO's own read)
  }
  // Sent one by one, the first would go alone and the rest once Redis had answered it (two
  // reads at least, every burst). The turn's publishes cross in one call, so each burst is
  // one pipeline; a busy box may still have Redis read one in two pieces now and then.
  assert.ok(seen.filter((n) => n === 1).length >= 8, `Redis reads per burst: ${seen}`);
});

test.after(() => redis?.stop());

test("Redis's client-output-buffer-limit for pubsub never cuts the broker off, even while JS is busy", { skip: SKIP }, async (t) => {
  // A subscriber that lets 64 KiB wait for more than a second is disconnected by Redis.
  redis.cli('CONFIG', 'SET', 'client-output-buffer-limit', 'pubsub 64kb 32kb 1');
  t.after(() => redis.cli('CONFIG', 'SET', 'client-output-buffer-limit', 'pubsub 32mb 8mb 60'));
  const got = [];
  const id = await pubsub.subscribe('flood', (p) => got.push(p.i));
  t.after(() => pubsub.unsubscribe(id));
  await waitSubscribed('app:flood');
  const before = /** @type {import('..').BrokerStats} */ (brokerStats());
  const N = 2000;
  const pad = 'x'.repeat(1000);
  const input = Array.from({ length: N }, (_, i) => `PUBLISH app:flood '{"i":${i},"pad":"${pad}"}'\n`).join('');
  const cli = spawn('redis-cli', ['-p', String(redis.port)], { stdio: ['pipe', 'ignore', 'inherit'] });
  cli.stdin.end(input);
  // JS does not run for 1.5 s while ~2 MB arrive: the broker thread keeps reading.
  const until = Date.now() + 1500;
  while (Date.now() < until);
  await new Promise((r) => cli.on('exit', r));
  await eventually(() => got.length === N, 20_000, 'every message');
  assert.deepEqual(got, Array.from({ length: N }, (_, i) => i));
  const after = /** @type {import('..').BrokerStats} */ (brokerStats());
  assert.equal(after.reconnects, before.reconnects, 'never disconnected');
  assert.equal(after.state, 'up');
});
