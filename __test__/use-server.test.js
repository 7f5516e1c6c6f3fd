'use strict';
// useServer(): graphql-ws v6's ServerOptions on subwire, driven by the REAL clients (graphql-ws
// createClient and subscriptions-transport-ws SubscriptionClient) against a real listening
// server. The hook order is compared with graphql-ws's own useServer on ws.
const test = require('node:test');
const assert = require('node:assert/strict');
const WebSocket = require('ws');
const { buildSchema, GraphQLError, parse: gqlParse } = require('graphql');
const { createClient } = require('graphql-ws');
const { useServer } = require('..');
const { eventually, run } = require('./helpers');

const sdl = `
  type Query { hello: String, whoami: String, header(name: String!): String, boom: String }
  type Subscription { count(to: Int!): Int, ticks: Int, failing: Int }
`;
const schema = buildSchema(sdl);

/** Live counted iterators (the `ticks` subscription): every one must be return()ed. */
const iterators = { live: 0, returned: 0, made: 0 };
/** An async iterator that yields { ticks: n } every `ms` until return() (graphql-subscriptions style). */
function ticker(ms = 5) {
  iterators.live += 1;
  iterators.made += 1;
  let n = 0;
  let done = false;
  let timer = null;
  let pending = null;
  return {
    [Symbol.asyncIterator]() {
      return this;
    },
    next() {
      if (done) return Promise.resolve({ done: true, value: undefined });
      return new Promise((resolve) => {
        pending = resolve;
        timer = setTimeout(() => {
          pending = null;
          resolve({ done: false, value: { ticks: ++n } });
        }, ms);
      });
    },
    return() {
      if (!done) {
        done = true;
        iterators.live -= 1;
        iterators.returned += 1;
        clearTimeout(timer);
        pending?.({ done: true, value: undefined });
      }
      return Promise.resolve({ done: true, value: undefined });
    },
  };
}

const roots = {
  query: {
    hello: () => 'world',
    whoami: (_args, ctx) => ctx.user,
    header: ({ name }, ctx) => ctx.headers?.[name] ?? null,
    boom: () => {
      throw new Error('resolver exploded');
    },
  },
  subscription: {
    count: async function* ({ to }) {
      for (let i = 1; i <= to; i++) yield { count: i };
    },
    ticks: () => ticker(),
    failing: async function* () {
      yield { failing: 1 };
      throw new Error('source failed');
    },
  },
};

/** A subwire server and a graphql-ws client factory for it. */
function setup(t, options = {}, target = {}) {
  const server = useServer({ schema, roots, ...options }, { port: 0, path: '/graphql', ...target });
  const url = `ws://127.0.0.1:${server.address().port}/graphql`;
  const clients = [];
  const client = (opts = {}) => {
    const c = createClient({ url, webSocketImpl: WebSocket, retryAttempts: 0, lazy: true, ...opts });
    clients.push(c);
    return c;
  };
  t.after(async () => {
    for (const c of clients) await c.dispose();
    await server.dispose();
  });
  return { server, url, client };
}


test('a query over the socket, with a lazy and a non-lazy client', async (t) => {
  const { client } = setup(t);
  const lazy = await run(client(), { query: '{ hello }' });
  assert.deepEqual(lazy, { results: [{ data: { hello: 'world' } }], error: null });
  let connected = 0;
  const eager = client({ lazy: false, on: { connected: () => (connected += 1) } });
  await eventually(() => connected === 1 || undefined, 3000, 'the non-lazy client to connect');
  assert.deepEqual(await run(eager, { query: 'query Q { hello }', operationName: 'Q' }), {
    results: [{ data: { hello: 'world' } }],
    error: null,
  });
});

test('a subscription with several events (async generator resolver), then complete', async (t) => {
  const { client } = setup(t);
  const { results, error } = await run(client(), { query: 'subscription($to: Int!) { count(to: $to) }', variables: { to: 5 } });
  assert.equal(error, null);
  assert.deepEqual(
    results.map((r) => r.data.count),
    [1, 2, 3, 4, 5],
  );
});

test('client-initiated complete calls the iterator’s return() and onComplete; none leak', async (t) => {
  const completes = [];
  const { client, server } = setup(t, { onComplete: (_ctx, id) => completes.push(id) });
  const c = client();
  const before = iterators.returned;
  const got = [];
  const unsubscribe = c.subscribe({ query: 'subscription { ticks }' }, { next: (r) => got.push(r), error: assert.fail, complete: () => {} });
  await eventually(() => got.length >= 3 || undefined, 3000, 'three ticks');
  assert.equal(iterators.live, 1);
  assert.equal(server.stats().subscriptions, 1);
  unsubscribe();
  await eventually(() => iterators.live === 0 || undefined, 3000, 'the iterator to be returned');
  assert.equal(iterators.returned, before + 1);
  await eventually(() => completes.length === 1 || undefined, 3000, 'onComplete');
  await eventually(() => server.stats().subscriptions === 0 || undefined, 3000, 'no live operations');
  assert.deepEqual(got.slice(0, 3).map((r) => r.data.ticks), [1, 2, 3]);
});

test('onConnect returning false closes with 4403 Forbidden; an object becomes the ack payload', async (t) => {
  const { client } = setup(t, {
    onConnect: (ctx) => (ctx.connectionParams?.token === 'ok' ? { welcome: true } : false),
  });
  const denied = await run(client({ connectionParams: { token: 'nope' } }), { query: '{ hello }' });
  assert.equal(denied.error.code, 4403);
  assert.equal(denied.error.reason, 'Forbidden');
  let ackPayload;
  const ok = client({ connectionParams: { token: 'ok' }, on: { connected: (_s, payload) => (ackPayload = payload) } });
  assert.deepEqual((await run(ok, { query: '{ hello }' })).results, [{ data: { hello: 'world' } }]);
  assert.deepEqual(ackPayload, { welcome: true });
});

test('onConnect throwing closes with 4500 and its message (not in production)', async (t) => {
  const errors = [];
  const orig = console.error;
  console.error = (...a) => errors.push(a);
  t.after(() => (console.error = orig));
  const { client } = setup(t, {
    onConnect: () => {
      throw new Error('no database');
    },
  });
  const r = await run(client(), { query: '{ hello }' });
  assert.equal(r.error.code, 4500);
  assert.equal(r.error.reason, 'no database');
  const { client: prodClient } = setup(t, {
    isProd: true,
    onConnect: () => {
      throw new Error('secret detail');
    },
  });
  const p = await run(prodClient(), { query: '{ hello }' });
  assert.equal(p.error.code, 4500);
  assert.equal(p.error.reason, 'Internal server error');
  assert.ok(errors.length >= 2, 'the errors were logged, not thrown');
});

test('connectionParams and headers reach the context; ctx has graphql-ws’s shape', async (t) => {
  let seen;
  const { client } = setup(t, {
    context: (ctx, id, payload, args) => {
      seen = { ctx, id, payload, args, listed: id in ctx.subscriptions && ctx.subscriptions[id] === null };
      return { user: ctx.connectionParams.user, headers: ctx.extra.request.headers };
    },
  });
  // ws sends no User-Agent of its own: this client sets some headers.
  class WithHeaders extends WebSocket {
    constructor(url, protocols) {
      super(url, protocols, { headers: { 'User-Agent': 'subwire-test/1', 'X-Other': 'not copied' } });
    }
  }
  const c = client({ connectionParams: { user: 'ada' }, webSocketImpl: WithHeaders });
  const r = await run(c, { query: '{ whoami, ua: header(name: "user-agent"), other: header(name: "x-other") }' });
  assert.equal(r.error, null);
  assert.deepEqual(r.results[0].data, { whoami: 'ada', ua: 'subwire-test/1', other: null }, 'only the default headers are copied');
  assert.equal(seen.ctx.connectionInitReceived, true);
  assert.equal(seen.ctx.acknowledged, true);
  assert.deepEqual(seen.ctx.connectionParams, { user: 'ada' });
  assert.equal(seen.ctx.extra.request.url, '/graphql');
  assert.ok(seen.listed, 'the starting operation is listed in ctx.subscriptions (null until it streams)');
  assert.equal(Object.keys(seen.ctx.subscriptions).length, 0, 'and removed when it ended');
  assert.match(seen.payload.query, /^\{ whoami, ua: /);
  assert.equal(seen.args.document.kind, 'Document');
  assert.equal(seen.args.schema, schema);
});

test('a validation error is an `error` message; a resolver error stays in the `next` payload', async (t) => {
  const { client } = setup(t);
  const c = client();
  const invalid = await run(c, { query: '{ nope }' });
  assert.equal(invalid.results.length, 0);
  assert.ok(Array.isArray(invalid.error), 'errors array');
  assert.match(invalid.error[0].message, /Cannot query field "nope" on type "Query"/);
  assert.deepEqual(invalid.error[0].locations, [{ line: 1, column: 3 }]);

  const failed = await run(c, { query: '{ hello boom }' });
  assert.equal(failed.error, null);
  assert.equal(failed.results.length, 1);
  assert.deepEqual(failed.results[0].data, { hello: 'world', boom: null });
  assert.equal(failed.results[0].errors[0].message, 'resolver exploded');
  assert.deepEqual(failed.results[0].errors[0].path, ['boom']);

  // A source stream that throws: its error reaches onError and the client as `error`.
  const streamed = await run(c, { query: 'subscription { failing }' });
  assert.deepEqual(streamed.results, [{ data: { failing: 1 } }]);
  assert.equal(streamed.error[0].message, 'source failed');
});

test('onSubscribe returning errors, execution args, or throwing', async (t) => {
  const errors = [];
  const orig = console.error;
  console.error = (...a) => errors.push(a);
  t.after(() => (console.error = orig));
  const { client } = setup(t, {
    onSubscribe: (_ctx, _id, payload) => {
      if (payload.query.includes('forbidden')) return [new GraphQLError('not allowed here')];
      if (payload.query.includes('custom')) {
        return { schema, document: gqlParse('{ hello }'), rootValue: { hello: 'from onSubscribe' } };
      }
      if (payload.query.includes('throw')) throw new Error('onSubscribe threw');
      return undefined;
    },
    onError: (_ctx, _id, _payload, errs) => (errs[0].message === 'not allowed here' ? [{ message: 'replaced by onError' }] : undefined),
  });
  const c = client();
  const denied = await run(c, { query: '{ forbidden: hello }' });
  assert.deepEqual(denied, { results: [], error: [{ message: 'replaced by onError' }] });
  const custom = await run(c, { query: '{ custom: hello }' });
  assert.deepEqual(custom, { results: [{ data: { hello: 'from onSubscribe' } }], error: null });
  const thrown = await run(c, { query: '{ throw: hello }' });
  assert.equal(thrown.error.code, 4500);
  assert.equal(thrown.error.reason, 'onSubscribe threw');
});

test('onOperation and onNext may replace results', async (t) => {
  const { client } = setup(t, {
    onOperation: (_ctx, _id, payload, _args, result) => (payload.query.includes('hello') ? { data: { hello: 'replaced' } } : undefined),
    onNext: (_ctx, _id, _payload, _args, result) => (result.data?.count === 2 ? { data: { count: 200 } } : undefined),
  });
  const c = client();
  assert.deepEqual((await run(c, { query: '{ hello }' })).results, [{ data: { hello: 'replaced' } }]);
  const sub = await run(c, { query: 'subscription { count(to: 3) }' });
  assert.deepEqual(
    sub.results.map((r) => r.data.count),
    [1, 200, 3],
  );
});

test('a disconnect mid-stream closes every iterator of the connection, then onDisconnect and onClose', async (t) => {
  const calls = [];
  const { client } = setup(t, {
    onDisconnect: (_ctx, code) => calls.push(['onDisconnect', code, iterators.live]),
    onClose: (ctx, code) => calls.push(['onClose', code, Object.keys(ctx.subscriptions).length]),
  });
  const before = iterators.live;
  const c = client();
  const got = new Map();
  for (let i = 0; i < 50; i++) {
    c.subscribe({ query: 'subscription { ticks }' }, { next: () => got.set(i, true), error: () => {}, complete: () => {} });
  }
  await eventually(() => got.size === 50 || undefined, 5000, 'a tick on every subscription');
  assert.equal(iterators.live, before + 50);
  await c.dispose();
  await eventually(() => calls.length === 2 || undefined, 3000, 'onDisconnect and onClose');
  assert.equal(iterators.live, before, 'every iterator was returned');
  assert.deepEqual(calls, [
    ['onDisconnect', 1000, before],
    ['onClose', 1000, 0],
  ]);
});

test('dispose() returns every live iterator and closes clients with 1001', async () => {
  const server = useServer({ schema, roots }, { port: 0 });
  const url = `ws://127.0.0.1:${server.address().port}/`;
  const before = iterators.live;
  let closedCode;
  const c = createClient({ url, webSocketImpl: WebSocket, retryAttempts: 0, on: { closed: (e) => (closedCode = e.code) } });
  let ticks = 0;
  for (let i = 0; i < 10; i++) c.subscribe({ query: 'subscription { ticks }' }, { next: () => ticks++, error: () => {}, complete: () => {} });
  await eventually(() => (ticks >= 10 && iterators.live === before + 10) || undefined, 5000, 'ten live subscriptions');
  await server.dispose();
  assert.equal(iterators.live, before, 'dispose ended every iterator');
  await eventually(() => closedCode, 3000, 'the client to see its close');
  assert.equal(closedCode, 1001);
  await c.dispose();
});

test('bad options and targets throw coded errors', () => {
  assert.throws(() => useServer({ schema, shareKey: 'all' }, { port: 0 }), (e) => e.code === 'ERR_SUBWIRE_INVALID_OPTION' && /shareKey/.test(e.message));
  assert.throws(() => useServer({ schema, maxSubscriptionsPerConnection: 0 }, { port: 0 }), (e) => e.code === 'ERR_SUBWIRE_INVALID_OPTION');
  assert.throws(() => useServer({ schema }, { server: {}, path: '/graphql' }), (e) => e.code === 'ERR_SUBWIRE_INVALID_OPTION' && /http.Server/.test(e.message));
  assert.throws(() => useServer({ schema }), (e) => e.code === 'ERR_SUBWIRE_INVALID_OPTION');
  const s = useServer({ schema }, { port: 0 });
  assert.throws(() => s.publish('', {}), (e) => e.code === 'ERR_SUBWIRE_INVALID_OPTION');
  return s.dispose();
});

/**
 * Records every hook call as [name, …simple args] for one scenario. Used on subwire and on
 * graphql-ws's own useServer (ws) to compare the order.
 */
function recordingOptions(log) {
  const rec = (name, ret) => (ctx, ...args) => {
    const entry = [name];
    if (args.length && typeof args[0] === 'string') entry.push(args[0]); // id
    if (name === 'onNext') entry.push(JSON.stringify(args[3]));
    if (name === 'onClose' || name === 'onDisconnect') entry.push(args[0]);
    if (name === 'onConnect') entry.push(JSON.stringify(ctx.connectionParams));
    log.push(entry);
    return ret?.(ctx, ...args);
  };
  return {
    schema: rec('schema', () => schema),
    roots,
    context: rec('context', () => ({})),
    onConnect: rec('onConnect'),
    onSubscribe: rec('onSubscribe'),
    onOperation: rec('onOperation'),
    onNext: rec('onNext'),
    onError: rec('onError'),
    onComplete: rec('onComplete'),
    onDisconnect: rec('onDisconnect'),
    onClose: rec('onClose'),
  };
}

async function scenario(url, log) {
  const c = createClient({ url, webSocketImpl: WebSocket, retryAttempts: 0, connectionParams: { a: 1 } });
  await run(c, { query: 'subscription { count(to: 2) }' });
  const got = [];
  await new Promise((resolve) => {
    const stop = c.subscribe({ query: 'subscription { ticks }' }, {
      next: (r) => {
        got.push(r);
        if (got.length === 2) {
          stop();
          resolve();
        }
      },
      error: resolve,
      complete: resolve,
    });
  });
  await eventually(() => log.filter((e) => e[0] === 'onComplete').length === 2 || undefined, 3000, 'two onComplete');
  await run(c, { query: '{ nope }' });
  await eventually(() => log.filter((e) => e[0] === 'onClose').length === 3 || undefined, 3000, 'three onClose');
  // A non-lazy client that goes away mid-stream.
  const eager = createClient({ url, webSocketImpl: WebSocket, retryAttempts: 0, lazy: false });
  let ticks = 0;
  eager.subscribe({ query: 'subscription { ticks }' }, { next: () => ticks++, error: () => {}, complete: () => {} });
  await eventually(() => ticks >= 2 || undefined, 3000, 'two ticks');
  await eager.dispose();
  await c.dispose();
  await eventually(() => log.filter((e) => e[0] === 'onClose').length === 4 || undefined, 3000, 'four onClose');
}

test('hooks are called in graphql-ws’s order with the same arguments', async (t) => {
  const ours = [];
  const server = useServer(recordingOptions(ours), { port: 0, path: '/graphql' });
  t.after(() => server.dispose());
  await scenario(`ws://127.0.0.1:${server.address().port}/graphql`, ours);

  const theirs = [];
  const { useServer: gqlwsUseServer } = require('graphql-ws/use/ws');
  const wss = new WebSocket.WebSocketServer({ port: 0, path: '/graphql' });
  await new Promise((r) => wss.once('listening', r));
  const cleanup = gqlwsUseServer(recordingOptions(theirs), wss);
  t.after(() => cleanup.dispose());
  await scenario(`ws://127.0.0.1:${wss.address().port}/graphql`, theirs);

  const norm = (log) => {
    const ids = new Map();
    // how many ticks reach the server before the mid-stream disconnect is timing: keep two
    const timed = (e) => e[0] === 'onNext' && /"ticks":([3-9]|\d\d)/.test(e[2]);
    return log.filter((e) => !timed(e)).map(([name, id, ...rest]) => {
      if (typeof id === 'string' && /^[0-9a-f-]{36}$/.test(id)) {
        if (!ids.has(id)) ids.set(id, `op${ids.size + 1}`);
        id = ids.get(id);
      }
      return [name, id, ...rest];
    });
  };
  assert.ok(ours.length >= 14, JSON.stringify(ours));
  assert.deepEqual(norm(ours), norm(theirs));
});

test('subscriptions-transport-ws SubscriptionClient (legacy graphql-ws protocol): subscribe, receive, unsubscribe', async (t) => {
  const { SubscriptionClient } = require('subscriptions-transport-ws');
  let params;
  const { url } = setup(t, { onConnect: (ctx) => void (params = ctx.connectionParams) }, { path: '/legacy' });
  const legacyUrl = url.replace('/graphql', '/legacy');
  const client = new SubscriptionClient(legacyUrl, { reconnect: false, connectionParams: { legacy: true } }, WebSocket);
  // (When the server closes first, SubscriptionClient leaks its keep-alive check interval
  // and keeps the process alive: close it ourselves, and clear that interval in any case.)
  t.after(() => {
    client.close();
    client.clearCheckConnectionInterval();
  });
  const results = await new Promise((resolve, reject) => {
    const got = [];
    client.request({ query: 'subscription { count(to: 3) }' }).subscribe({
      next: (r) => got.push(r),
      error: reject,
      complete: () => resolve(got),
    });
  });
  assert.deepEqual(
    results.map((r) => r.data.count),
    [1, 2, 3],
  );
  assert.deepEqual(params, { legacy: true });

  const before = iterators.live;
  const ticks = [];
  const sub = client.request({ query: 'subscription { ticks }' }).subscribe({ next: (r) => ticks.push(r), error: () => {} });
  await eventually(() => ticks.length >= 2 || undefined, 3000, 'two legacy ticks');
  assert.equal(iterators.live, before + 1);
  sub.unsubscribe();
  await eventually(() => iterators.live === before || undefined, 3000, 'stop to return the iterator');
});

test('legacy protocol: `ka` after the ack, and onConnect false → connection_error', async (t) => {
  const { SubscriptionClient } = require('subscriptions-transport-ws');
  const server = useServer({ schema, roots, onConnect: (ctx) => ctx.connectionParams?.ok === true }, { port: 0 }, 100);
  t.after(() => server.dispose());
  const url = `ws://127.0.0.1:${server.address().port}/`;
  // `ka` messages, seen on a raw socket speaking the legacy subprotocol
  const ws = new WebSocket(url, 'graphql-ws');
  const msgs = [];
  ws.on('message', (m) => msgs.push(JSON.parse(String(m))));
  await new Promise((r) => ws.once('open', r));
  ws.send(JSON.stringify({ type: 'connection_init', payload: { ok: true } }));
  await eventually(() => msgs.filter((m) => m.type === 'ka').length >= 2 || undefined, 3000, 'two ka');
  assert.equal(msgs[0].type, 'connection_ack');
  ws.close();
  // a rejected init reaches SubscriptionClient's connectionCallback as an error
  const error = await new Promise((resolve) => {
    const client = new SubscriptionClient(url, { reconnect: false, connectionParams: { ok: false }, connectionCallback: (err) => resolve({ err, client }) }, WebSocket);
    void client;
  });
  assert.ok(error.err, 'connection_error reached the client');
  assert.match(JSON.stringify(error.err), /Forbidden/);
  error.client.close();
  error.client.clearCheckConnectionInterval();
});

test('jsonMessageReviver and jsonMessageReplacer apply to the payloads', async (t) => {
  let params;
  const { client } = setup(t, {
    jsonMessageReviver: (key, value) => (key === 'when' ? `revived:${value}` : value),
    jsonMessageReplacer: (key, value) => (key === 'hello' ? String(value).toUpperCase() : value),
    onConnect: (ctx) => {
      params = ctx.connectionParams;
      return { hello: 'ack' };
    },
  });
  let ack;
  const c = client({ connectionParams: { when: 'now' }, on: { connected: (_s, p) => (ack = p) } });
  const r = await run(c, { query: '{ hello }' });
  assert.deepEqual(r.results, [{ data: { hello: 'WORLD' } }]);
  assert.deepEqual(params, { when: 'revived:now' });
  assert.deepEqual(ack, { hello: 'ACK' });
});

test('a client complete while onSubscribe is still pending: the iterator is returned when it arrives', async (t) => {
  let release;
  const gate = new Promise((r) => (release = r));
  const completes = [];
  const { client } = setup(t, {
    onSubscribe: async () => {
      await gate;
    },
    onComplete: (_ctx, id) => completes.push(id),
  });
  const c = client({ lazy: false });
  const before = { live: iterators.live, made: iterators.made };
  let nexts = 0;
  const stop = c.subscribe({ query: 'subscription { ticks }' }, { next: () => nexts++, error: () => {}, complete: () => {} });
  await new Promise((r) => setTimeout(r, 50));
  stop();
  await new Promise((r) => setTimeout(r, 50));
  release();
  await eventually(() => completes.length === 1 || undefined, 3000, 'onComplete');
  assert.equal(iterators.made, before.made + 1, 'the operation started');
  assert.equal(iterators.live, before.live, 'and its iterator was returned at once');
  await new Promise((r) => setTimeout(r, 30));
  assert.equal(nexts, 0, 'nothing was sent for the completed id');
});

test('1,000 subscriptions on one connection, all returned on disconnect; an id can be reused after complete', async (t) => {
  const { client, server } = setup(t, { maxSubscriptionsPerConnection: 1000 });
  const c = client({ lazy: false });
  const before = iterators.live;
  const seen = new Set();
  const stops = [];
  for (let i = 0; i < 1000; i++) {
    stops.push(c.subscribe({ query: 'subscription { ticks }' }, { next: () => seen.add(i), error: (e) => assert.fail(String(e)), complete: () => {} }));
  }
  await eventually(() => seen.size === 1000 || undefined, 10000, 'a tick on all 1,000');
  assert.equal(iterators.live, before + 1000);
  assert.equal(server.stats().subscriptions, 1000);
  for (const stop of stops.slice(0, 500)) stop();
  await eventually(() => iterators.live === before + 500 || undefined, 5000, 'half of them returned');
  await c.dispose();
  await eventually(() => iterators.live === before || undefined, 5000, 'every iterator returned');
  await eventually(() => server.stats().subscriptions === 0 || undefined, 3000, 'no live operations');

  // raw client: the same id after a client complete starts a fresh operation
  const ws = new WebSocket(`ws://127.0.0.1:${server.address().port}/graphql`, 'graphql-transport-ws');
  const msgs = [];
  ws.on('message', (m) => msgs.push(JSON.parse(String(m))));
  await new Promise((r) => ws.once('open', r));
  ws.send(JSON.stringify({ type: 'connection_init' }));
  await eventually(() => msgs.some((m) => m.type === 'connection_ack') || undefined, 3000, 'ack');
  ws.send(JSON.stringify({ id: 'x', type: 'subscribe', payload: { query: 'subscription { ticks }' } }));
  await eventually(() => msgs.some((m) => m.type === 'next') || undefined, 3000, 'a tick');
  ws.send(JSON.stringify({ id: 'x', type: 'complete' }));
  ws.send(JSON.stringify({ id: 'x', type: 'subscribe', payload: { query: 'subscription { count(to: 2) }' } }));
  await eventually(() => msgs.some((m) => m.type === 'complete') || undefined, 3000, 'the second operation completes');
  const after = msgs.filter((m) => m.type === 'next' && 'count' in m.payload.data).map((m) => m.payload.data.count);
  assert.deepEqual(after, [1, 2]);
  await new Promise((r) => setTimeout(r, 50));
  assert.equal(msgs.filter((m) => m.type === 'complete').length, 1, 'the first operation sent no complete under the reused id');
  assert.equal(iterators.live, before);
  ws.close();
});

test('a graphql-ws client reconnects after a server restart and resubscribes', async (t) => {
  const first = useServer({ schema, roots }, { port: 0, path: '/graphql' });
  const { port } = first.address();
  const url = `ws://127.0.0.1:${port}/graphql`;
  let connected = 0;
  const c = createClient({
    url,
    webSocketImpl: WebSocket,
    lazy: false,
    retryAttempts: 20,
    retryWait: () => new Promise((r) => setTimeout(r, 50)),
    shouldRetry: () => true,
    on: { connected: () => (connected += 1) },
  });
  let second;
  t.after(async () => {
    await c.dispose();
    await second?.dispose();
  });
  let ticks = 0;
  c.subscribe({ query: 'subscription { ticks }' }, { next: () => ticks++, error: (e) => assert.fail(String(e)), complete: () => {} });
  await eventually(() => ticks >= 2 || undefined, 3000, 'ticks from the first server');
  const before = iterators.live;
  await first.dispose();
  assert.equal(iterators.live, before - 1, 'the first server returned its iterator');
  let onConnects = 0;
  second = useServer({ schema, roots, onConnect: () => void (onConnects += 1) }, { port, path: '/graphql' });
  const mark = ticks;
  await eventually(() => (connected >= 2 && ticks >= mark + 2) || undefined, 5000, 'ticks from the second server');
  assert.equal(onConnects, 1);
  assert.equal(iterators.live, before, 'one live iterator again, on the second server');
});

test('hooks that throw never crash the process: onNext → `error`, close hooks → logged', async (t) => {
  const logged = [];
  const orig = console.error;
  console.error = (...a) => logged.push(a.map(String).join(' '));
  t.after(() => (console.error = orig));
  let closes = 0;
  const { client } = setup(t, {
    onNext: (_ctx, _id, _payload, _args, result) => {
      if (result.data?.count === 2) throw new Error('onNext broke');
    },
    onComplete: async () => {
      throw new Error('onComplete broke');
    },
    onDisconnect: async () => {
      throw new Error('onDisconnect broke');
    },
    onClose: () => {
      closes += 1;
      throw new Error('onClose broke');
    },
  });
  const c = client();
  const r = await run(c, { query: 'subscription { count(to: 3) }' });
  assert.deepEqual(r.results, [{ data: { count: 1 } }]);
  assert.equal(r.error[0].message, 'onNext broke');
  await c.dispose();
  await eventually(() => closes >= 1 || undefined, 3000, 'onClose');
  await eventually(() => logged.some((l) => /onDisconnect broke/.test(l)) || undefined, 3000, 'the onDisconnect error logged');
  // the server still works
  assert.deepEqual((await run(client(), { query: '{ hello }' })).results, [{ data: { hello: 'world' } }]);
});
