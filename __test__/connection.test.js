'use strict';
// graphql-ws's `ctx` as subwire keeps it small (lib/connection.js): `ctx.subscriptions` is a
// live read-only view of the connection's operations (unshared and shared, one or many),
// `ctx.extra` is built when first read and can be replaced; driven by graphql-ws's
// createClient against a real listening server.
const test = require('node:test');
const assert = require('node:assert/strict');
const WebSocket = require('ws');
const { buildSchema } = require('graphql');
const { createClient } = require('graphql-ws');
const { useServer, PubSub } = require('..');
const { eventually } = require('./helpers');

const schema = buildSchema(`
  type Query { hello: String }
  type Subscription { feed(topic: String!): String, own(topic: String!): String }
`);

/** A server where `feed` is shared (one trigger per topic) and `own` is not. */
function setup(t, options = {}) {
  const pubsub = new PubSub();
  /** @type {any[]} */
  const ctxs = [];
  const server = useServer(
    {
      schema,
      roots: {
        subscription: {
          feed: ({ topic }) => pubsub.asyncIterableIterator(topic),
          own: ({ topic }) => pubsub.asyncIterableIterator(topic),
        },
      },
      shareKey: (_ctx, msg) => (/\bfeed\b/.test(msg.payload?.query ?? msg.query ?? '') ? 'all' : undefined),
      onConnect: (ctx) => {
        ctxs.push(ctx);
      },
      ...options,
    },
    { port: 0, path: '/graphql' },
  );
  const client = createClient({
    url: `ws://127.0.0.1:${server.address().port}/graphql?x=1`,
    webSocketImpl: WebSocket,
    retryAttempts: 0,
    lazy: true,
  });
  t.after(async () => {
    await client.dispose();
    await server.dispose();
  });
  return { server, client, pubsub, ctxs };
}

/** Subscribes and collects results until the returned stop() is called. */
function subscribe(client, query) {
  const got = [];
  const stop = client.subscribe({ query }, { next: (r) => got.push(r.data), error: () => {}, complete: () => {} });
  return { got, stop };
}

test('ctx.subscriptions lists every operation of the connection, shared or not, and follows them', async (t) => {
  const { server, client, pubsub, ctxs } = setup(t);
  const a = subscribe(client, 'subscription { own(topic: "a") }');
  const b = subscribe(client, 'subscription { feed(topic: "b") }');
  const c = subscribe(client, 'subscription { own(topic: "c") }');
  // (the hub thread counts triggers a moment after JS counts the operations)
  await eventually(() => (server.stats().subscriptions === 3 && server.stats().triggers === 3) || undefined, 5000, 'three live');
  assert.equal(ctxs.length, 1, 'one connection');
  const [ctx] = ctxs;
  const subs = ctx.subscriptions;
  const ids = Object.keys(subs);
  assert.equal(ids.length, 3);
  for (const id of ids) {
    assert.ok(id in subs);
    assert.equal(typeof subs[id].return, 'function', `${id} is an iterator with return()`);
    assert.equal(typeof subs[id][Symbol.asyncIterator], 'function');
  }
  assert.equal(Object.values(subs).length, 3);
  assert.equal(Object.getPrototypeOf(subs), null, 'no prototype, as graphql-ws’s object');
  assert.equal(subs.toString, undefined);
  assert.equal(subs['no such id'], undefined);
  assert.throws(() => {
    subs.x = null;
  }, TypeError, 'read-only');
  assert.throws(() => {
    delete subs[ids[0]];
  }, TypeError);
  assert.equal(Object.keys(subs).length, 3, 'unchanged by the refused writes');

  pubsub.publish('a', { own: 'A1' });
  pubsub.publish('b', { feed: 'B1' });
  pubsub.publish('c', { own: 'C1' });
  await eventually(() => (a.got.length && b.got.length && c.got.length) || undefined, 5000, 'one event each');

  // The client completes the shared one and one unshared one: the view follows.
  b.stop();
  a.stop();
  await eventually(() => Object.keys(subs).length === 1 || undefined, 5000, 'two gone from the view');
  // (`own` has default resolvers: Rust projects it, one trigger per topic, as `feed`'s shared one)
  await eventually(() => server.stats().triggers === 1 || undefined, 5000, 'the triggers of the completed ones stopped');
  // return() from the app ends the last one, as on graphql-ws.
  const [last] = Object.values(subs);
  await last.return();
  await eventually(() => server.stats().subscriptions === 0 || undefined, 5000, 'none live');
  assert.deepEqual(Object.keys(ctx.subscriptions), []);
  c.stop();
});

test('ctx.extra is the upgrade request’s url and headers, built once and replaceable', async (t) => {
  /** @type {any[]} */
  const seen = [];
  const { client, ctxs } = setup(t, {
    onSubscribe: (ctx) => {
      seen.push(ctx.extra);
    },
  });
  const a = subscribe(client, 'subscription { own(topic: "x") }');
  const b = subscribe(client, 'subscription { feed(topic: "x") }');
  await eventually(() => seen.length === 2 || undefined, 5000, 'both subscribed');
  assert.equal(seen[0], seen[1], 'the same object each time');
  assert.equal(seen[0].request.url, '/graphql?x=1');
  assert.deepEqual(Object.keys(seen[0]).sort(), ['request', 'socket']);
  assert.equal(typeof seen[0].request.headers, 'object');
  const [ctx] = ctxs;
  assert.ok(Object.keys(ctx).includes('extra'), 'an own, enumerable property once read');
  ctx.extra = { mine: true };
  assert.deepEqual(ctx.extra, { mine: true }, 'the app may replace it');
  assert.deepEqual(Object.keys(ctx).sort(), ['acknowledged', 'connectionInitReceived', 'extra'].sort());
  a.stop();
  b.stop();
});
