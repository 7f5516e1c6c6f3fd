'use strict';
// Several subwire processes on one port, as a fleet on one host runs them: `reusePort: true`
// on subwire's own listener (the kernel spreads connections), and Node's `cluster` with the
// attach mode (the primary accepts, each worker's http.Server hands its upgrades to its own
// subwire). Either way the broker makes them one server: a publish in one process reaches
// the clients of all. Without `reusePort`, the port in use throws ERR_SUBWIRE_ADDR_IN_USE.
const test = require('node:test');
const assert = require('node:assert/strict');
const cluster = require('node:cluster');
const WebSocket = require('ws');
const { buildSchema } = require('graphql');
const { createClient } = require('graphql-ws');
const { useServer } = require('..');
const { eventually } = require('./helpers');
const { SKIP, startRedis, freePort } = require('./redis');
const { SERVER, child, drive } = require('./fleet');

/** `n` clients of `port` subscribed to tick(topic); their results (seq numbers). */
function clients(t, port, n, topic) {
  return Array.from({ length: n }, () => {
    const client = createClient({ url: `ws://127.0.0.1:${port}/graphql`, webSocketImpl: WebSocket, retryAttempts: 0, lazy: false, onNonLazyError: () => {} });
    t.after(() => client.dispose());
    /** @type {number[]} */
    const got = [];
    client.subscribe({ query: `subscription { tick(topic: "${topic}") { seq } }` }, { next: (/** @type {any} */ r) => got.push(r.data.tick.seq), error() {}, complete() {} });
    return got;
  });
}

/** Publishes from `procs[0]` and redis-cli; every client must get both. */
async function publishEverywhere(procs, redis, got, topic) {
  await eventually(async () => {
    const s = await Promise.all(procs.map((p) => p.request({ cmd: 'stats' }, 'stats')));
    return s.reduce((n, x) => n + x.stats.subscriptions, 0) === got.length;
  }, 30_000, 'every client subscribed');
  await eventually(() => redis.numsub(`app:${topic}`) === procs.length, 10_000, 'every process subscribed');
  const r = await procs[0].request({ cmd: 'publish', topic, label: 'A', from: 1, count: 1 }, 'published');
  assert.equal(r.failed, 0);
  redis.cli('PUBLISH', `app:${topic}`, '{"tick":{"seq":2}}');
  await eventually(() => got.every((g) => g.length === 2), 10_000, 'both events at every client');
  for (const g of got) assert.deepEqual(g, [1, 2]);
  const s = await Promise.all(procs.map((p) => p.request({ cmd: 'stats' }, 'stats')));
  return s.map((x) => x.stats.open);
}

test('reusePort: processes share a port, the broker joins them; without reusePort the port is taken', { skip: SKIP, timeout: 120_000 }, async (t) => {
  const redis = await startRedis(t);
  const port = await freePort();
  const procs = ['A', 'B'].map((NAME) => child({ NAME, REDIS_URL: redis.url, PORT: String(port), REUSE: '1' }));
  t.after(() => Promise.all(procs.map((p) => p.stop())));
  for (const p of procs) assert.equal((await p.reply('ready')).port, port);
  const schema = buildSchema('type Query { a: Int }');
  assert.throws(() => useServer({ schema }, { port, host: '127.0.0.1' }, 0), { code: 'ERR_SUBWIRE_ADDR_IN_USE' });
  const got = clients(t, port, 40, 'rp');
  const open = await publishEverywhere(procs, redis, got, 'rp');
  assert.ok(open.every((n) => n > 0), `the kernel spread the connections over both processes (${open})`);
});

test('cluster with the attach mode: each worker serves the upgrades it accepted, the broker joins them', { skip: SKIP, timeout: 120_000 }, async (t) => {
  const redis = await startRedis(t);
  const port = await freePort();
  cluster.setupPrimary({ exec: SERVER, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const procs = ['W1', 'W2'].map((NAME) => drive(cluster.fork({ NAME, REDIS_URL: redis.url, PORT: String(port), ATTACH: '1' }), NAME));
  t.after(() => Promise.all(procs.map((p) => p.stop())));
  for (const p of procs) await p.reply('ready');
  const got = clients(t, port, 40, 'cl');
  const open = await publishEverywhere(procs, redis, got, 'cl');
  assert.ok(open.every((n) => n > 0), `the primary spread the connections over both workers (${open})`);
});
