'use strict';
// graphql-ws behaviour that subwire once differed on (issue 14, part 2): messages sent
// before the ack, jsonMessageReviver/jsonMessageReplacer on whole messages, onPing/onPong.
// Real clients (graphql-ws createClient, subscriptions-transport-ws, ws) or raw frames where
// no real client sends the case; graphql-ws's own useServer on ws side by side where it
// defines the answer.
const test = require('node:test');
const assert = require('node:assert/strict');
const WebSocket = require('ws');
const { buildSchema } = require('graphql');
const { createClient } = require('graphql-ws');
const { useServer: gqlwsUseServer } = require('graphql-ws/use/ws');
const { useServer, PubSub } = require('..');
const { connect, upgradeRequest, clientFrame, eventually, run } = require('./helpers');

const schema = buildSchema(`
  type Query { hello: String, when(at: String): String }
  type Subscription { count(to: Int!): Int, topic(name: String!): Tick }
  type Tick { n: Int }
`);
const pubsub = new PubSub();
const roots = {
  query: { hello: () => 'world', when: ({ at }) => (at === undefined ? null : String(at)) },
  subscription: {
    count: async function* ({ to }) {
      for (let i = 1; i <= to; i++) yield { count: i };
    },
    topic: ({ name }) => pubsub.asyncIterableIterator(name),
  },
};
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** A subwire server for `options`; stopped after the test. */
function subwire(t, options = {}) {
  const server = useServer({ schema, roots, ...options }, { port: 0, host: '127.0.0.1', path: '/graphql' }, 0);
  t.after(() => server.dispose());
  return { server, port: server.address().port, url: `ws://127.0.0.1:${server.address().port}/graphql` };
}

/** graphql-ws's own useServer on ws with the same options; stopped after the test. */
async function graphqlWs(t, options = {}) {
  const wss = new WebSocket.WebSocketServer({ port: 0, host: '127.0.0.1', path: '/graphql' });
  await new Promise((r) => wss.once('listening', r));
  const cleanup = gqlwsUseServer({ schema, roots, ...options }, wss, 0);
  t.after(() => cleanup.dispose());
  return { url: `ws://127.0.0.1:${wss.address().port}/graphql` };
}

/** A raw socket past the upgrade: messages go as masked text frames, several in ONE write. */
async function rawSocket(port, protocol = 'graphql-transport-ws') {
  const p = await connect(port);
  p.write(upgradeRequest({ path: '/graphql', headers: { 'Sec-WebSocket-Protocol': protocol } }));
  const res = await p.response();
  assert.equal(res.status, 101);
  return {
    /** Sends every message in one TCP write. @param {...object} msgs */
    send: (...msgs) => p.write(Buffer.concat(msgs.map((m) => clientFrame({ payload: typeof m === 'string' ? m : JSON.stringify(m) })))),
    /** Text messages (parsed) up to and including the close, as `{ close: code, reason }`. */
    async untilClose(ms = 3000) {
      const got = [];
      for (;;) {
        const f = await p.frame(ms);
        if (f.opcode === 8) return [...got, { close: f.payload.readUInt16BE(0), reason: f.payload.subarray(2).toString() }];
        if (f.opcode === 1) got.push(JSON.parse(f.payload.toString()));
      }
    },
    /** The next `n` text messages (parsed). */
    async take(n, ms = 3000) {
      const got = [];
      while (got.length < n) {
        const f = await p.frame(ms);
        if (f.opcode === 8) throw new Error(`closed ${f.payload.readUInt16BE(0)} ${f.payload.subarray(2)} after ${JSON.stringify(got)}`);
        if (f.opcode === 1) got.push(JSON.parse(f.payload.toString()));
      }
      return got;
    },
    destroy: () => p.destroy(),
  };
}

/** A ws client that records raw message texts and its close. */
function wsClient(url) {
  const ws = new WebSocket(url, 'graphql-transport-ws');
  const c = { ws, texts: [], closed: null };
  ws.on('message', (m) => c.texts.push(String(m)));
  ws.on('close', (code, reason) => (c.closed = { code, reason: String(reason) }));
  c.opened = new Promise((resolve, reject) => {
    ws.once('open', resolve);
    ws.once('error', reject);
  });
  c.count = (n, what = `${n} messages`) => eventually(() => c.texts.length >= n, 3000, what).then(() => c.texts.slice(0, n));
  return c;
}

const INIT = { type: 'connection_init' };
const sub = (id, query, variables) => ({ id, type: 'subscribe', payload: { query, variables } });

test('subscribe sent with connection_init, before the ack, runs after an async onConnect accepts', async (t) => {
  const log = [];
  const { port } = subwire(t, {
    onConnect: async () => {
      log.push('onConnect');
      await sleep(50);
      log.push('onConnect done');
      return { hi: 1 };
    },
    onSubscribe: (_ctx, id) => void log.push(`onSubscribe ${id}`),
  });
  const s = await rawSocket(port);
  t.after(() => s.destroy());
  s.send(INIT, sub('1', '{ hello }'), sub('2', 'subscription { count(to: 2) }'), { id: '2', type: 'complete' }, sub('3', '{ hello }'));
  const got = await s.take(5);
  assert.deepEqual(got[0], { type: 'connection_ack', payload: { hi: 1 } });
  // (operations 1 and 3 run side by side: each one's messages in order, 2 never sends)
  for (const id of ['1', '3']) {
    assert.deepEqual(
      got.filter((m) => m.id === id),
      [
        { id, type: 'next', payload: { data: { hello: 'world' } } },
        { id, type: 'complete' },
      ],
    );
  }
  assert.deepEqual(log, ['onConnect', 'onConnect done', 'onSubscribe 1', 'onSubscribe 2', 'onSubscribe 3']);
});

test('what waited for a refused connection is dropped: no onSubscribe, 4403', async (t) => {
  let subscribed = 0;
  const { port } = subwire(t, {
    onConnect: async () => {
      await sleep(30);
      return false;
    },
    onSubscribe: () => void subscribed++,
  });
  const s = await rawSocket(port);
  t.after(() => s.destroy());
  s.send(INIT, sub('1', '{ hello }'));
  assert.deepEqual(await s.untilClose(), [{ close: 4403, reason: 'Forbidden' }]);
  await sleep(50);
  assert.equal(subscribed, 0);
});

test('too many messages before the ack close with 1008', async (t) => {
  const { port } = subwire(t, { maxSubscriptionsPerConnection: 2, onConnect: () => sleep(200) });
  const s = await rawSocket(port);
  t.after(() => s.destroy());
  // maxSubscriptionsPerConnection + 16 may wait; one more is too many.
  const subs = Array.from({ length: 19 }, (_, i) => sub(String(i), '{ hello }'));
  s.send(INIT, ...subs);
  assert.deepEqual(await s.untilClose(), [{ close: 1008, reason: 'Too many messages before the connection was acknowledged' }]);
});

test('legacy: SubscriptionClient starts right after init; nothing runs before onConnect decides', async (t) => {
  const { SubscriptionClient } = require('subscriptions-transport-ws');
  const log = [];
  const { url } = subwire(t, {
    onConnect: async (ctx) => {
      await sleep(50);
      log.push(`decided ${ctx.connectionParams.ok}`);
      return ctx.connectionParams.ok;
    },
    onSubscribe: () => void log.push('onSubscribe'),
  });
  const open = (ok) => {
    const client = new SubscriptionClient(url, { reconnect: false, connectionParams: { ok } }, WebSocket);
    t.after(() => {
      client.close();
      client.clearCheckConnectionInterval();
    });
    return client;
  };
  const results = await new Promise((resolve, reject) => {
    const got = [];
    open(true)
      .request({ query: 'subscription { count(to: 2) }' })
      .subscribe({ next: (r) => got.push(r.data.count), error: reject, complete: () => resolve(got) });
  });
  assert.deepEqual(results, [1, 2]);
  assert.deepEqual(log, ['decided true', 'onSubscribe']);
  // Refused: the start that waited never reaches onSubscribe.
  open(false).request({ query: '{ hello }' }).subscribe({ next() {}, error() {} });
  await eventually(() => log.includes('decided false'), 3000, 'the refusal');
  await sleep(50);
  assert.deepEqual(log, ['decided true', 'onSubscribe', 'decided false']);
});

test('jsonMessageReviver applies to the whole message, as in graphql-ws (its own test case)', async (t) => {
  // graphql-ws's "should use a custom JSON message reviver function": every `type` revived
  // to connection_init.
  const reviver = (key, value) => (key === 'type' ? 'connection_init' : value);
  for (const url of [subwire(t, { jsonMessageReviver: reviver }).url, (await graphqlWs(t, { jsonMessageReviver: reviver })).url]) {
    const c = wsClient(url);
    await c.opened;
    c.ws.send(JSON.stringify({ type: 'CONNECTION_INIT' }));
    assert.deepEqual((await c.count(1)).map((m) => JSON.parse(m).type), ['connection_ack'], url);
    c.ws.close();
  }
});

test('a reviver reaches connectionParams, subscribe payloads and ping payloads; invalid results close 4400', async (t) => {
  // ISO dates become Dates anywhere in a message; hooks see the revived objects.
  const reviver = (_key, value) => (typeof value === 'string' && /^\d{4}-\d\d-\d\dT/.test(value) ? new Date(value) : value);
  const seen = {};
  const hooks = {
    jsonMessageReviver: reviver,
    onConnect: (ctx) => void (seen.params = ctx.connectionParams),
    onSubscribe: (_ctx, _id, payload) => void (seen.variables = payload.variables),
    onPing: (_ctx, payload) => void (seen.ping = payload),
  };
  const { url } = subwire(t, hooks);
  const at = '2024-05-06T07:08:09.000Z';
  const results = [];
  for (const u of [url, (await graphqlWs(t, hooks)).url]) {
    const client = createClient({ url: u, webSocketImpl: WebSocket, retryAttempts: 0, lazy: true, connectionParams: { at } });
    t.after(() => client.dispose());
    results.push(await run(client, { query: 'query ($at: String) { when(at: $at) }', variables: { at } }));
    assert.ok(seen.params.at instanceof Date && seen.params.at.toISOString() === at, u);
    assert.ok(seen.variables.at instanceof Date, u);
  }
  // (graphql-js refuses a Date for a String variable: the same result on both)
  assert.equal(results[0].error, null);
  assert.deepEqual(results[0], results[1]);

  const c = wsClient(url);
  await c.opened;
  c.ws.send(JSON.stringify({ type: 'ping', payload: { at } }));
  const [pong] = await c.count(1, 'the pong');
  assert.ok(seen.ping.at instanceof Date);
  assert.deepEqual(JSON.parse(pong), { type: 'pong', payload: { at } }, 'the revived payload, serialized');
  c.ws.close();

  // What graphql-ws refuses after reviving closes 4400 `Invalid message received`, on both.
  const dropIds = (key, value) => (key === 'id' ? undefined : value);
  const thrower = (key, value) => {
    if (key === 'query') throw new Error('no');
    return value;
  };
  for (const reviverCase of [dropIds, thrower]) {
    const ours = subwire(t, { jsonMessageReviver: reviverCase });
    const theirs = await graphqlWs(t, { jsonMessageReviver: reviverCase });
    const closes = [];
    for (const u of [ours.url, theirs.url]) {
      const w = wsClient(u);
      await w.opened;
      w.ws.send(JSON.stringify(INIT));
      await w.count(1, 'ack');
      w.ws.send(JSON.stringify(sub('1', '{ hello }')));
      await eventually(() => w.closed, 3000, 'close');
      closes.push(w.closed);
    }
    assert.deepEqual(closes[0], { code: 4400, reason: 'Invalid message received' });
    assert.deepEqual(closes[0], closes[1]);
  }
});

test('with a reviver, messages keep their order; an operation refused by the limit leaves the connection working', async (t) => {
  const { port } = subwire(t, { jsonMessageReviver: (_k, v) => v, maxSubscriptionsPerConnection: 1 });
  const s = await rawSocket(port);
  t.after(() => s.destroy());
  s.send(INIT, sub('1', 'subscription { topic(name: "never") { n } }'), sub('2', '{ hello }'), { id: '1', type: 'complete' }, sub('3', '{ hello }'));
  const got = await s.take(4);
  assert.equal(got[0].type, 'connection_ack');
  assert.equal(got[1].id, '2');
  assert.equal(got[1].type, 'error', 'one operation too many');
  assert.deepEqual(got.slice(2), [
    { id: '3', type: 'next', payload: { data: { hello: 'world' } } },
    { id: '3', type: 'complete' },
  ]);
});

test('jsonMessageReplacer applies to whole messages: the same bytes as graphql-ws', async (t) => {
  // graphql-ws's own case, and a replacer that reads the message around a payload.
  const cases = [
    (key, value) => (key === 'type' ? 'CONNECTION_ACK' : value),
    function (key, value) {
      if (key === 'payload' && this.type === 'next') return { ...value, extensions: { for: this.id } };
      if (key === 'type' && value === 'complete') return 'COMPLETE';
      return value;
    },
  ];
  for (const replacer of cases) {
    const texts = [];
    for (const url of [subwire(t, { jsonMessageReplacer: replacer, onConnect: () => ({ ok: true }) }).url, (await graphqlWs(t, { jsonMessageReplacer: replacer, onConnect: () => ({ ok: true }) })).url]) {
      const c = wsClient(url);
      await c.opened;
      c.ws.send(JSON.stringify(INIT));
      await c.count(1, 'ack');
      c.ws.send(JSON.stringify(sub('q', '{ hello }')));
      c.ws.send(JSON.stringify(sub('s', 'subscription { count(to: 2) }')));
      c.ws.send(JSON.stringify({ type: 'ping', payload: { p: 1 } }));
      await c.count(7);
      await sleep(30);
      // (the two operations and the ping interleave as they will: compare the set)
      texts.push(c.texts.slice().sort());
      c.ws.close();
    }
    assert.equal(texts[0].length, 7);
    assert.deepEqual(texts[0], texts[1]);
  }
});

test('a replacer sees each subscriber’s own message: shared and topic subscriptions are framed per subscriber', async (t) => {
  function replacer(key, value) {
    return key === 'payload' && this.type === 'next' ? { ...value, extensions: { for: this.id } } : value;
  }
  // shareKey: the hub would frame one payload for all; without: Rust would project it.
  for (const [n, extra] of [{ shareKey: () => 'all' }, {}].entries()) {
    const { url } = subwire(t, { jsonMessageReplacer: replacer, ...extra });
    const clients = [1, 2].map(() => createClient({ url, webSocketImpl: WebSocket, retryAttempts: 0, lazy: false }));
    const got = clients.map(() => []);
    const topic = `replaced${n}`;
    for (const [i, c] of clients.entries()) {
      c.subscribe({ query: `subscription { topic(name: "${topic}") { n } }` }, { next: (r) => got[i].push(r), error: (e) => got[i].push({ error: e }), complete() {} });
    }
    await sleep(150);
    await pubsub.publish(topic, { topic: { n: 1 } });
    await eventually(() => got.every((g) => g.length === 1), 3000, 'one event each');
    const ids = got.map(([r]) => {
      assert.deepEqual(r.data, { topic: { n: 1 } });
      return r.extensions.for;
    });
    assert.equal(typeof ids[0], 'string');
    assert.notEqual(ids[0], ids[1], 'each subscriber got its own id in its own message');
    await Promise.all(clients.map((c) => c.dispose()));
  }
});

test('onPing runs before the pong, onPong gets the payload: as graphql-ws calls them', async (t) => {
  const record = (log) => ({
    onPing: async (ctx, payload) => {
      log.push(['onPing', ctx.connectionInitReceived, payload]);
      await sleep(20);
    },
    onPong: (ctx, payload) => void log.push(['onPong', ctx.acknowledged, payload]),
    onConnect: () => void log.push(['onConnect']),
  });
  const logs = [[], []];
  const urls = [subwire(t, record(logs[0])).url, (await graphqlWs(t, record(logs[1]))).url];
  const texts = [];
  for (const [i, url] of urls.entries()) {
    const c = wsClient(url);
    await c.opened;
    c.ws.send(JSON.stringify({ type: 'ping', payload: { before: 'init' } }));
    await c.count(1, 'the first pong');
    logs[i].push(['pong received']);
    c.ws.send(JSON.stringify(INIT));
    await c.count(2, 'ack');
    c.ws.send(JSON.stringify({ type: 'ping' }));
    c.ws.send(JSON.stringify({ type: 'pong', payload: { x: 1 } }));
    await c.count(3, 'the second pong');
    await eventually(() => logs[i].some((e) => e[0] === 'onPong'), 3000, 'onPong');
    texts.push(c.texts);
    c.ws.close();
  }
  assert.deepEqual(texts[0], ['{"type":"pong","payload":{"before":"init"}}', '{"type":"connection_ack"}', '{"type":"pong"}']);
  assert.deepEqual(texts[0], texts[1]);
  assert.deepEqual(logs[0], [
    ['onPing', false, { before: 'init' }],
    ['pong received'],
    ['onConnect'],
    ['onPing', true, undefined],
    ['onPong', true, { x: 1 }],
  ]);
  assert.deepEqual(logs[0], logs[1]);
});

test('the ctx onPing saw before init is the connection’s ctx; onPing throwing closes 4500', async (t) => {
  let pinged;
  let connected;
  const { url } = subwire(t, {
    onPing: (ctx) => void (pinged = ctx),
    onConnect: (ctx) => void (connected = ctx),
  });
  const c = wsClient(url);
  await c.opened;
  c.ws.send(JSON.stringify({ type: 'ping' }));
  await c.count(1);
  c.ws.send(JSON.stringify(INIT));
  await c.count(2);
  assert.equal(pinged, connected);
  assert.equal(connected.extra.request.url, '/graphql');
  c.ws.close();

  const errors = [];
  const orig = console.error;
  console.error = (...a) => errors.push(a);
  t.after(() => (console.error = orig));
  const bad = subwire(t, {
    onPing: () => {
      throw new Error('no pings here');
    },
  });
  const w = wsClient(bad.url);
  await w.opened;
  w.ws.send(JSON.stringify({ type: 'ping' }));
  await eventually(() => w.closed, 3000, 'close');
  assert.deepEqual(w.closed, { code: 4500, reason: 'no pings here' });
});
