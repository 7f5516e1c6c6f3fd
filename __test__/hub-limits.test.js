'use strict';
// The hub's bounds: a consumer that stops reading is closed (1008 `slow consumer`) while
// the others keep up, one that pauses and resumes gets everything intact, and 10k subscribe/unsubscribe cycles leave no iterators, triggers,
// file descriptors or memory behind.
const test = require('node:test');
const assert = require('node:assert/strict');
const v8 = require('node:v8');
const vm = require('node:vm');
const WebSocket = require('ws');
const { GraphQLSchema, GraphQLObjectType, GraphQLString, GraphQLInt, GraphQLNonNull } = require('graphql');
const { createClient } = require('graphql-ws');
const { useServer, PubSub, publish } = require('..');
const { eventually, fdCount } = require('./helpers');

v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc');

const pubsub = new PubSub();
const Tick = new GraphQLObjectType({ name: 'Tick', fields: { seq: { type: GraphQLInt }, body: { type: GraphQLString } } });
const schema = new GraphQLSchema({
  query: new GraphQLObjectType({ name: 'Query', fields: { hello: { type: GraphQLString } } }),
  subscription: new GraphQLObjectType({
    name: 'Subscription',
    fields: {
      tick: {
        type: Tick,
        args: { topic: { type: new GraphQLNonNull(GraphQLString) } },
        subscribe: (_r, { topic }) => pubsub.asyncIterableIterator(topic),
        resolve: (p) => p,
      },
      // No resolver: served by projection (lib/projection.js) when unshared.
      raw: {
        type: Tick,
        args: { topic: { type: new GraphQLNonNull(GraphQLString) } },
        subscribe: (_r, { topic }) => pubsub.asyncIterableIterator(topic),
      },
    },
  }),
});
const RAW = 'subscription ($topic: String!) { raw(topic: $topic) { seq body } }';
const TICK = 'subscription ($topic: String!) { tick(topic: $topic) { seq body } }';

/** A raw graphql-transport-ws client (ws) subscribed to `topic`; resolves once acknowledged. */
function rawSubscriber(url, topic) {
  const ws = new WebSocket(url, 'graphql-transport-ws');
  const state = { ws, received: 0, close: null };
  ws.on('message', (data) => {
    const msg = JSON.parse(String(data));
    if (msg.type === 'connection_ack') ws.send(JSON.stringify({ id: '1', type: 'subscribe', payload: { query: TICK, variables: { topic } } }));
    if (msg.type === 'next') state.received++;
  });
  ws.on('close', (code, reason) => (state.close = { code, reason: String(reason) }));
  ws.on('error', () => {});
  ws.on('open', () => ws.send(JSON.stringify({ type: 'connection_init' })));
  return state;
}

test('a consumer that stops reading is closed with 1008 slow consumer; memory stays bounded; others get everything', async (t) => {
  const closes = [];
  const cap = 1024 * 1024;
  const server = useServer(
    { schema, shareKey: () => 'all', maxBufferedBytes: cap, onClose: (_ctx, code, reason) => void closes.push([code, reason]) },
    { port: 0, path: '/graphql' },
    0,
  );
  t.after(() => server.dispose());
  const url = `ws://127.0.0.1:${server.address().port}/graphql`;
  const healthy = rawSubscriber(url, 'slow');
  const stalled = rawSubscriber(url, 'slow');
  t.after(() => {
    healthy.ws.terminate();
    stalled.ws.terminate();
  });
  await eventually(() => server.stats().triggerSubscriptions === 2 || undefined, 5000, 'both subscribed');
  stalled.ws._socket.pause(); // stops reading: the kernel buffers fill, then subwire's queue
  const body = 'x'.repeat(2000);
  const EVENTS = 10_000;
  let maxQueued = 0;
  for (let seq = 1; seq <= EVENTS; seq++) {
    publish('slow', { seq, body });
    if (seq % 20 === 0) {
      // The healthy client lives in this process too: let it read.
      await new Promise((r) => setTimeout(r, 1));
      maxQueued = Math.max(maxQueued, server.stats().queuedBytes);
    }
  }
  await eventually(() => healthy.received === EVENTS || healthy.close || undefined, 30000, 'the healthy client got all 10k');
  assert.equal(healthy.close, null, 'the healthy client stays');
  assert.equal(healthy.received, EVENTS);
  await eventually(() => server.stats().slowConsumers === 1 || undefined, 10000, 'the stalled one was cut off');
  assert.ok(maxQueued < 4 * cap, `queued bytes stayed bounded (max seen ${maxQueued})`);
  assert.deepEqual(closes, [[1008, 'slow consumer']], 'the app heard 1008 slow consumer');
  assert.ok(stalled.received < EVENTS);
  // Reading again, the stalled client finds the close frame after what was already on its way.
  stalled.ws._socket.resume();
  await eventually(() => stalled.close || undefined, 10000, 'the stalled client sees the close');
  assert.deepEqual(stalled.close, { code: 1008, reason: 'slow consumer' });
  assert.equal(healthy.close, null);
  assert.equal(server.stats().triggerSubscriptions, 1);
});

for (const kind of ['shared', 'projected']) {
  test(`${kind}: a consumer that pauses until the socket fills gets every event whole, once, in order`, async (t) => {
    // Three subscriptions on one connection sit side by side in the hub's list: each
    // publish goes out as one direct write of three frames until the socket fills, then
    // the rest is queued from the byte where the kernel stopped taking it (src/reactor/fanout.rs).
    const server = useServer({ schema, shareKey: kind === 'shared' ? () => 'all' : undefined, maxBufferedBytes: 64 << 20 }, { port: 0, path: '/graphql' }, 0);
    t.after(() => server.dispose());
    const ws = new WebSocket(`ws://127.0.0.1:${server.address().port}/graphql`, 'graphql-transport-ws');
    t.after(() => ws.terminate());
    const ids = ['a', 'b', 'c'];
    /** @type {Record<string, number[]>} */
    const seqs = { a: [], b: [], c: [] };
    const bad = [];
    let closed = null;
    const bodyOf = (seq) => 'x'.repeat((seq * 37) % 3000 + 1);
    ws.on('message', (data) => {
      const msg = JSON.parse(String(data));
      if (msg.type === 'connection_ack') {
        for (const id of ids) ws.send(JSON.stringify({ id, type: 'subscribe', payload: { query: kind === 'shared' ? TICK : RAW, variables: { topic: 'resume' } } }));
      }
      if (msg.type !== 'next') return;
      const tick = msg.payload.data?.[kind === 'shared' ? 'tick' : 'raw'];
      if (!tick || tick.body !== bodyOf(tick.seq)) return void bad.push(msg);
      seqs[msg.id].push(tick.seq);
    });
    ws.on('close', (code) => (closed = code));
    ws.on('error', () => {});
    ws.on('open', () => ws.send(JSON.stringify({ type: 'connection_init' })));
    await eventually(() => server.stats().triggerSubscriptions === 3 || undefined, 5000, 'three subscriptions live');
    ws._socket.pause();
    const EVENTS = 4000;
    let maxQueued = 0;
    for (let seq = 1; seq <= EVENTS; seq++) {
      const tick = { seq, body: bodyOf(seq) };
      const sent = server.stats().messagesOut;
      publish('resume', kind === 'shared' ? tick : { raw: tick }); // `raw` has the default resolver
      // Each publish reaches the reactor alone: a direct write of three frames while nothing
      // is queued, so the one that fills the socket is cut at whatever byte the kernel stopped.
      while (server.stats().messagesOut < sent + ids.length) await new Promise((r) => setImmediate(r));
      if (seq % 100 === 0) maxQueued = Math.max(maxQueued, server.stats().queuedBytes);
    }
    await eventually(() => (maxQueued = Math.max(maxQueued, server.stats().queuedBytes)) > 0 || undefined, 5000, 'the socket filled');
    ws._socket.resume();
    await eventually(() => ids.every((id) => seqs[id].length === EVENTS) || closed || undefined, 30000, 'every event arrived');
    assert.equal(closed, null, 'the connection stays open');
    assert.deepEqual(bad, [], 'every body whole');
    const want = Array.from({ length: EVENTS }, (_, i) => i + 1);
    for (const id of ids) assert.deepEqual(seqs[id], want, `${id}: every event once, in order`);
    assert.ok(maxQueued > 0, 'the queue path was taken');
    await eventually(() => server.stats().queuedBytes === 0 || undefined, 5000, 'the queue drained');
  });
}

for (const kind of ['shared', 'projected']) {
  test(`${kind}: one event bigger than maxBufferedBytes reaches every subscriber; a stalled one is cut once a backlog builds`, async (t) => {
    // The cap is on the backlog behind the message being written (DESIGN.md "Backpressure"):
    // one message bigger than it is still sent whole; a queue holds at most the cap plus
    // what is left of one message.
    const cap = 64 * 1024;
    const closes = [];
    const server = useServer(
      { schema, shareKey: kind === 'shared' ? () => 'all' : undefined, maxBufferedBytes: cap, onClose: (_ctx, code, reason) => void closes.push([code, reason]) },
      { port: 0, path: '/graphql' },
      0,
    );
    t.after(() => server.dispose());
    const field = kind === 'shared' ? 'tick' : 'raw';
    const clients = ['a', 'b', 'c'].map(() => {
      const ws = new WebSocket(`ws://127.0.0.1:${server.address().port}/graphql`, 'graphql-transport-ws');
      const c = { ws, ticks: [], close: null };
      ws.on('message', (data) => {
        const msg = JSON.parse(String(data));
        if (msg.type === 'connection_ack') ws.send(JSON.stringify({ id: '1', type: 'subscribe', payload: { query: kind === 'shared' ? TICK : RAW, variables: { topic: 'big' } } }));
        if (msg.type === 'next') c.ticks.push(msg.payload);
      });
      ws.on('close', (code, reason) => (c.close = { code, reason: String(reason) }));
      ws.on('error', () => {});
      ws.on('open', () => ws.send(JSON.stringify({ type: 'connection_init' })));
      t.after(() => ws.terminate());
      return c;
    });
    await eventually(() => server.stats().triggerSubscriptions === 3 || undefined, 5000, 'three subscribers');
    const pub = (tick) => publish('big', kind === 'shared' ? tick : { raw: tick });
    // 8 MiB: far more than the kernel's socket buffers take at once, so most of it waits in
    // subwire's queue, 128 times the cap.
    const huge = { seq: 0, body: 'h'.repeat(8 << 20) };
    pub(huge);
    await eventually(() => clients.every((c) => c.ticks.length === 1 || c.close) || undefined, 30000, 'the big event everywhere');
    for (const c of clients) {
      assert.equal(c.close, null, 'nobody was cut for one big message');
      assert.deepEqual(c.ticks[0], { data: { [field]: huge } });
    }
    assert.equal(server.stats().slowConsumers, 0);
    assert.deepEqual(closes, []);

    // Now one stops reading: events of 4 times the cap pile up behind the one being written.
    const [stalled, ...healthy] = clients;
    stalled.ws._socket.pause();
    const body = 'b'.repeat(4 * cap);
    const message = body.length + 200; // one frame of it, id and JSON around the body
    let maxQueued = 0;
    let seq = 0;
    while (server.stats().slowConsumers === 0 && seq < 2000) {
      seq++;
      pub({ seq, body });
      await eventually(() => healthy.every((c) => c.ticks.length === seq + 1) || undefined, 10000, `healthy ones got ${seq}`);
      maxQueued = Math.max(maxQueued, server.stats().queuedBytes);
    }
    t.diagnostic(`cut after ${seq} events of ${body.length} bytes; max queued ${maxQueued}`);
    assert.equal(server.stats().slowConsumers, 1, `the stalled one was cut (after ${seq} events)`);
    assert.ok(maxQueued <= clients.length * (cap + message), `queued bytes stay within cap + one message per connection (max seen ${maxQueued})`);
    assert.deepEqual(closes, [[1008, 'slow consumer']]);
    stalled.ws._socket.resume();
    await eventually(() => stalled.close || undefined, 10000, 'the stalled client sees its close');
    assert.deepEqual(stalled.close, { code: 1008, reason: 'slow consumer' });
    for (const [i, tick] of stalled.ticks.entries()) assert.deepEqual(tick, { data: { [field]: i === 0 ? huge : { seq: i, body } } }, 'what arrived is whole, in order');
    for (const c of healthy) {
      assert.equal(c.close, null);
      assert.deepEqual(c.ticks.map((p) => p.data[field].seq), Array.from({ length: seq + 1 }, (_, i) => i));
    }
  });
}

test('10k subscribe/unsubscribe cycles, shared, unshared and projected, leave nothing behind', async (t) => {
  const server = useServer({ schema, shareKey: (_ctx, msg) => msg.variables.shared ? 'x' : undefined }, { port: 0, path: '/graphql' }, 0);
  const url = `ws://127.0.0.1:${server.address().port}/graphql`;
  const clients = Array.from({ length: 10 }, () => createClient({ url, webSocketImpl: WebSocket, retryAttempts: 0, lazy: false }));
  t.after(async () => {
    for (const c of clients) await c.dispose();
    await server.dispose();
  });
  const cycle = async (round) => {
    const stops = [];
    for (let i = 0; i < 100; i++) {
      const c = clients[i % clients.length];
      const kind = round % 3; // 0 shared, 1 unshared (JS), 2 projected
      const query = kind === 2 ? RAW : TICK;
      stops.push(c.subscribe({ query, variables: { topic: `cycle-${i % 7}`, shared: kind === 0 } }, { next() {}, error(e) { throw e; }, complete() {} }));
    }
    await eventually(() => server.stats().subscriptions === 100 || undefined, 10000, `round ${round} subscribed`);
    // shared and projected: one trigger per topic (7); executed per subscriber in JS: none
    const want = [7, 0, 7][round % 3];
    await eventually(() => (server.stats().triggerSubscriptions === (want ? 100 : 0) && server.stats().triggers === want) || undefined, 10000, `round ${round}: ${want} triggers`);
    for (const stop of stops) stop();
    await eventually(() => server.stats().subscriptions === 0 || undefined, 10000, `round ${round} ended`);
  };
  for (let round = 0; round < 10; round++) await cycle(round); // warm-up
  await new Promise((r) => setTimeout(r, 100));
  gc();
  gc();
  const before = { heap: process.memoryUsage().heapUsed, rss: process.memoryUsage().rss, fds: fdCount() };
  for (let round = 0; round < 100; round++) await cycle(round);
  await eventually(() => (server.stats().triggers === 0 && server.stats().topics === 0) || undefined, 5000, 'hub and topics empty');
  assert.equal(server.stats().triggerSubscriptions, 0);
  await new Promise((r) => setTimeout(r, 100));
  gc();
  gc();
  const after = { heap: process.memoryUsage().heapUsed, rss: process.memoryUsage().rss, fds: fdCount() };
  const mib = (n) => (n / 1048576).toFixed(1);
  t.diagnostic(`heap ${mib(before.heap)} → ${mib(after.heap)} MiB, rss ${mib(before.rss)} → ${mib(after.rss)} MiB`);
  assert.equal(after.fds, before.fds, 'no file descriptor leaked');
  assert.ok(after.heap - before.heap < 4 * 1048576, `heap grew ${mib(after.heap - before.heap)} MiB over 10k cycles`);
  assert.ok(after.rss - before.rss < 48 * 1048576, `rss grew ${mib(after.rss - before.rss)} MiB over 10k cycles`);
});
