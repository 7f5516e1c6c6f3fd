'use strict';
// What users run today on the same Redis: a graphql-ws server on ws with
// graphql-redis-subscriptions' RedisPubSub and a subwire server see each other's publishes
// (channel = prefix + topic, message = the JSON text). A publish-only process
// (`new PubSub({ broker })`, a password in the URL) sends and exits on its own. A server
// whose Redis is down at start serves its sockets, rejects publishes with the code, and
// joins the fleet once Redis is up.
const test = require('node:test');
const assert = require('node:assert/strict');
const path = require('node:path');
const { spawn, fork } = require('node:child_process');
const WebSocket = require('ws');
const { buildSchema } = require('graphql');
const { createClient } = require('graphql-ws');
const { useServer: useGraphqlWs } = require('graphql-ws/use/ws');
const { RedisPubSub } = require('graphql-redis-subscriptions');
const { Redis } = require('ioredis');
const { useServer, PubSub } = require('..');
const { eventually } = require('./helpers');
const { SKIP, startRedis, freePort } = require('./redis');

const SDL = 'type Query { a: Int } type Tick { seq: Int!, from: String } type Subscription { tick: Tick }';

/** A client of `url` subscribed to `tick`; its results. */
function follow(t, url) {
  const client = createClient({ url, webSocketImpl: WebSocket, retryAttempts: 0, lazy: false, onNonLazyError: () => {} });
  t.after(() => client.dispose());
  /** @type {any[]} */
  const got = [];
  client.subscribe({ query: 'subscription { tick { seq from } }' }, { next: (r) => got.push(r), error: (e) => got.push({ error: String(e) }), complete() {} });
  return got;
}

test('graphql-ws with RedisPubSub and subwire on one Redis see each other\'s publishes', { skip: SKIP }, async (t) => {
  const redis = await startRedis(t);
  // graphql-ws on ws, publishing and subscribing through graphql-redis-subscriptions
  const [publisher, subscriber] = [new Redis(redis.port, '127.0.0.1'), new Redis(redis.port, '127.0.0.1')];
  await Promise.all([publisher, subscriber].map((r) => new Promise((ok) => r.once('ready', ok))));
  const redisPubSub = new RedisPubSub({ publisher, subscriber });
  const gqlSchema = buildSchema(SDL);
  const wss = new WebSocket.Server({ port: 0, host: '127.0.0.1' });
  await new Promise((r) => wss.once('listening', r));
  const cleanup = useGraphqlWs({ schema: gqlSchema, roots: { subscription: { tick: () => redisPubSub.asyncIterator('app:TICK') } } }, wss);
  t.after(async () => {
    // (graphql-ws returns its iterators, which unsubscribe, before the Redis clients close)
    await cleanup.dispose();
    await new Promise((r) => wss.close(r));
    await redisPubSub.close();
  });
  // subwire, its broker on the same Redis with prefix 'app:'
  const pubsub = new PubSub();
  const server = useServer({ schema: buildSchema(SDL), roots: { subscription: { tick: () => pubsub.asyncIterableIterator('TICK') } }, broker: { url: redis.url, prefix: 'app:' } }, { port: 0 }, 0);
  t.after(() => server.dispose());

  const viaGraphqlWs = follow(t, `ws://127.0.0.1:${/** @type {any} */ (wss.address()).port}/`);
  const viaSubwire = follow(t, `ws://127.0.0.1:${server.address().port}/`);
  await eventually(() => redis.numsub('app:TICK') === 2 && server.stats().triggerSubscriptions === 1, 10_000, 'both servers subscribed');
  await new Promise((r) => setTimeout(r, 100)); // (graphql-ws's iterator subscribes when first pulled)
  await redisPubSub.publish('app:TICK', { tick: { seq: 1, from: 'RedisPubSub' } });
  await eventually(() => viaSubwire.length === 1 && viaGraphqlWs.length === 1, 10_000, 'the RedisPubSub publish at both');
  await server.publish('TICK', { tick: { seq: 2, from: 'subwire' } });
  await eventually(() => viaSubwire.length === 2 && viaGraphqlWs.length === 2, 10_000, 'the subwire publish at both');
  await new Promise((r) => setTimeout(r, 200));
  const want = [{ data: { tick: { seq: 1, from: 'RedisPubSub' } } }, { data: { tick: { seq: 2, from: 'subwire' } } }];
  assert.deepEqual(viaSubwire, want);
  assert.deepEqual(viaGraphqlWs, want, 'graphql-ws gets the same, each once');
});

test('a publish-only process (new PubSub({ broker }), a password in the URL) sends, then exits on its own', { skip: SKIP }, async (t) => {
  const redis = await startRedis(t, { extra: ['--requirepass', 's3cret'] });
  const sub = new Redis(redis.port, '127.0.0.1', { password: 's3cret' });
  t.after(() => sub.disconnect());
  /** @type {string[]} */
  const seen = [];
  sub.on('message', (_c, m) => seen.push(m));
  await sub.subscribe('app:TICK');
  const root = path.join(__dirname, '..');
  const code = `
    const { PubSub } = require(${JSON.stringify(root)});
    const pubsub = new PubSub({ broker: { url: 'redis://:s3cret@127.0.0.1:${redis.port}', prefix: 'app:' } });
    for (let i = 0; i < 3; i++) pubsub.publish('TICK', { tick: { seq: i } });
    pubsub.publish('TICK', { tick: { seq: 3 } }).then(() => console.log('sent'));`;
  const started = Date.now();
  const p = spawn(process.execPath, ['-e', code], { cwd: root, stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  p.stdout.on('data', (d) => (out += d));
  const exitCode = await new Promise((resolve) => p.on('exit', resolve));
  assert.equal(exitCode, 0);
  assert.equal(out.trim(), 'sent', 'the last publish resolved before the process exited');
  assert.ok(Date.now() - started < 10_000, 'and it exited: nothing of the broker held it');
  await eventually(() => seen.length === 4, 5000, 'the four publishes in Redis');
  assert.deepEqual(seen, [0, 1, 2, 3].map((seq) => JSON.stringify({ tick: { seq } })));
});

test('Redis down at start: the server serves, publishes reject with the code, the outage is reported; it joins once Redis is up', { skip: SKIP }, async (t) => {
  const port = await freePort();
  const srv = fork(path.join(__dirname, 'fleet-server.js'), [], { env: { ...process.env, NAME: 'late', REDIS_URL: `redis://127.0.0.1:${port}` }, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  /** @type {any[]} */
  const inbox = [];
  srv.on('message', (m) => inbox.push(m));
  let exited = false;
  srv.on('exit', () => (exited = true));
  t.after(() => {
    if (!exited) srv.kill('SIGKILL');
  });
  const reply = async (/** @type {string} */ key) => {
    await eventually(() => inbox.some((m) => key in m), 20_000, `a ${key} reply`);
    return inbox.splice(inbox.findIndex((m) => key in m), 1)[0];
  };
  const { port: wsPort } = await reply('ready');
  const report = await reply('brokerError');
  assert.equal(report.brokerError, 'ERR_SUBWIRE_BROKER_DOWN');
  assert.match(report.message, /down since/);
  srv.send({ cmd: 'stats' });
  const { stats } = await reply('stats');
  assert.equal(stats.broker.state, 'down');
  // Sockets are served; a local publish reaches local subscribers and rejects for the broker.
  const client = createClient({ url: `ws://127.0.0.1:${wsPort}/graphql`, webSocketImpl: WebSocket, retryAttempts: 0, lazy: false, onNonLazyError: () => {} });
  t.after(() => client.dispose());
  /** @type {number[]} */
  const seqs = [];
  client.subscribe({ query: 'subscription { tick(topic: "late") { seq } }' }, { next: (/** @type {any} */ r) => seqs.push(r.data.tick.seq), error() {}, complete() {} });
  await eventually(async () => {
    srv.send({ cmd: 'stats' });
    return (await reply('stats')).stats.triggerSubscriptions === 1;
  }, 10_000, 'subscribed');
  srv.send({ cmd: 'publish', topic: 'late', label: 'L', from: 1, count: 1 });
  const down = await reply('published');
  assert.deepEqual([down.failed, down.codes], [1, ['ERR_SUBWIRE_BROKER_DOWN']]);
  await eventually(() => seqs.length === 1, 5000, 'the local delivery');
  // Redis comes up: the broker connects, subscribes, and messages flow.
  const redis = await startRedis(t, { port });
  await eventually(() => redis.numsub('app:late') === 1, 20_000, 'the late server subscribed');
  redis.cli('PUBLISH', 'app:late', '{"tick":{"seq":2}}');
  await eventually(() => seqs.length === 2, 5000, 'the message from Redis');
  assert.deepEqual(seqs, [1, 2]);
  assert.equal(exited, false);
  srv.send({ cmd: 'exit' });
});
