'use strict';
// mode 'graphql': the protocol sessions run in Rust; JS sees batched events and answers
// through the low-level session API. Driven with a real ws client speaking each protocol.
const test = require('node:test');
const assert = require('node:assert/strict');
const WebSocket = require('ws');
const { listen } = require('..');
const { eventually } = require('./helpers');

/** A ws client that records parsed messages and its close. */
function client(url, protocol) {
  const ws = new WebSocket(url, protocol);
  const c = { ws, messages: [], closed: null };
  ws.on('message', (m) => c.messages.push(JSON.parse(String(m))));
  ws.on('close', (code, reason) => (c.closed = { code, reason: String(reason) }));
  c.opened = new Promise((resolve, reject) => {
    ws.once('open', resolve);
    ws.once('error', reject);
  });
  c.send = (msg) => ws.send(JSON.stringify(msg));
  c.waitFor = (pred, what) => eventually(() => c.messages.find(pred), 3000, what).then(() => c.messages.find(pred));
  return c;
}

/** A server whose onEvents records every event and runs `handler` on each. */
function server(opts, handler) {
  const events = [];
  let batches = 0;
  const s = listen({
    port: 0,
    mode: 'graphql',
    headers: ['authorization'],
    ...opts,
    onEvents: (batch) => {
      batches += 1;
      for (const ev of batch) {
        events.push(ev);
        handler?.(s, ev);
      }
    },
  });
  return { s, events, batches: () => batches, url: `ws://127.0.0.1:${s.address().port}/graphql?v=1` };
}

test('graphql-transport-ws: init → ack with payload, subscribe → next × 3 → complete, close reaches JS', async (t) => {
  const { s, events, url } = server({ path: '/graphql' }, (srv, ev) => {
    if (ev.type === 'init') srv.accept(ev.conn, { hello: 'there' });
    if (ev.type === 'subscribe') {
      for (let i = 1; i <= 3; i++) srv.next(ev.conn, ev.id, { data: { tick: i } });
      srv.complete(ev.conn, ev.id);
    }
  });
  t.after(() => s.dispose());
  const c = client(url, ['graphql-transport-ws']);
  c.ws.on('upgrade', (res) => (c.protocol = res.headers['sec-websocket-protocol']));
  await c.opened;
  assert.equal(c.ws.protocol, 'graphql-transport-ws');
  c.send({ type: 'connection_init', payload: { token: 'abc' } });
  const ack = await c.waitFor((m) => m.type === 'connection_ack', 'connection_ack');
  assert.deepEqual(ack.payload, { hello: 'there' });
  const init = events.find((e) => e.type === 'init');
  assert.deepEqual(JSON.parse(init.payload), { token: 'abc' });
  assert.equal(init.url, '/graphql?v=1');
  assert.equal(init.protocol, 'graphql-transport-ws');
  assert.ok(Number.isInteger(init.conn));

  c.send({ id: 'a"1', type: 'subscribe', payload: { query: 'subscription { tick }', variables: { x: 1 } } });
  await c.waitFor((m) => m.type === 'complete', 'complete');
  const sub = events.find((e) => e.type === 'subscribe');
  assert.equal(sub.id, 'a"1');
  assert.deepEqual(JSON.parse(sub.payload), { query: 'subscription { tick }', variables: { x: 1 } });
  const nexts = c.messages.filter((m) => m.type === 'next');
  assert.deepEqual(nexts.map((m) => [m.id, m.payload.data.tick]), [['a"1', 1], ['a"1', 2], ['a"1', 3]]);

  // Ping is answered in Rust, with its payload.
  c.send({ type: 'ping', payload: { n: 7 } });
  const pong = await c.waitFor((m) => m.type === 'pong', 'pong');
  assert.deepEqual(pong.payload, { n: 7 });

  c.ws.close(1000, 'done');
  await eventually(() => events.some((e) => e.type === 'closed'), 3000, 'the closed event');
  const closed = events.find((e) => e.type === 'closed');
  assert.equal(closed.code, 1000);
  assert.equal(closed.acknowledged, true);
  assert.equal(closed.conn, init.conn);
});

test('a client complete reaches JS, and results for that id are no longer sent', async (t) => {
  let subConn;
  const { s, events, url } = server({}, (srv, ev) => {
    if (ev.type === 'init') srv.accept(ev.conn);
    if (ev.type === 'subscribe') subConn = ev.conn;
  });
  t.after(() => s.dispose());
  const c = client(url.replace('/graphql?v=1', '/'), 'graphql-transport-ws');
  await c.opened;
  c.send({ type: 'connection_init' });
  await c.waitFor((m) => m.type === 'connection_ack', 'ack');
  c.send({ id: '1', type: 'subscribe', payload: { query: '{ a }' } });
  await eventually(() => subConn !== undefined, 3000, 'subscribe event');
  assert.equal(s.next(subConn, '1', '{"data":{"a":1}}'), true);
  await c.waitFor((m) => m.type === 'next', 'first next');
  c.send({ id: '1', type: 'complete' });
  await eventually(() => events.some((e) => e.type === 'complete' && e.id === '1'), 3000, 'complete event');
  s.next(subConn, '1', '{"data":{"a":2}}');
  await new Promise((r) => setTimeout(r, 100));
  assert.equal(c.messages.filter((m) => m.type === 'next').length, 1, 'nothing after the client completed');
  c.ws.terminate();
});

test('close codes decided in Rust: 4406, 4408, 4400, 4401, 4429, 4409; 4403 and 4500 from JS', async (t) => {
  const { s, url } = server({ connectionInitWaitTimeout: 150, path: '/' }, (srv, ev) => {
    if (ev.type === 'init') {
      const p = ev.payload ? JSON.parse(ev.payload) : {};
      if (p.deny) srv.reject(ev.conn);
      else if (p.crash) srv.internalError(ev.conn, 'onConnect threw: é'.padEnd(200, 'x'));
      else srv.accept(ev.conn);
    }
  });
  t.after(() => s.dispose());
  const base = url.replace('/graphql?v=1', '/');
  const closeOf = async (protocol, act) => {
    const c = client(base, protocol);
    await c.opened;
    await act?.(c);
    await eventually(() => c.closed, 3000, 'close');
    return c.closed;
  };
  assert.deepEqual(await closeOf(undefined), { code: 4406, reason: 'Subprotocol not acceptable' });
  const timeout = await closeOf('graphql-transport-ws');
  assert.equal(timeout.code, 4408);
  assert.equal((await closeOf('graphql-transport-ws', (c) => c.ws.send('{not json'))).code, 4400);
  const early = await closeOf('graphql-transport-ws', (c) => c.send({ id: '1', type: 'subscribe', payload: { query: '{a}' } }));
  assert.deepEqual(early, { code: 4401, reason: 'Unauthorized' });
  assert.deepEqual(await closeOf('graphql-transport-ws', (c) => c.send({ type: 'connection_init', payload: { deny: true } })), {
    code: 4403,
    reason: 'Forbidden',
  });
  const twice = await closeOf('graphql-transport-ws', async (c) => {
    c.send({ type: 'connection_init' });
    await c.waitFor((m) => m.type === 'connection_ack', 'ack');
    c.send({ type: 'connection_init' });
  });
  assert.deepEqual(twice, { code: 4429, reason: 'Too many initialisation requests' });
  const dup = await closeOf('graphql-transport-ws', async (c) => {
    c.send({ type: 'connection_init' });
    await c.waitFor((m) => m.type === 'connection_ack', 'ack');
    c.send({ id: 'x', type: 'subscribe', payload: { query: 'subscription { a }' } });
    c.send({ id: 'x', type: 'subscribe', payload: { query: 'subscription { a }' } });
  });
  assert.deepEqual(dup, { code: 4409, reason: 'Subscriber for x already exists' });
  const crash = await closeOf('graphql-transport-ws', (c) => c.send({ type: 'connection_init', payload: { crash: true } }));
  assert.equal(crash.code, 4500);
  assert.ok(Buffer.byteLength(crash.reason) <= 123 && crash.reason.startsWith('onConnect threw: é'));
});

test('legacy graphql-ws: ack then ka, start → data → complete, stop reaches JS, terminate closes', async (t) => {
  let startConn;
  const { s, events, url } = server({ keepAlive: 100, path: '/' }, (srv, ev) => {
    if (ev.type === 'init') srv.accept(ev.conn);
    if (ev.type === 'subscribe') {
      startConn = ev.conn;
      srv.next(ev.conn, ev.id, { data: { n: 1 } });
    }
  });
  t.after(() => s.dispose());
  const c = client(url.replace('/graphql?v=1', '/'), 'graphql-ws');
  await c.opened;
  c.send({ type: 'connection_init', payload: {} });
  await c.waitFor((m) => m.type === 'connection_ack', 'ack');
  await eventually(() => c.messages.filter((m) => m.type === 'ka').length >= 2, 3000, 'two ka messages');
  c.send({ id: '7', type: 'start', payload: { query: 'subscription { n }' } });
  const data = await c.waitFor((m) => m.type === 'data', 'data');
  assert.deepEqual(data, { id: '7', type: 'data', payload: { data: { n: 1 } } });
  c.send({ id: '7', type: 'stop' });
  await eventually(() => events.some((e) => e.type === 'complete' && e.id === '7'), 3000, 'stop as complete');
  assert.equal(s.next(startConn, '7', { data: { n: 2 } }), true, 'the connection is still there');
  c.send({ type: 'connection_terminate' });
  await eventually(() => c.closed, 3000, 'close after terminate');
  assert.equal(c.closed.code, 1000);
});

test('events from many connections arrive in batches, and dispose tells JS every connection closed', async () => {
  const { s, events, batches, url } = server({ path: '/' }, (srv, ev) => {
    if (ev.type === 'init') srv.accept(ev.conn);
  });
  const clients = Array.from({ length: 200 }, () => client(url.replace('/graphql?v=1', '/'), 'graphql-transport-ws'));
  await Promise.all(clients.map((c) => c.opened));
  for (const c of clients) c.send({ type: 'connection_init' });
  await eventually(() => events.filter((e) => e.type === 'init').length === 200, 5000, '200 init events');
  assert.ok(batches() < 200, `200 events came in ${batches()} calls`);
  await s.dispose();
  await eventually(() => events.filter((e) => e.type === 'closed').length === 200, 3000, '200 closed events');
  await eventually(() => clients.every((c) => c.closed), 3000, 'every client to see its close');
  assert.deepEqual([...new Set(clients.map((c) => c.closed.code))], [1001]);
  assert.equal(new Set(events.filter((e) => e.type === 'closed').map((e) => e.conn)).size, 200, 'one closed event per connection');
});

test('keep-alive: pings every interval; a peer that never pongs is dropped, one that does stays', async (t) => {
  const { connect, upgradeRequest } = require('./helpers');
  const { s, events, url } = server({ keepAlive: 100, connectionInitWaitTimeout: 0, path: '/' });
  t.after(() => s.dispose());
  const port = s.address().port;
  // A well-behaved client: ws answers pings by itself.
  const good = client(url.replace('/graphql?v=1', '/'), 'graphql-transport-ws');
  let pings = 0;
  good.ws.on('ping', () => (pings += 1));
  await good.opened;
  // A silent one: upgraded, then never answers anything.
  const mute = await connect(port);
  mute.write(upgradeRequest({ headers: { 'Sec-WebSocket-Protocol': 'graphql-transport-ws' } }));
  assert.equal((await mute.response()).status, 101);
  const ping = await mute.frame(1000);
  assert.equal(ping.opcode, 9, 'the server pings');
  const started = Date.now();
  await mute.waitEnd(2000);
  const took = Date.now() - started;
  assert.ok(took < 1000, `a silent peer is dropped within about two intervals (${took} ms)`);
  await eventually(() => events.some((e) => e.type === 'closed' && e.code === 1006), 2000, 'its closed event');
  await new Promise((r) => setTimeout(r, 400));
  assert.equal(good.closed, null, 'the client that answers pings is still connected');
  assert.ok(pings >= 3, `it was pinged ${pings} times`);
  good.ws.terminate();
  mute.destroy();
});
