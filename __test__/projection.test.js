'use strict';
// Projection: unshared subscriptions served from the published JSON by Rust, no JS per event.
// Every result must equal what graphql-js computes for the same payload (a server with
// `projection: false` is the reference, side by side); events a projection cannot do
// exactly fall back to graphql-js, in order.
const test = require('node:test');
const assert = require('node:assert/strict');
const WebSocket = require('ws');
const { buildSchema } = require('graphql');
const { withFilter } = require('graphql-subscriptions');
const { createClient } = require('graphql-ws');
const { useServer, PubSub, publish } = require('..');
const { eventually } = require('./helpers');

const schema = buildSchema(`
  type Query { hello: String }
  enum Mood { HAPPY SAD }
  type Author { id: ID!, name: String, tags: [String!] }
  type Post { id: ID!, title: String!, score: Float, votes: Int, draft: Boolean, mood: Mood, author: Author, related: [Post] }
  type Subscription { post(topic: String!): Post, filtered(topic: String!): Post, computed(topic: String!): Post }
`);
const pubsub = new PubSub();
let computedCalls = 0;
const roots = {
  subscription: {
    post: ({ topic }) => pubsub.asyncIterableIterator(topic),
    filtered: withFilter(({ topic }) => pubsub.asyncIterableIterator(topic), (payload) => payload.filtered.votes > 0),
    computed: ({ topic }) => pubsub.asyncIterableIterator(topic),
  },
};
// `computed` resolves through app code, so it must never be projected.
schema.getSubscriptionType().getFields().computed.resolve = (payload) => {
  computedCalls++;
  return payload.computed;
};

const QUERY = `subscription ($topic: String!) {
  p: post(topic: $topic) { __typename id title score votes draft mood
    author { id name tags __typename } related { id title } } }`;

function setup(t, options = {}) {
  const server = useServer({ schema, roots, ...options }, { port: 0, path: '/graphql' }, 0);
  const url = `ws://127.0.0.1:${server.address().port}/graphql`;
  const clients = [];
  t.after(async () => {
    for (const c of clients) await c.dispose();
    await server.dispose();
  });
  const client = () => {
    const c = createClient({ url, webSocketImpl: WebSocket, retryAttempts: 0, lazy: false });
    clients.push(c);
    return c;
  };
  return { server, client };
}

function record(c, query, variables) {
  const got = [];
  const stop = c.subscribe({ query, variables }, { next: (r) => got.push(r), error: (e) => got.push({ clientError: e }), complete() {} });
  return { got, stop };
}

const PAYLOADS = [
  { post: { id: 1, title: 'plain', score: 1.5, votes: 3, draft: false, mood: 'HAPPY', author: { id: 'a1', name: 'Ann', tags: ['x', 'y'] }, related: [{ id: 2, title: 'r' }] } },
  { post: { id: 'p-2', title: 'unicode é ☃ "quotes" \\ \n', score: 1e21, votes: 2.0, draft: true, mood: null, author: null, related: [], extra: { ignored: true } } },
  { post: { id: 3, title: 'big numbers', score: -0, votes: -2147483648, author: { id: 9, name: null, tags: null } } },
  { post: null },
  { post: { id: 4, title: null } }, // non-null title: graphql-js's error result (fallback)
  { post: { id: 5, title: 7, votes: '12' } }, // coercions graphql-js does (fallback)
  { post: { id: 6, title: 'after fallbacks', mood: 'SAD' } },
  { other: 1 },
];

test('projected results equal graphql-js results, with one shared trigger for identical subscriptions', async (t) => {
  const projected = setup(t);
  const reference = setup(t, { projection: false });
  const runs = [];
  for (const s of [projected, reference]) {
    const conns = Array.from({ length: 5 }, () => s.client());
    runs.push(Array.from({ length: 50 }, (_, i) => record(conns[i % 5], QUERY, { topic: 'proj' })));
  }
  await eventually(() => projected.server.stats().subscriptions === 50 && reference.server.stats().subscriptions === 50 || undefined, 10000, 'subscribed');
  assert.equal(projected.server.stats().triggers, 1, '50 identical projected subscriptions: one trigger');
  assert.equal(projected.server.stats().triggerSubscriptions, 50);
  assert.equal(reference.server.stats().triggers, 0);
  for (const p of PAYLOADS) publish('proj', p);
  await eventually(() => runs.flat().every((r) => r.got.length === PAYLOADS.length) || undefined, 10000, 'all delivered');
  const want = runs[1][0].got;
  assert.equal(want[4].errors[0].message, 'Cannot return null for non-nullable field Post.title.');
  assert.deepEqual(want[5].data.p.title, '7');
  for (const r of runs.flat()) assert.deepEqual(r.got, want);
  assert.equal(projected.server.stats().triggerUpdates, PAYLOADS.length, 'each event crossed into the hub once');
  assert.equal(projected.server.stats().projectionFallbacks, 2, 'graphql-js executed only the two events it had to');
});

test('not projected: fields with resolvers, withFilter, per-event hooks, projection: false', async (t) => {
  const a = setup(t);
  const c = a.client();
  const computed = record(c, 'subscription { computed(topic: "np") { id } }');
  const filtered = record(c, 'subscription { filtered(topic: "np") { id votes } }');
  await eventually(() => a.server.stats().subscriptions === 2 || undefined, 5000, 'subscribed');
  assert.equal(a.server.stats().triggers, 0, 'neither is projected');
  const before = computedCalls;
  publish('np', { computed: { id: 1 }, filtered: { id: 1, votes: 0 } });
  publish('np', { computed: { id: 2 }, filtered: { id: 2, votes: 5 } });
  await eventually(() => computed.got.length === 2 && filtered.got.length === 1 || undefined, 5000, 'delivered');
  assert.equal(computedCalls - before, 2, 'the resolver ran per event');
  assert.deepEqual(filtered.got, [{ data: { filtered: { id: '2', votes: 5 } } }], 'the filter applied');
  const hooked = setup(t, { onNext: () => undefined });
  const h = record(hooked.client(), QUERY, { topic: 'np2' });
  await eventually(() => hooked.server.stats().subscriptions === 1 || undefined, 5000, 'subscribed');
  assert.equal(hooked.server.stats().triggers, 0, 'onNext runs per subscriber: no projection');
  publish('np2', PAYLOADS[0]);
  await eventually(() => h.got.length === 1 || undefined, 5000, 'delivered');
});

test('leaving stops the topic listener; different variables are different triggers', async (t) => {
  const { server, client } = setup(t);
  const c = client();
  const a = record(c, QUERY, { topic: 'pa' });
  const b = record(c, QUERY, { topic: 'pb' });
  await eventually(() => server.stats().triggerSubscriptions === 2 || undefined, 5000, 'attached');
  assert.equal(server.stats().triggers, 2);
  publish('pa', PAYLOADS[6]);
  publish('pb', PAYLOADS[0]);
  await eventually(() => a.got.length === 1 && b.got.length === 1 || undefined, 5000, 'delivered');
  assert.equal(a.got[0].data.p.title, 'after fallbacks');
  a.stop();
  b.stop();
  await eventually(() => (server.stats().triggers === 0 && server.stats().topics === 0 && server.stats().subscriptions === 0) || undefined, 5000, 'all gone');
  publish('pa', PAYLOADS[0]);
  await new Promise((r) => setTimeout(r, 50));
  assert.equal(a.got.length, 1);
});

test('a projected trigger that fails sends graphql-ws\'s error message: an array of GraphQL errors', async (t) => {
  const { server, client } = setup(t);
  const a = record(client(), QUERY, { topic: 'pfail' });
  await eventually(() => server.stats().triggerSubscriptions === 1 || undefined, 5000, 'attached');
  // An execution that never settles (a pending promise in the payload): later events wait
  // behind it, and one past the limit fails the trigger.
  publish('pfail', { post: { id: 1, title: new Promise(() => {}) } });
  for (let i = 0; i <= 10_000; i++) publish('pfail', PAYLOADS[0]);
  await eventually(() => a.got.length === 1 || undefined, 5000, 'failed');
  assert.deepEqual(a.got, [{ clientError: [{ message: 'PubSub iterator ended: 10000 events were waiting unconsumed (maxQueued is 10000).' }] }]);
  await eventually(() => server.stats().triggers === 0 || undefined, 5000, 'the trigger ended');
});
