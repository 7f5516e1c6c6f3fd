'use strict';
// Differential test of the per-subscriber paths with per-subscriber variables, contexts and
// loader-resolved fields: every `next` frame a subwire subscriber receives must be, byte for
// byte, what graphql-ws on ws sends the same subscriber (with a DataLoader per subscription
// in its context, the usual setup), and that must be graphql-js execute() of the event with
// that subscriber's variables and context. subwire rows: executed groups with `loaders`,
// withFilter sources with `loaders`, and executed groups with the app's own per-subscription
// loaders (no `loaders` option).
const test = require('node:test');
const assert = require('node:assert/strict');
const WebSocket = require('ws');
const graphql = require('graphql');
const { useServer, PubSub } = require('..');
const { eventually } = require('./helpers');
const { fakeDb, loadersFor, chatSchema, DataLoader } = require('./chat');

const QUERIES = {
  full: 'subscription M($room: String!) { messageAdded(room: $room) { id text author { id name } viewerCanEdit mentions { id name } } }',
  short: 'subscription M($room: String!) {\n  messageAdded(room: $room) { author { name } id }\n}',
};
const USERS = ['u1', 'u2', 'banned'];
const ROOMS = ['r1', 'r2'];

/** Per subscription: `${user} ${room} ${query}` → next frames. */
async function rawClient(/** @type {number} */ port, /** @type {string} */ user) {
  const ws = new WebSocket(`ws://127.0.0.1:${port}/graphql`, 'graphql-transport-ws');
  /** @type {Map<string, string[]>} */
  const got = new Map();
  /** @type {Map<string, string>} */
  const keyOf = new Map();
  let acked = false;
  ws.on('message', (data) => {
    const text = String(data);
    const m = JSON.parse(text);
    if (m.type === 'connection_ack') acked = true;
    else if (m.type === 'next') /** @type {string[]} */ (got.get(/** @type {string} */ (keyOf.get(m.id)))).push(text);
  });
  await new Promise((resolve, reject) => (ws.once('open', resolve), ws.once('error', reject)));
  ws.send(JSON.stringify({ type: 'connection_init', payload: { user } }));
  await eventually(() => acked, 5000, 'ack');
  let n = 0;
  for (const room of ROOMS) {
    for (const [name, query] of Object.entries(QUERIES)) {
      const id = `${name}-${room}-${n++}`;
      const key = `${user} ${room} ${name}`;
      keyOf.set(id, key);
      got.set(key, []);
      ws.send(JSON.stringify({ id, type: 'subscribe', payload: { query, variables: { room } } }));
    }
  }
  return { ws, got };
}

test('batched and withFilter paths with loaders deliver what graphql-ws delivers, per subscriber', async (t) => {
  const db = fakeDb();
  const pubsub = new PubSub();
  const direct = chatSchema({ pubsub });
  const filtered = chatSchema({ pubsub, source: 'withFilter' });
  const userOf = (/** @type {any} */ ctx) => ctx.connectionParams?.user;
  // graphql-ws on ws: a DataLoader per subscription in the context
  const { useServer: gqlws } = require('graphql-ws/use/ws');
  const wss = new WebSocket.WebSocketServer({ port: 0, path: '/graphql' });
  await new Promise((r) => wss.once('listening', r));
  const cleanup = gqlws({ schema: direct, context: (/** @type {any} */ ctx) => ({ user: userOf(ctx), loaders: { author: new DataLoader((ids) => db.usersByIds(/** @type {string[]} */ (ids))) } }) }, wss);
  t.after(async () => {
    await cleanup.dispose();
    await new Promise((r) => wss.close(r));
  });
  const serve = (/** @type {object} */ options) => {
    const s = useServer(/** @type {any} */ ({ context: (/** @type {any} */ ctx) => ({ user: userOf(ctx) }), ...options }), { port: 0, path: '/graphql' }, 0);
    t.after(() => s.dispose());
    return s;
  };
  const servers = {
    'executed, loaders': serve({ schema: direct, loaders: loadersFor(db) }),
    'withFilter, loaders': serve({ schema: filtered, loaders: loadersFor(db) }),
    'executed, own loaders': serve({
      schema: direct,
      context: (/** @type {any} */ ctx) => ({ user: userOf(ctx), loaders: { author: new DataLoader((ids) => db.usersByIds(/** @type {string[]} */ (ids))) } }),
    }),
  };
  const ops = USERS.length * ROOMS.length * Object.keys(QUERIES).length;
  /** @type {Record<string, Awaited<ReturnType<typeof rawClient>>[]>} */
  const clients = { 'graphql-ws': [] };
  const refPort = /** @type {import('node:net').AddressInfo} */ (wss.address()).port;
  for (const [name, port] of [['graphql-ws', refPort], ...Object.entries(servers).map(([k, s]) => [k, s.address().port])]) {
    clients[name] = [];
    for (const user of USERS) {
      const c = await rawClient(/** @type {number} */ (port), user);
      t.after(() => c.ws.close());
      clients[name].push(c);
    }
  }
  await eventually(() => Object.values(servers).every((s) => s.stats().subscriptions === ops), 10000, 'subscribed');
  const { topicListeners } = require('../lib/topics.js');
  await eventually(() => (topicListeners.get('room:r1')?.size ?? 0) >= ops / 2 + 2, 10000, 'graphql-ws subscribed');

  const events = [
    { id: 'm1', text: 'plain', authorId: 'u1', mentions: ['u2', 'u1'] },
    { id: 'm2', text: 'unknown author', authorId: 'ghost', mentions: ['u2', 'ghost'] },
    { id: 'm3', text: 'by u2', authorId: 'u2', mentions: [] },
    { id: 'm4', text: new Date(0), authorId: 'u3', mentions: null },
  ];
  for (const [i, e] of events.entries()) {
    for (const room of ROOMS) {
      const m = { ...e, room };
      pubsub.publish(`room:${room}`, m);
      pubsub.publish('rooms', { ...m });
    }
    await eventually(() => Object.values(clients).every((list) => list.every((c) => [...c.got.values()].every((f) => f.length > i))), 10000, `event ${i} everywhere`);
  }
  const failures = [];
  for (const [u, user] of USERS.entries()) {
    for (const [key, want] of clients['graphql-ws'][u].got) {
      const [, room, name] = key.split(' ');
      for (const [i, e] of events.entries()) {
        const author = new DataLoader(async (/** @type {readonly string[]} */ ids) => ids.map((id) => db.users.get(id) ?? new Error(`no user ${id}`)));
        const result = await graphql.execute({ schema: direct, document: graphql.parse(QUERIES[/** @type {'full' | 'short'} */ (name)]), variableValues: { room }, rootValue: { ...e, room }, contextValue: { user, loaders: { author } } });
        const { errors, ...rest } = result;
        const payload = { ...rest, ...(errors ? { errors: errors.map((x) => x.toJSON()) } : {}) };
        if (JSON.stringify(JSON.parse(want[i]).payload) !== JSON.stringify(payload)) failures.push(`graphql-ws ${key} ${e.id}: not execute()'s: ${want[i]}`);
      }
      for (const path of Object.keys(servers)) {
        const got = /** @type {string[]} */ (clients[path][u].got.get(key));
        const strip = (/** @type {string} */ f) => f.replace(/^\{"id":"[^"]*",/, '{');
        for (let i = 0; i < events.length; i++) if (strip(got[i]) !== strip(want[i])) failures.push(`${path} ${key} ${events[i].id}:\n    got  ${got[i]}\n    want ${want[i]}`);
      }
    }
  }
  assert.deepEqual(failures, [], `\n${failures.join('\n')}`);
});
