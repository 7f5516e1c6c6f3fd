'use strict';
// The `loaders` option (lib/loaders.js): one loader bag per published event, shared by every
// subscriber's execution of it, on each path an event takes (executed groups, withFilter,
// an app's generator, shared triggers, the app's own subscribe), a bag per query; and what
// each subscriber receives equals graphql-js execute() for it. Real clients (graphql-ws's
// createClient, ws); a fake database counts the batch calls.
const test = require('node:test');
const assert = require('node:assert/strict');
const WebSocket = require('ws');
const graphql = require('graphql');
const { createClient } = require('graphql-ws');
const { useServer, PubSub } = require('..');
const { eventually, run } = require('./helpers');
const { fakeDb, loadersFor, chatSchema, MESSAGE_QUERY, DataLoader } = require('./chat');

/** @param {any} t @param {object} options */
function serve(t, options) {
  const server = useServer(/** @type {any} */ ({ context: (/** @type {any} */ ctx) => ({ user: ctx.connectionParams?.user }), ...options }), { port: 0, path: '/graphql' }, 0);
  t.after(() => server.dispose());
  return server;
}

/**
 * `perUser` subscriptions to `room` for each user, over one graphql-ws client per user.
 * @param {any} t @param {number} port @param {string[]} users @param {number} perUser
 */
function subscribers(t, port, users, perUser, room = 'r1', query = MESSAGE_QUERY) {
  /** @type {{ user: string, results: any[], errors: any[] }[]} */
  const subs = [];
  for (const user of users) {
    const client = createClient({ url: `ws://127.0.0.1:${port}/graphql`, webSocketImpl: WebSocket, retryAttempts: 0, connectionParams: { user } });
    t.after(() => client.dispose());
    for (let i = 0; i < perUser; i++) {
      /** @type {{ user: string, results: any[], errors: any[] }} */
      const sub = { user, results: [], errors: [] };
      subs.push(sub);
      client.subscribe({ query, variables: { room } }, { next: (r) => sub.results.push(r), error: (e) => sub.errors.push(e), complete: () => {} });
    }
  }
  return subs;
}

/** What graphql-js execute() gives `user` for `msg`, with a loader of its own (as JSON). */
async function expected(/** @type {any} */ schema, /** @type {any} */ db, /** @type {any} */ msg, /** @type {string} */ user, query = MESSAGE_QUERY) {
  const author = new DataLoader(async (/** @type {readonly string[]} */ ids) => ids.map((id) => db.users.get(id) ?? new Error(`no user ${id}`)));
  const result = await graphql.execute({ schema, document: graphql.parse(query), variableValues: { room: msg.room }, rootValue: msg, contextValue: { user, loaders: { author } } });
  return JSON.parse(JSON.stringify(result));
}

/** Waits until every subscriber has `n` results. @param {{ results: any[] }[]} subs @param {number} n */
const received = (subs, n, what = `${n} results each`) => eventually(() => subs.every((s) => s.results.length >= n), 5000, what);

const msg = (/** @type {number} */ n, extra = {}) => ({ id: `m${n}`, room: 'r1', text: `hello ${n}`, authorId: 'u1', mentions: ['u2', 'u3', 'u1'], ...extra });

test('one event, many subscribers: the loader batch runs once per event with the distinct keys, a new bag for each event', async (t) => {
  const db = fakeDb();
  const pubsub = new PubSub();
  const schema = chatSchema({ pubsub });
  const server = serve(t, { schema, loaders: loadersFor(db) });
  const subs = subscribers(t, server.address().port, ['u1', 'u2', 'u3'], 10);
  await eventually(() => server.stats().subscriptions === 30, 5000, 'subscribed');

  await pubsub.publish('room:r1', msg(1));
  await received(subs, 1);
  assert.deepEqual(db.calls, [['u1', 'u2', 'u3']], 'one batch call for 30 subscribers');
  for (const s of subs) assert.deepEqual(s.results[0], await expected(schema, db, msg(1), s.user));
  assert.equal(subs.filter((s) => s.results[0].data.messageAdded.viewerCanEdit).length, 10, 'viewerCanEdit per subscriber context');

  // a different event gets a new bag: nothing cached from the first one
  /** @type {any} */ (db.users.get('u1')).name = 'Renamed';
  await pubsub.publish('room:r1', msg(2, { authorId: 'u4', mentions: ['u1'] }));
  await received(subs, 2);
  assert.deepEqual(db.calls, [['u1', 'u2', 'u3'], ['u4', 'u1']]);
  for (const s of subs) assert.deepEqual(s.results[1], await expected(schema, db, msg(2, { authorId: 'u4', mentions: ['u1'] }), s.user));
  assert.equal(subs[0].results[1].data.messageAdded.mentions[0].name, 'Renamed');
});

test("a resolver error in one subscriber's execution does not fail the others", async (t) => {
  const db = fakeDb();
  const pubsub = new PubSub();
  const schema = chatSchema({ pubsub });
  const server = serve(t, { schema, loaders: loadersFor(db) });
  const subs = subscribers(t, server.address().port, ['u1', 'banned', 'u2'], 3);
  await eventually(() => server.stats().subscriptions === 9, 5000, 'subscribed');
  await pubsub.publish('room:r1', msg(1, { mentions: ['nobody'] }));
  await received(subs, 1);
  for (const s of subs) assert.deepEqual(s.results[0], await expected(schema, db, msg(1, { mentions: ['nobody'] }), s.user));
  assert.equal(subs[3].results[0].data.messageAdded, null, 'the banned user gets an error');
  assert.ok(subs[0].results[0].data.messageAdded.author, 'the others get their result');
  assert.deepEqual(db.calls, [['u1', 'nobody']], 'still one batch call');
  // the stream goes on for everyone
  await pubsub.publish('room:r1', msg(2));
  await received(subs, 2);
  assert.equal(db.calls.length, 2);
});

test('withFilter sources: one batch call per event, also for a burst whose executions wait on the database', async (t) => {
  const db = fakeDb(5);
  const pubsub = new PubSub();
  const schema = chatSchema({ pubsub, source: 'withFilter' });
  const server = serve(t, { schema, loaders: loadersFor(db) });
  const subs = subscribers(t, server.address().port, ['u1', 'u2'], 5);
  const others = subscribers(t, server.address().port, ['u3'], 2, 'r2');
  await eventually(() => server.stats().subscriptions === 12, 5000, 'subscribed');
  for (let i = 1; i <= 5; i++) await pubsub.publish('rooms', msg(i, { authorId: `u${i}`, mentions: [] }));
  await received(subs, 5);
  assert.deepEqual(db.calls, [['u1'], ['u2'], ['u3'], ['u4'], ['u5']], 'one call per event, not one per subscriber');
  for (const s of subs) assert.deepEqual(s.results.map((r) => r.data.messageAdded.author.id), ['u1', 'u2', 'u3', 'u4', 'u5'], 'in publish order');
  assert.deepEqual(others.map((s) => s.results.length), [0, 0], 'filtered out');
});

test("an app's generator: the same object yielded shares the event's bag; a new object gets a bag per execution", async (t) => {
  for (const [source, callsPerEvent] of /** @type {const} */ ([['generator-same', 1], ['generator', 4]])) {
    const db = fakeDb();
    const pubsub = new PubSub();
    const server = serve(t, { schema: chatSchema({ pubsub, source }), loaders: loadersFor(db) });
    const subs = subscribers(t, server.address().port, ['u1', 'u2'], 2);
    await eventually(() => server.stats().subscriptions === 4, 5000, 'subscribed');
    await pubsub.publish('room:r1', msg(1));
    await received(subs, 1);
    await pubsub.publish('room:r1', msg(2));
    await received(subs, 2);
    assert.equal(db.calls.length, 2 * callsPerEvent, `${source}: ${db.calls.length} batch calls`);
  }
});

test('shared subscriptions (shareKey) and the app\'s own subscribe get a bag per event too', async (t) => {
  const db = fakeDb();
  const pubsub = new PubSub();
  const schema = chatSchema({ pubsub });
  const shared = serve(t, { schema, loaders: loadersFor(db), shareKey: () => 'all', context: { user: 'u1' } });
  const own = serve(t, { schema, loaders: loadersFor(db), subscribe: (/** @type {any} */ args) => graphql.subscribe(args) });
  const a = subscribers(t, shared.address().port, ['u1', 'u2'], 3);
  const b = subscribers(t, own.address().port, ['u1', 'u2'], 1);
  await eventually(() => shared.stats().triggerSubscriptions === 6 && own.stats().subscriptions === 2, 5000, 'subscribed');
  await pubsub.publish('room:r1', msg(1));
  await received([...a, ...b], 1);
  // shared: one execution for 6 subscribers; own subscribe: subwire cannot see its executions, a bag each
  assert.equal(db.calls.length, 1 + 2);
  /** @type {any} */ (db.users.get('u1')).name = 'Renamed';
  await pubsub.publish('room:r1', msg(2));
  await received([...a, ...b], 2);
  assert.equal(db.calls.length, 2 * 3);
  for (const s of [...a, ...b]) assert.equal(s.results[1].data.messageAdded.author.name, 'Renamed', 'no cache kept across events');
  for (const s of a) assert.deepEqual(s.results[1], await expected(schema, db, msg(2), 'u1'));
  for (const s of b) assert.deepEqual(s.results[1], await expected(schema, db, msg(2), s.user));
});

test('queries over the socket get a bag per operation', async (t) => {
  const db = fakeDb();
  const schema = chatSchema({ pubsub: new PubSub() });
  const server = serve(t, { schema, loaders: loadersFor(db) });
  const client = createClient({ url: `ws://127.0.0.1:${server.address().port}/graphql`, webSocketImpl: WebSocket, retryAttempts: 0 });
  t.after(() => client.dispose());
  const query = '{ a: user(id: "u1") { name } b: user(id: "u2") { name } c: user(id: "u1") { id } }';
  const first = await run(client, { query });
  assert.deepEqual(first.results, [{ data: { a: { name: 'User 1' }, b: { name: 'User 2' }, c: { id: 'u1' } } }]);
  assert.deepEqual(db.calls, [['u1', 'u2']]);
  await run(client, { query });
  assert.deepEqual(db.calls, [['u1', 'u2'], ['u1', 'u2']], 'a new bag for the next operation');
});

test('a context that already has `loaders`, or is not an object, fails the operation with ERR_SUBWIRE_LOADERS_CONFLICT', async (t) => {
  const schema = chatSchema({ pubsub: new PubSub() });
  /** @type {any[]} */
  const logged = [];
  const original = console.error;
  console.error = (...args) => logged.push(args);
  t.after(() => (console.error = original));
  for (const context of [() => ({ user: 'u1', loaders: {} }), 'a string']) {
    const server = serve(t, { schema, loaders: loadersFor(fakeDb()), context });
    const client = createClient({ url: `ws://127.0.0.1:${server.address().port}/graphql`, webSocketImpl: WebSocket, retryAttempts: 0 });
    t.after(() => client.dispose());
    const { error } = await run(client, { query: MESSAGE_QUERY, variables: { room: 'r1' } });
    assert.equal(/** @type {any} */ (error)?.code, 4500);
  }
  const codes = logged.map((args) => args.find((a) => a instanceof Error)?.code);
  assert.deepEqual(codes, ['ERR_SUBWIRE_LOADERS_CONFLICT', 'ERR_SUBWIRE_LOADERS_CONFLICT']);
});

test('the loaders option is checked before anything listens', () => {
  for (const loaders of [5, null, [], { author: 'not a function' }]) {
    assert.throws(() => useServer(/** @type {any} */ ({ schema: chatSchema({ pubsub: new PubSub() }), loaders }), { port: 0 }), { code: 'ERR_SUBWIRE_INVALID_OPTION' });
  }
});

test('loaders are made on first use: a bag holds only the loaders its resolvers touched', async (t) => {
  const db = fakeDb();
  const pubsub = new PubSub();
  let made = 0;
  let unused = 0;
  const loaders = { author: () => (made++, new DataLoader((ids) => db.usersByIds(/** @type {string[]} */ (ids)))), other: () => (unused++, null) };
  const server = serve(t, { schema: chatSchema({ pubsub }), loaders });
  const subs = subscribers(t, server.address().port, ['u1', 'u2'], 5, 'r1', 'subscription M($room: String!) { messageAdded(room: $room) { id text } }');
  const withAuthor = subscribers(t, server.address().port, ['u3'], 2);
  await eventually(() => server.stats().subscriptions === 12, 5000, 'subscribed');
  await pubsub.publish('room:r1', msg(1));
  await pubsub.publish('room:r1', msg(2));
  await received([...subs, ...withAuthor], 2);
  assert.equal(made, 2, 'one loader per event that used it');
  assert.equal(unused, 0);
});
