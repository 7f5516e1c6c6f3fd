'use strict';
// The peer's close frame, code and reason, reaches the app's hooks (onDisconnect after an
// acknowledged init, onClose always) as graphql-ws on ws passes them, and the server's close
// reply echoes both. Real clients: graphql-ws's createClient and ws.
const test = require('node:test');
const assert = require('node:assert/strict');
const WebSocket = require('ws');
const { buildSchema } = require('graphql');
const { createClient } = require('graphql-ws');
const { useServer } = require('..');
const { eventually } = require('./helpers');

const schema = buildSchema('type Query { hello: String }');

function setup(t) {
  /** @type {any[][]} */
  const calls = [];
  const server = useServer(
    {
      schema,
      onDisconnect: (_ctx, code, reason) => void calls.push(['onDisconnect', code, reason]),
      onClose: (_ctx, code, reason) => void calls.push(['onClose', code, reason]),
    },
    { port: 0, path: '/graphql' },
    0,
  );
  t.after(() => server.dispose());
  return { calls, url: `ws://127.0.0.1:${server.address().port}/graphql`, server };
}

test("createClient closing with 4321 'Byebye': both hooks get the code and the reason", async (t) => {
  const { calls, url } = setup(t);
  /** @type {any} */
  let socket;
  let closed;
  const client = createClient({
    url,
    webSocketImpl: WebSocket,
    retryAttempts: 0,
    lazy: false,
    onNonLazyError: () => {},
    on: { connected: (s) => (socket = s), closed: (e) => (closed = e) },
  });
  t.after(() => client.dispose());
  await eventually(() => socket, 5000, 'the client to be acknowledged');
  socket.close(4321, 'Byebye');
  await eventually(() => calls.length === 2 || undefined, 3000, 'onDisconnect and onClose');
  assert.deepEqual(calls, [
    ['onDisconnect', 4321, 'Byebye'],
    ['onClose', 4321, 'Byebye'],
  ]);
  await eventually(() => closed, 3000, 'the client to see the close');
  assert.deepEqual([closed.code, String(closed.reason)], [4321, 'Byebye'], 'the close reply echoes code and reason');
});

test('a reason of 123 bytes (the most a close frame holds) arrives whole; no reason, and no code', async (t) => {
  const { calls, url } = setup(t);
  const reason = 'é'.repeat(61) + 'x'; // 123 bytes, 62 characters
  assert.equal(Buffer.byteLength(reason), 123);
  const cases = [
    [(ws) => ws.close(4000, reason), 4000, reason],
    [(ws) => ws.close(1000), 1000, ''],
    [(ws) => ws.close(), 1005, ''],
  ];
  for (const [close, code, want] of cases) {
    for (const protocol of ['graphql-transport-ws', 'graphql-ws']) {
      calls.length = 0;
      const ws = new WebSocket(url, protocol);
      ws.on('error', () => {});
      ws.on('open', () => ws.send(JSON.stringify({ type: 'connection_init' })));
      await new Promise((resolve) => ws.on('message', resolve)); // connection_ack
      const echoed = new Promise((resolve) => ws.on('close', (c, r) => resolve([c, String(r)])));
      close(ws);
      await eventually(() => calls.length === 2 || undefined, 3000, `${protocol} ${code}: both hooks`);
      assert.deepEqual(calls, [
        ['onDisconnect', code, want],
        ['onClose', code, want],
      ], `${protocol} ${code}`);
      assert.deepEqual(await echoed, [code, want]);
    }
  }
});

test('closed before connection_init: onClose alone gets code and reason', async (t) => {
  const { calls, url } = setup(t);
  const ws = new WebSocket(url, 'graphql-transport-ws');
  ws.on('error', () => {});
  ws.on('open', () => ws.close(4001, 'not today'));
  const echoed = await new Promise((resolve) => ws.on('close', (c, r) => resolve([c, String(r)])));
  assert.deepEqual(echoed, [4001, 'not today']);
  await eventually(() => calls.length === 1 || undefined, 3000, 'onClose');
  assert.deepEqual(calls, [['onClose', 4001, 'not today']]);
});
