'use strict';
// The `loaders` option with events from the broker (issue 17 × issue 16): a message another
// process publishes on Redis is one event here too, so every subscriber's execution of it
// shares one loader bag (one batch call), on the batched path, for cohorts (shareKey by
// user) and through withFilter; and each
// result equals graphql-js execute() of the message as it came over the wire. A real
// redis-server (started by the test), a foreign publisher (redis-cli), graphql-ws clients.
const test = require('node:test');
const assert = require('node:assert/strict');
const WebSocket = require('ws');
const graphql = require('graphql');
const { createClient } = require('graphql-ws');
const { useServer, PubSub } = require('..');
const { eventually } = require('./helpers');
const { SKIP, startRedis } = require('./redis');
const { fakeDb, loadersFor, chatSchema, MESSAGE_QUERY, DataLoader } = require('./chat');

/** @param {any} t @param {number} port @param {string[]} users @param {number} perUser @param {string} room */
function subscribers(t, port, users, perUser, room) {
  /** @type {{ user: string, results: any[] }[]} */
  const subs = [];
  for (const user of users) {
    const client = createClient({ url: `ws://127.0.0.1:${port}/graphql`, webSocketImpl: WebSocket, retryAttempts: 0, connectionParams: { user } });
    t.after(() => client.dispose());
    for (let i = 0; i < perUser; i++) {
      /** @type {{ user: string, results: any[] }} */
      const sub = { user, results: [] };
      subs.push(sub);
      client.subscribe({ query: MESSAGE_QUERY, variables: { room } }, { next: (r) => sub.results.push(r), error: () => {}, complete: () => {} });
    }
  }
  return subs;
}

/** What graphql-js execute() gives `user` for `msg`, with a loader of its own (as JSON). */
async function expected(/** @type {any} */ schema, /** @type {any} */ db, /** @type {any} */ msg, /** @type {string} */ user) {
  const author = new DataLoader(async (/** @type {readonly string[]} */ ids) => ids.map((id) => db.users.get(id) ?? new Error(`no user ${id}`)));
  const result = await graphql.execute({ schema, document: graphql.parse(MESSAGE_QUERY), variableValues: { room: msg.room }, rootValue: msg, contextValue: { user, loaders: { author } } });
  return JSON.parse(JSON.stringify(result));
}

// One process has one broker: both tests use the same redis-server (and a room each).
/** @type {any} */
let redis = null;
test.before(async () => {
  if (!SKIP) redis = await startRedis(null);
});
test.after(() => redis?.stop());

// (the withFilter variant listens to every room on one topic and filters by its variable;
// the cohorts variant shares by user: one execution per user in the topic's executed group)
for (const [label, source, room, topic] of /** @type {const} */ ([['direct', 'direct', 'r1', 'room:r1'], ['withFilter', 'withFilter', 'r2', 'rooms'], ['cohorts: shareKey by user', 'direct', 'r3', 'room:r3']])) {
  test(`a message from another process is one event: its executions share one loader bag (${label})`, { skip: SKIP }, async (t) => {
    const db = fakeDb();
    const broker = { url: redis.url, prefix: 'app:' };
    const pubsub = new PubSub({ broker });
    const schema = chatSchema({ pubsub, source });
    const shareKey = label.startsWith('cohorts') ? (/** @type {any} */ ctx) => ctx.connectionParams.user : undefined;
    const server = useServer(
      /** @type {any} */ ({ schema, broker, loaders: loadersFor(db), shareKey, context: (/** @type {any} */ ctx) => ({ user: ctx.connectionParams?.user }) }),
      { port: 0, path: '/graphql' },
      0,
    );
    t.after(() => server.dispose());
    const subs = subscribers(t, server.address().port, ['u1', 'u2', 'u3'], 4, room);
    await eventually(() => server.stats().subscriptions === 12, 5000, '12 subscriptions');
    if (shareKey) await eventually(() => server.stats().triggers === 3, 5000, 'three cohorts');
    await eventually(() => redis.numsub(`app:${topic}`) === 1, 5000, 'the topic subscribed on Redis');

    const msgs = [1, 2, 3].map((n) => ({ id: `m${n}`, room, text: `hi ${n}`, authorId: `u${n}`, mentions: ['u4', `u${n + 1}`] }));
    for (const m of msgs) redis.cli('PUBLISH', `app:${topic}`, JSON.stringify(m));
    await eventually(() => subs.every((s) => s.results.length === 3), 10_000, 'three results each');

    assert.equal(db.calls.length, 3, `one batch call per message, not one per subscriber: ${JSON.stringify(db.calls)}`);
    for (const [i, m] of msgs.entries()) assert.deepEqual([...db.calls[i]].sort(), [...new Set([m.authorId, ...m.mentions])].sort());
    for (const s of subs) {
      for (const [i, m] of msgs.entries()) assert.deepEqual(s.results[i], await expected(schema, db, m, s.user), `${s.user}, message ${i + 1}`);
    }
  });
}
