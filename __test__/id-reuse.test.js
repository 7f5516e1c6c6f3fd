'use strict';
// A client may complete an operation and subscribe again with the same id at once, while
// events of the old operation are still on their way (queued in JS, in the hub, in a
// reactor's inbox). Once the server has read the `complete`, nothing of the old operation
// may reach the client under that id: not even after the id is active again. A `ping`
// sent right behind the new `subscribe` marks the spot: the `pong` is queued when the
// server reads it, so an event of the old topic after the `pong` came from the old
// operation. Shared (hub) and unshared (JS per subscriber) paths, under a publish flood.
const test = require('node:test');
const assert = require('node:assert/strict');
const WebSocket = require('ws');
const { buildSchema } = require('graphql');
const { useServer, PubSub } = require('..');

const schema = buildSchema('type Query { a: Int } type Subscription { tick(topic: String!): String }');

/** Opens an acknowledged graphql-transport-ws connection; resolves with the socket and its message log. */
async function connect(port) {
  const ws = new WebSocket(`ws://127.0.0.1:${port}/graphql`, 'graphql-transport-ws');
  /** @type {any[]} */
  const log = [];
  ws.on('message', (data) => log.push(JSON.parse(String(data))));
  await new Promise((resolve, reject) => {
    ws.once('open', resolve);
    ws.once('error', reject);
  });
  ws.send(JSON.stringify({ type: 'connection_init' }));
  for (let i = 0; i < 200 && !log.some((m) => m.type === 'connection_ack'); i++) await new Promise((r) => setTimeout(r, 10));
  assert.ok(log.some((m) => m.type === 'connection_ack'), 'acknowledged');
  return { ws, log };
}

/** @param {string} topic */
const sub = (topic) => ({ query: `subscription { tick(topic: "${topic}") }` });

for (const shared of [true, false]) {
  test(`a reused id gets nothing of its old operation after the server read the complete (${shared ? 'shared' : 'unshared'})`, async (t) => {
    const pubsub = new PubSub();
    const server = useServer(
      {
        schema,
        roots: { subscription: { tick: ({ topic }) => pubsub.asyncIterableIterator(topic) } },
        // projection off: the unshared case runs graphql-js per subscriber, as graphql-ws
        projection: false,
        ...(shared ? { shareKey: () => 'all' } : {}),
      },
      { port: 0, path: '/graphql' },
    );
    t.after(() => server.dispose());
    let flooding = true;
    t.after(() => (flooding = false));

    for (let round = 0; round < 5; round++) {
      const { ws, log } = await connect(server.address().port);
      ws.send(JSON.stringify({ id: 'x', type: 'subscribe', payload: sub('A') }));
      for (let i = 0; i < 300 && server.stats().subscriptions < 1; i++) await new Promise((r) => setTimeout(r, 10));
      flooding = true;
      let n = 0;
      const flood = () => {
        if (!flooding) return;
        for (let k = 0; k < 20; k++) pubsub.publish('A', { tick: `A${++n}` });
        setImmediate(flood);
      };
      flood();
      // Wait until events flow, then complete, resubscribe with the same id and ping, in one go.
      for (let i = 0; i < 500 && log.filter((m) => m.type === 'next').length < 50; i++) await new Promise((r) => setTimeout(r, 2));
      ws.send(JSON.stringify({ id: 'x', type: 'complete' }));
      ws.send(JSON.stringify({ id: 'x', type: 'subscribe', payload: sub('B') }));
      ws.send(JSON.stringify({ type: 'ping' }));
      for (let i = 0; i < 300 && !log.some((m) => m.type === 'pong'); i++) await new Promise((r) => setTimeout(r, 5));
      // The new operation is live: it gets B (published until it arrives).
      for (let i = 0; i < 300 && !log.some((m) => m.payload?.data?.tick === 'B'); i++) {
        pubsub.publish('B', { tick: 'B' });
        await new Promise((r) => setTimeout(r, 10));
      }
      await new Promise((r) => setTimeout(r, 50));
      flooding = false;
      const pong = log.findIndex((m) => m.type === 'pong');
      assert.ok(pong >= 0, 'the ping was answered');
      const late = log.slice(pong).filter((m) => m.type === 'next' && m.payload?.data?.tick?.startsWith('A'));
      assert.deepEqual(late, [], `round ${round}: events of the completed operation after the server read its complete`);
      assert.ok(log.slice(pong).some((m) => m.type === 'next' && m.payload?.data?.tick === 'B'), 'the new operation gets its events');
      assert.ok(log.slice(0, pong).filter((m) => m.type === 'next').length >= 50, 'the old one streamed before');
      ws.close();
      await new Promise((r) => ws.once('close', r));
      for (let i = 0; i < 300 && server.stats().subscriptions > 0; i++) await new Promise((r) => setTimeout(r, 10));
    }
  });
}
