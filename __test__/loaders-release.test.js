'use strict';
// Nothing of a loader bag outlives its event: over 10k published events, on the batched path
// (a subwire topic), for cohorts (shareKey by user, in the same groups) and through
// withFilter (values traced back to their publish), with
// subscribers leaving while their executions wait on the database, batch calls that reject
// and resolvers that throw, every bag and every event record is garbage once the last
// execution of its event has settled. Counted with a FinalizationRegistry after forced GCs;
// the test keeps every published payload alive, so no bag may hang off a payload either.
const test = require('node:test');
const assert = require('node:assert/strict');
const v8 = require('node:v8');
const vm = require('node:vm');
const WebSocket = require('ws');
const { createClient } = require('graphql-ws');
const { useServer, PubSub } = require('..');
const { PublishEvent } = require('../lib/publish-events.js');
const { eventually } = require('./helpers');
const { fakeDb, chatSchema, DataLoader } = require('./chat');

v8.setFlagsFromString('--expose-gc');
const gc = /** @type {() => void} */ (vm.runInNewContext('gc'));

const EVENTS = 10_000;
const QUERY = 'subscription M($room: String!) { messageAdded(room: $room) { id author { id } viewerCanEdit } }';

test('over 10k events every bag and event is collected once its executions settled (leaving, rejected loads, throwing resolvers)', async (t) => {
  const made = { bags: 0, events: 0 };
  const gone = { bags: 0, events: 0 };
  const registry = new FinalizationRegistry((/** @type {'bags' | 'events'} */ what) => void gone[what]++);
  const seen = new WeakSet();
  const bagFor = PublishEvent.prototype.bagFor;
  PublishEvent.prototype.bagFor = function counted(/** @type {any} */ owner, /** @type {any} */ make) {
    if (!seen.has(this)) {
      seen.add(this);
      made.events++;
      registry.register(this, 'events');
    }
    return bagFor.call(this, owner, make);
  };
  t.after(() => (PublishEvent.prototype.bagFor = bagFor));

  const db = fakeDb();
  const usersByIds = db.usersByIds;
  // every 7th batch call fails as a whole
  db.usersByIds = (ids) => (db.calls.length % 7 === 6 ? (db.calls.push([...ids]), Promise.reject(new Error('db down'))) : usersByIds(ids));
  const loaders = { author: () => new DataLoader((ids) => db.usersByIds(/** @type {string[]} */ (ids))) };
  const authorOf = (/** @type {any} */ m, /** @type {any} */ ctx) => {
    const bag = ctx.loaders;
    if (!seen.has(bag)) {
      seen.add(bag);
      made.bags++;
      registry.register(bag, 'bags');
    }
    return bag.author.load(m.authorId);
  };
  const pubsub = new PubSub();
  const context = (/** @type {any} */ ctx) => ({ user: ctx.connectionParams?.user });
  // (cohorts: shareKey by user, each user's subscriptions one member of the topic's group)
  const servers = ['direct', 'withFilter', 'cohorts'].map((kind) => {
    const source = kind === 'withFilter' ? 'withFilter' : 'direct';
    const shareKey = kind === 'cohorts' ? (/** @type {any} */ ctx) => ctx.connectionParams.user : undefined;
    const server = useServer(/** @type {any} */ ({ schema: chatSchema({ pubsub, source, authorOf }), loaders, context, shareKey }), { port: 0, path: '/graphql' }, 0);
    t.after(() => server.dispose());
    return server;
  });
  /** @type {any[]} */
  const clients = [];
  for (const server of servers) {
    for (const user of ['u1', 'banned']) {
      const client = createClient({ url: `ws://127.0.0.1:${server.address().port}/graphql`, webSocketImpl: WebSocket, retryAttempts: 0, connectionParams: { user } });
      t.after(() => client.dispose());
      clients.push(client);
    }
  }
  let delivered = 0;
  /** @type {(() => void)[]} */
  const live = [];
  const subscribe = (/** @type {any} */ client) =>
    live.push(client.subscribe({ query: QUERY, variables: { room: 'r1' } }, { next: () => void delivered++, error: () => {}, complete: () => {} }));
  for (const client of clients) subscribe(client);
  await eventually(() => servers.every((s) => s.stats().subscriptions === 2), 5000, 'subscribed');

  /** Every payload stays alive until the end. */
  const payloads = [];
  const BURST = 50;
  for (let i = 0; i < EVENTS; i += BURST) {
    const before = delivered;
    for (let j = i; j < i + BURST; j++) {
      // events 3 and 4 of 5 name a user the database does not have: that load fails
      const a = { id: `m${j}`, room: 'r1', text: 't', authorId: j % 5 >= 3 ? 'nobody' : `u${j % 40}`, mentions: [] };
      const b = { ...a };
      payloads.push(a, b);
      pubsub.publish('room:r1', a);
      pubsub.publish('rooms', b);
    }
    if (i % 1000 === 0) {
      // a subscriber leaves while its executions wait on the database, another one comes
      /** @type {() => void} */ (live.shift())();
      subscribe(clients[(i / 1000) % clients.length]);
    }
    // (keep the backlog bounded: 4 deliveries per pair of publishes, less what a leaver misses)
    await eventually(() => delivered >= before + 2 * BURST, 20000, `burst ${i / BURST} delivered`);
  }
  // until the last executions settled: no delivery for 300 ms
  let last = -1;
  while (last !== delivered) {
    last = delivered;
    await new Promise((r) => setTimeout(r, 300));
  }
  assert.equal(servers.reduce((n, s) => n + s.stats().subscriptions, 0), 6);
  // one bag per event and server at most, though most events had two or three subscribers
  // there (a subscriber that leaves drops the events still waiting for it)
  assert.ok(made.bags >= EVENTS && made.bags <= 3 * EVENTS && delivered > 1.2 * made.bags, `${made.bags} bags for ${delivered} results`);
  for (let i = 0; i < 20 && (gone.bags < made.bags || gone.events < made.events); i++) {
    gc();
    await new Promise((r) => setTimeout(r, 20));
  }
  assert.equal(gone.bags, made.bags, `bags still reachable: ${made.bags - gone.bags} of ${made.bags}`);
  assert.equal(gone.events, made.events, `events still reachable: ${made.events - gone.events} of ${made.events}`);
  assert.equal(payloads.length, 2 * EVENTS);
});
