'use strict';
// The trigger hub through the real clients: publish → (one execution per shared trigger)
// → Rust fan-out. Exactly-once in-order delivery, sharing rules, hooks of shared
// subscriptions, leaving mid-stream, slow consumers and the per-connection cap.
const test = require('node:test');
const assert = require('node:assert/strict');
const WebSocket = require('ws');
const { SubscriptionClient } = require('subscriptions-transport-ws');
const { GraphQLSchema, GraphQLObjectType, GraphQLString, GraphQLInt, GraphQLNonNull } = require('graphql');
const { createClient } = require('graphql-ws');
const { useServer, PubSub, publish } = require('..');
const { eventually } = require('./helpers');

const pubsub = new PubSub();
/** Calls of tick's resolve (one per execution of an event). */
const calls = { resolve: 0, subscribe: 0 };
const Tick = new GraphQLObjectType({
  name: 'Tick',
  fields: { seq: { type: GraphQLInt }, body: { type: GraphQLString }, scale: { type: GraphQLInt } },
});
const schema = new GraphQLSchema({
  query: new GraphQLObjectType({ name: 'Query', fields: { hello: { type: GraphQLString, resolve: () => 'world' } } }),
  subscription: new GraphQLObjectType({
    name: 'Subscription',
    fields: {
      tick: {
        type: Tick,
        args: { topic: { type: new GraphQLNonNull(GraphQLString) }, scale: { type: GraphQLInt } },
        subscribe: (_root, { topic }) => {
          calls.subscribe++;
          return pubsub.asyncIterableIterator(topic);
        },
        resolve: (payload, { scale }) => {
          calls.resolve++;
          return { ...payload, scale: scale ?? 1 };
        },
      },
    },
  }),
});

function setup(t, options = {}) {
  const server = useServer({ schema, ...options }, { port: 0, path: '/graphql' }, 0);
  const url = `ws://127.0.0.1:${server.address().port}/graphql`;
  const clients = [];
  const client = (opts = {}) => {
    const c = createClient({ url, webSocketImpl: WebSocket, retryAttempts: 0, lazy: false, ...opts });
    clients.push(c);
    return c;
  };
  t.after(async () => {
    for (const c of clients) await c.dispose();
    await server.dispose();
  });
  return { server, url, client };
}

/** Subscribes and records every `next` payload's tick and how the operation ended. */
function record(client, query, variables) {
  const rec = { ticks: [], error: null, completed: false, stop: () => {} };
  rec.stop = client.subscribe(
    { query, variables },
    {
      next: (r) => rec.ticks.push(r.data ? r.data.tick : r),
      error: (e) => (rec.error = e),
      complete: () => (rec.completed = true),
    },
  );
  return rec;
}

const TICK = 'subscription ($topic: String!) { tick(topic: $topic) { seq body } }';

test('N subscribers × M events: every one gets every event once, in order, shared and unshared', async (t) => {
  for (const share of [true, false]) {
    const { server, client } = setup(t, share ? { shareKey: () => 'everyone' } : {});
    const topic = `order-${share}`;
    const N = 150;
    const M = 60;
    const recs = Array.from({ length: N }, () => record(client(), TICK, { topic }));
    await eventually(() => server.stats().subscriptions === N || undefined, 10000, 'all subscribed');
    await eventually(() => (server.stats().triggerSubscriptions === (share ? N : 0)) || undefined, 5000, 'hub attached');
    assert.equal(server.stats().triggers, share ? 1 : 0);
    for (let seq = 1; seq <= M; seq++) publish(topic, { seq, body: `b${seq}` });
    await eventually(() => recs.every((r) => r.ticks.length >= M) || undefined, 15000, 'all events delivered');
    await new Promise((r) => setTimeout(r, 50));
    for (const r of recs) {
      assert.deepEqual(r.ticks.map((x) => x.seq), Array.from({ length: M }, (_, i) => i + 1));
      assert.equal(r.ticks[9].body, 'b10');
    }
  }
});

test('sharing: one execution per event for 1,000 identical subscriptions; none without shareKey', async (t) => {
  for (const share of [true, false]) {
    const { server, client } = setup(t, share ? { shareKey: () => 'public' } : {});
    const topic = `share-${share}`;
    const conns = Array.from({ length: 20 }, () => client());
    const recs = Array.from({ length: 1000 }, (_, i) => record(conns[i % 20], TICK, { topic }));
    await eventually(() => server.stats().subscriptions === 1000 || undefined, 15000, 'all subscribed');
    const before = { ...calls };
    for (let seq = 1; seq <= 5; seq++) publish(topic, { seq, body: 'x' });
    await eventually(() => recs.every((r) => r.ticks.length === 5) || undefined, 15000, 'all delivered');
    assert.equal(calls.resolve - before.resolve, share ? 5 : 5000, 'resolver executions');
    assert.equal(calls.subscribe - before.subscribe, 0);
  }
});

// (A query text that differs only in whitespace gets its own trigger too: the locations in a
// result's errors point into each client's own text; __test__/fidelity.test.js checks them.)
test('1,000 connections share one trigger; different variables, documents or query texts never share', async (t) => {
  const { server, client } = setup(t, { shareKey: () => 'k' });
  const subscribesBefore = calls.subscribe;
  const recs = Array.from({ length: 1000 }, () => record(client(), TICK, { topic: 'wide' }));
  await eventually(() => server.stats().triggerSubscriptions === 1000 || undefined, 20000, '1,000 attached');
  assert.equal(server.stats().triggers, 1);
  assert.equal(calls.subscribe - subscribesBefore, 1, 'the source stream started once');
  const c = client();
  const spaced = record(c, `# a comment\n subscription ($topic: String!)   {\n tick(topic: $topic) {\n seq\n body } }`, { topic: 'wide' });
  const otherVars = record(c, TICK, { topic: 'other' });
  const otherDoc = record(c, 'subscription ($topic: String!) { tick(topic: $topic) { seq } }', { topic: 'wide' });
  const scaled = record(c, 'subscription ($topic: String!, $s: Int) { tick(topic: $topic, scale: $s) { seq scale } }', { topic: 'wide', s: 2 });
  await eventually(() => server.stats().triggerSubscriptions === 1004 || undefined, 5000, 'four more attached');
  assert.equal(server.stats().triggers, 5, 'whitespace, variables and documents made their own');
  publish('wide', { seq: 1, body: 'w' });
  await eventually(() => recs.every((r) => r.ticks.length === 1) && spaced.ticks.length === 1 && otherDoc.ticks.length === 1 && scaled.ticks.length === 1 || undefined, 15000, 'delivered');
  assert.deepEqual(otherDoc.ticks[0], { seq: 1 });
  assert.deepEqual(scaled.ticks[0], { seq: 1, scale: 2 });
  assert.equal(otherVars.ticks.length, 0);
});

test('hooks of shared subscriptions: per subscriber onSubscribe/onOperation/onComplete, once per event onNext', async (t) => {
  const log = [];
  const { server, client } = setup(t, {
    shareKey: (ctx) => ctx.connectionParams?.tenant,
    onSubscribe: (_ctx, id) => void log.push(['onSubscribe', id]),
    onOperation: (_ctx, id) => void log.push(['onOperation', id]),
    onNext: (ctx, id, _payload, _args, result) => {
      log.push(['onNext', id, ctx.shared, ctx.subscribers]);
      return { ...result, extensions: { tenant: ctx.shareKey } };
    },
    onComplete: (_ctx, id) => void log.push(['onComplete', id]),
    context: (ctx) => ({ tenant: ctx.connectionParams.tenant }),
  });
  const a = client({ connectionParams: { tenant: 'acme' } });
  const b = client({ connectionParams: { tenant: 'acme' } });
  const other = client({ connectionParams: { tenant: 'zeta' } });
  const results = [];
  const sub = (c) => {
    const got = [];
    const stop = c.subscribe({ query: TICK, variables: { topic: 'hooks' } }, { next: (r) => got.push(r), error: () => {}, complete: () => {} });
    results.push(got);
    return { got, stop };
  };
  const [ra, rb, rz] = [sub(a), sub(b), sub(other)];
  await eventually(() => server.stats().triggerSubscriptions === 3 || undefined, 5000, 'attached');
  assert.equal(server.stats().triggers, 2, 'one per tenant');
  await eventually(() => log.filter((e) => e[0] === 'onOperation').length === 3 || undefined, 5000, 'onOperation for each');
  publish('hooks', { seq: 1, body: 'h' });
  await eventually(() => results.every((r) => r.length === 1) || undefined, 5000, 'delivered');
  assert.deepEqual(ra.got[0].extensions, { tenant: 'acme' });
  assert.deepEqual(rz.got[0].extensions, { tenant: 'zeta' });
  const nexts = log.filter((e) => e[0] === 'onNext');
  assert.equal(nexts.length, 2, 'once per trigger, not per subscriber');
  assert.ok(nexts.every((e) => /^trigger:\d+$/.test(e[1]) && e[2] === true));
  assert.deepEqual(nexts.map((e) => e[3]).sort(), [1, 2]);
  assert.equal(log.filter((e) => e[0] === 'onSubscribe').length, 3);
  ra.stop();
  await eventually(() => log.some((e) => e[0] === 'onComplete') || undefined, 5000, 'onComplete for the one that left');
  publish('hooks', { seq: 2, body: 'h' });
  await eventually(() => rb.got.length === 2 || undefined, 5000, 'b still subscribed');
  await new Promise((r) => setTimeout(r, 50));
  assert.equal(ra.got.length, 1, 'nothing after complete');
  assert.equal(log.filter((e) => e[0] === 'onComplete').length, 1);
});

test('leaving mid-stream: no more frames, the source stops with its last subscriber, late joiners start from then', async (t) => {
  const { server, client } = setup(t, { shareKey: () => 's' });
  const c1 = client();
  const c2 = client();
  const early = record(c1, TICK, { topic: 'mid' });
  const leaving = record(c2, TICK, { topic: 'mid' });
  await eventually(() => server.stats().triggerSubscriptions === 2 || undefined, 5000, 'attached');
  publish('mid', { seq: 1, body: '' });
  await eventually(() => leaving.ticks.length === 1 || undefined, 5000, 'first event');
  leaving.stop();
  await eventually(() => server.stats().triggerSubscriptions === 1 || undefined, 5000, 'left the hub');
  const late = record(c2, TICK, { topic: 'mid' });
  await eventually(() => server.stats().triggerSubscriptions === 2 || undefined, 5000, 'late one attached');
  publish('mid', { seq: 2, body: '' });
  await eventually(() => late.ticks.length === 1 && early.ticks.length === 2 || undefined, 5000, 'second event');
  assert.deepEqual(late.ticks.map((x) => x.seq), [2]);
  assert.equal(leaving.ticks.length, 1);
  assert.equal(server.stats().triggers, 1, 'the late one joined the running trigger');
  await c1.dispose();
  late.stop();
  await eventually(() => (server.stats().triggers === 0 && server.stats().topics === 0) || undefined, 5000, 'trigger and topic listener gone');
  assert.equal(server.stats().subscriptions, 0);
});

test('legacy subscriptions-transport-ws and graphql-ws clients on one trigger', async (t) => {
  const { server, url, client } = setup(t, { shareKey: () => 'mixed' });
  const modern = record(client(), TICK, { topic: 'mixed' });
  const legacy = new SubscriptionClient(url, { reconnect: false }, WebSocket);
  t.after(() => legacy.close());
  const old = [];
  legacy.request({ query: TICK, variables: { topic: 'mixed' } }).subscribe({ next: (r) => old.push(r.data.tick.seq) });
  await eventually(() => server.stats().triggerSubscriptions === 2 || undefined, 5000, 'both attached');
  assert.equal(server.stats().triggers, 1);
  for (let seq = 1; seq <= 3; seq++) publish('mixed', { seq, body: '' });
  await eventually(() => old.length === 3 && modern.ticks.length === 3 || undefined, 5000, 'delivered');
  assert.deepEqual(old, [1, 2, 3]);
});

test('maxSubscriptionsPerConnection: one too many gets an error, the connection stays', async (t) => {
  const { server, client } = setup(t, { maxSubscriptionsPerConnection: 3 });
  const c = client();
  const recs = Array.from({ length: 4 }, () => record(c, TICK, { topic: 'cap' }));
  await eventually(() => recs[3].error || undefined, 5000, 'the fourth refused');
  assert.match(recs[3].error[0].message, /Too many subscriptions.*allows 3.*maxSubscriptionsPerConnection/);
  await eventually(() => server.stats().subscriptions === 3 || undefined, 5000, 'three live');
  publish('cap', { seq: 1, body: '' });
  await eventually(() => recs.slice(0, 3).every((r) => r.ticks.length === 1) || undefined, 5000, 'the socket still works');
});
