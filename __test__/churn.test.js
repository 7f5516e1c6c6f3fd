'use strict';
// Clients that connect, subscribe, get an event and leave, round after round, on every
// path: projected (the default), shared (`shareKey`) and executed (a field with a
// resolver: graphql-js per subscriber). Half leave with a close frame, half drop the TCP
// connection. Once everyone has left, nothing of them may remain: no trigger or subscriber
// in the hub, no operation in JS, no topic listener, no resolver iterator left open.
const test = require('node:test');
const assert = require('node:assert/strict');
const WebSocket = require('ws');
const { buildSchema } = require('graphql');
const { useServer, PubSub, publish } = require('..');
const { topicStats } = require('../lib/topics.js');
const { eventually } = require('./helpers');

const schema = buildSchema(`
  type Query { ok: Boolean }
  type Tick { seq: Int! }
  type Subscription { tick(topic: String!): Tick, computed(topic: String!): Tick }
`);
const pubsub = new PubSub();
let created = 0;
let returned = 0;
/** A subwire topic iterator (still projectable) that counts its return(). @param {string} topic */
function counted(topic) {
  const it = pubsub.asyncIterableIterator(topic);
  created++;
  const ret = it.return.bind(it);
  let done = false;
  it.return = () => {
    if (!done) returned++;
    done = true;
    return ret();
  };
  return it;
}
const roots = { subscription: { tick: ({ topic }) => counted(topic), computed: ({ topic }) => counted(topic) } };
// `computed` has a resolver: never projected, executed per subscriber
schema.getSubscriptionType().getFields().computed.resolve = (payload) => payload.tick;

const PATHS = {
  projected: 'subscription Projected($topic: String!) { tick(topic: $topic) { seq } }',
  shared: 'subscription Shared($topic: String!) { tick(topic: $topic) { seq } }',
  executed: 'subscription Executed($topic: String!) { computed(topic: $topic) { seq } }',
};

/** An acknowledged graphql-transport-ws client with one subscription; `got` counts `next`s. */
async function subscriber(/** @type {number} */ port, /** @type {string} */ operationName) {
  const query = PATHS[/** @type {keyof typeof PATHS} */ (operationName.toLowerCase())];
  const ws = new WebSocket(`ws://127.0.0.1:${port}/graphql`, 'graphql-transport-ws');
  const state = { ws, acked: false, got: 0, closed: false };
  ws.on('message', (data) => {
    const msg = JSON.parse(String(data));
    if (msg.type === 'connection_ack') state.acked = true;
    else if (msg.type === 'next') state.got++;
  });
  ws.on('close', () => (state.closed = true));
  ws.on('error', () => {});
  await new Promise((resolve, reject) => {
    ws.once('open', resolve);
    ws.once('error', reject);
  });
  ws.send(JSON.stringify({ type: 'connection_init' }));
  await eventually(() => state.acked, 5000, 'connection_ack');
  ws.send(JSON.stringify({ id: '1', type: 'subscribe', payload: { query, operationName, variables: { topic: 'churn' } } }));
  return state;
}

/** Waits until nothing of the clients remains; fails with what does. @param {any} server @param {string} when */
async function nothingLeft(server, when) {
  const left = () => {
    const { triggers, triggerSubscriptions, subscriptions, topics } = server.stats();
    return { triggers, triggerSubscriptions, subscriptions, topics, listeners: topicStats().listeners, openIterators: created - returned };
  };
  const none = { triggers: 0, triggerSubscriptions: 0, subscriptions: 0, topics: 0, listeners: 0, openIterators: 0 };
  try {
    await eventually(() => Object.values(left()).every((v) => v === 0), 5000, 'everything released');
  } catch {
    assert.deepEqual(left(), none, when);
  }
}

test('clients that come and go leave nothing behind, on every path (close frame and TCP drop)', async (t) => {
  const server = useServer(
    { schema, roots, shareKey: (_ctx, payload) => (payload.operationName === 'Shared' ? 'everyone' : undefined) },
    { port: 0, path: '/graphql' },
    0,
  );
  t.after(() => server.dispose());
  const port = server.address().port;
  const ROUNDS = 4;
  const PER_PATH = 20;
  for (let round = 0; round < ROUNDS; round++) {
    const clients = [];
    for (const name of ['Projected', 'Shared', 'Executed']) {
      clients.push(...(await Promise.all(Array.from({ length: PER_PATH }, () => subscriber(port, name)))));
    }
    await eventually(
      // (shared subscribers start their trigger's source once: one iterator per round)
      () => created === (round + 1) * (2 * PER_PATH + 1) && server.stats().triggerSubscriptions === 2 * PER_PATH,
      10000,
      `round ${round}: everyone subscribed`,
    );
    assert.equal(server.stats().triggers, 2, `round ${round}: one projected and one shared trigger`);
    assert.equal(server.stats().subscriptions, 3 * PER_PATH);
    publish('churn', { tick: { seq: round } });
    await eventually(() => clients.every((c) => c.got === 1), 10000, `round ${round}: every client got the event`);
    // half leave with a close frame, half by dropping the connection
    clients.forEach((c, i) => (i % 2 === 0 ? c.ws.close(1000) : c.ws.terminate()));
    await eventually(() => clients.every((c) => c.closed), 10000, `round ${round}: every client closed`);
    await eventually(() => server.stats().open === 0, 10000, `round ${round}: the server saw every close`);
    await nothingLeft(server, `after round ${round + 1} of ${3 * PER_PATH} clients`);
  }
  assert.equal(created, ROUNDS * (2 * PER_PATH + 1));
});
