'use strict';
// A fleet on one redis-server: 3 subwire processes × 1,000 graphql-ws clients. Publishes from
// each process and from redis-cli reach every client exactly once, in order per publisher;
// Redis killed and restarted mid-stream: publishes fail with a code meanwhile, the outage is
// reported, delivery resumes, no process crashes, fds and RSS come back; unsubscribing stops
// delivery in every process (Redis sees no subscriber left).
const test = require('node:test');
const assert = require('node:assert/strict');
const WebSocket = require('ws');
const { createClient } = require('graphql-ws');
const { eventually } = require('./helpers');
const { SKIP, startRedis } = require('./redis');
const { child } = require('./fleet');

const LABELS = ['A', 'B', 'C'];

test('3 processes × 1,000 clients: every event once and in order per publisher, through a Redis crash and restart', { skip: SKIP, timeout: 300_000 }, async (t) => {
  const redis = await startRedis(t);
  const procs = LABELS.map((NAME) => child({ NAME, REDIS_URL: redis.url }));
  t.after(() => Promise.all(procs.map((c) => c.stop())));
  const ports = await Promise.all(procs.map(async (c) => (await c.reply('ready')).port));

  // 1,000 clients per process; every tenth runs `computed` (graphql-js per event), the rest
  // `tick` (projected: Rust writes the result from the message).
  const PER = 1000;
  /** @type {unknown[]} */
  const clientErrors = [];
  /** @type {{ client: import('graphql-ws').Client, got: Record<string, number[]>, dupes: number, stop: () => void }[]} */
  const clients = [];
  for (const port of ports) {
    for (let i = 0; i < PER; i++) {
      const client = createClient({ url: `ws://127.0.0.1:${port}/graphql`, webSocketImpl: WebSocket, retryAttempts: 0, lazy: false, onNonLazyError: () => {} });
      const entry = { client, got: /** @type {Record<string, number[]>} */ ({}), dupes: 0, stop: () => {} };
      const field = i % 10 === 0 ? 'computed' : 'tick';
      entry.stop = client.subscribe(
        { query: `subscription { r: ${field}(topic: "fleet") { seq label } }` },
        {
          next: (/** @type {any} */ res) => {
            const { seq, label } = res.data.r;
            (entry.got[label] ??= []).push(seq);
          },
          error: (e) => clientErrors.push(e),
          complete() {},
        },
      );
      clients.push(entry);
    }
  }
  t.after(() => Promise.all(clients.map((c) => c.client.dispose())));
  const stats = () => Promise.all(procs.map((c) => c.request({ cmd: 'stats' }, 'stats')));
  await eventually(async () => (await stats()).every((s) => s.stats.subscriptions === PER), 120_000, 'every client subscribed');
  await eventually(async () => (await stats()).every((s) => s.stats.triggerSubscriptions === PER - PER / 10), 30_000, 'projected subscribers in every hub');
  await eventually(() => redis.numsub('app:fleet') === 3, 10_000, 'one SUBSCRIBE per process');
  const before = await stats();

  /** Every client has `count` events from each of `labels`, from `from` on, in order and once. */
  const deliveredAll = (/** @type {string[]} */ labels, /** @type {number} */ from, /** @type {number} */ count) =>
    clients.every((c) => labels.every((l) => (c.got[l] ?? []).filter((s) => s >= from && s < from + count).length === count));
  const round = async (/** @type {number} */ from, /** @type {number} */ count) => {
    const sent = procs.map((c, i) => c.request({ cmd: 'publish', topic: 'fleet', label: LABELS[i], from, count }, 'published'));
    const cli = Array.from({ length: count }, (_, i) => `PUBLISH app:fleet '{"tick":{"seq":${from + i},"label":"X"}}'\n`).join('');
    require('node:child_process').spawnSync('redis-cli', ['-p', String(redis.port)], { input: cli });
    for (const r of await Promise.all(sent)) assert.equal(r.failed, 0, `publishes failed: ${r.codes}`);
    await eventually(() => deliveredAll([...LABELS, 'X'], from, count), 60_000, `round ${from}: every event at every client`);
  };
  await round(0, 20);

  // Redis is killed while process A streams (every 10 ms, on a topic 10 clients per process
  // follow, so that this process keeps up), and restarted a second later.
  const followers = ports.flatMap((port) =>
    Array.from({ length: 10 }, () => {
      const client = createClient({ url: `ws://127.0.0.1:${port}/graphql`, webSocketImpl: WebSocket, retryAttempts: 0, lazy: false, onNonLazyError: () => {} });
      /** @type {number[]} */
      const got = [];
      client.subscribe({ query: 'subscription { tick(topic: "stream") { seq } }' }, { next: (/** @type {any} */ r) => got.push(r.data.tick.seq), error: () => {}, complete() {} });
      return { client, got };
    }),
  );
  t.after(() => Promise.all(followers.map((f) => f.client.dispose())));
  await eventually(() => redis.numsub('app:stream') === 3, 30_000, 'the stream followed in every process');
  await eventually(async () => (await stats()).every((s) => s.stats.triggerSubscriptions === PER - PER / 10 + 10), 30_000, 'followers in every hub');
  const streaming = procs[0].request({ cmd: 'publish', topic: 'stream', label: 'A', from: 0, count: 300, every: 10 }, 'published');
  await eventually(() => followers.every((f) => f.got.length >= 10), 30_000, 'the stream to flow');
  await redis.kill();
  await eventually(() => procs.every((c) => c.brokerErrors.some((e) => e.code === 'ERR_SUBWIRE_BROKER_DOWN')), 15_000, 'every process to report the broker down');
  const down = await stats();
  for (const s of down) assert.equal(s.stats.broker.state, 'down');
  await new Promise((r) => setTimeout(r, 1000));
  await redis.start();
  await eventually(() => followers.every((f) => f.got.at(-1) === 299), 30_000, 'the stream to resume and reach its end');
  const stream = await streaming;
  assert.ok(stream.failed > 0 && stream.codes.includes('ERR_SUBWIRE_BROKER_DOWN'), `publishes while down rejected with the code (${JSON.stringify(stream)})`);
  followers.forEach((f, i) => {
    for (let j = 1; j < f.got.length; j++) assert.ok(f.got[j] > f.got[j - 1], `stream: ${f.got[j - 1]} then ${f.got[j]}`);
    // in A every event arrives (local); in B and C a gap: what A published while Redis was down
    if (i < 10) assert.equal(f.got.length, 300);
    else assert.ok(f.got.length < 300, `a gap in B and C (${f.got.length})`);
  });
  await Promise.all(followers.map((f) => f.client.dispose()));
  await eventually(async () => (await stats()).every((s) => s.stats.open === PER), 30_000, 'the followers gone');
  await eventually(async () => (await stats()).every((s) => s.stats.broker.state === 'up' && s.stats.broker.lastOutage), 30_000, 'every process back up, the outage recorded');
  await eventually(() => redis.numsub('app:fleet') === 3, 15_000, 'every process subscribed again');
  await round(2000, 20);
  for (const c of procs) assert.equal(c.exited(), null, 'no process crashed');
  assert.deepEqual(clientErrors, [], 'no client saw an error');

  // Exactly once and in order per publisher, for every client, through all of it.
  for (const c of clients) {
    for (const [label, seqs] of Object.entries(c.got)) {
      for (let i = 1; i < seqs.length; i++) assert.ok(seqs[i] > seqs[i - 1], `client got ${label} ${seqs[i - 1]} then ${seqs[i]}`);
    }
  }

  // fds and RSS of every process, before and after.
  const after = await stats();
  after.forEach((s, i) => {
    assert.ok(Math.abs(s.fds - before[i].fds) <= 2, `process ${LABELS[i]}: fds ${before[i].fds} → ${s.fds}`);
    assert.ok(s.rss - before[i].rss < 64 << 20, `process ${LABELS[i]}: RSS ${before[i].rss} → ${s.rss}`);
    assert.equal(s.stats.broker.reconnects, 1);
  });

  // Unsubscribing stops delivery everywhere: each client completes its subscription.
  for (const c of clients) c.stop();
  await eventually(async () => (await stats()).every((s) => s.stats.subscriptions === 0), 60_000, 'every subscription gone');
  await eventually(() => redis.numsub('app:fleet') === 0, 10_000, 'no process subscribed any more');
  const counts = clients.map((c) => Object.values(c.got).flat().length);
  await procs[1].request({ cmd: 'publish', topic: 'fleet', label: 'B', from: 3000, count: 5 }, 'published');
  await new Promise((r) => setTimeout(r, 300));
  assert.deepEqual(clients.map((c) => Object.values(c.got).flat().length), counts, 'nothing delivered after unsubscribing');
});
