'use strict';
// useServer(options, { server: httpServer, path }): subwire on the app's own port. Upgrades
// for its path are handed to Rust (fd hand-off); HTTP and other paths stay Node's.
const test = require('node:test');
const assert = require('node:assert/strict');
const http = require('node:http');
const https = require('node:https');
const { spawn } = require('node:child_process');
const v8 = require('node:v8');
const vm = require('node:vm');
const WebSocket = require('ws');
const { buildSchema } = require('graphql');
const { createClient } = require('graphql-ws');
const { useServer, PubSub } = require('..');
const { eventually, fdCount, connect, upgradeRequest } = require('./helpers');

v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc');

const schema = buildSchema('type Query { hello: String } type Subscription { n: Int }');
const pubsub = new PubSub();
const roots = { query: { hello: () => 'world' }, subscription: { n: () => pubsub.asyncIterableIterator('attach-n') } };

/** An http.Server with one route, listening on a free port (or not yet, with `listenNow` false). */
async function httpApp(t, listenNow = true) {
  const server = http.createServer((req, res) => res.end(`http ${req.url}`));
  const start = () => new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  if (listenNow) await start();
  t.after(() => new Promise((resolve) => server.close(() => resolve())));
  return { server, start, port: () => server.address().port };
}

function graphqlClient(t, port, opts = {}) {
  const c = createClient({ url: `ws://127.0.0.1:${port}/graphql`, webSocketImpl: WebSocket, retryAttempts: 0, ...opts });
  t.after(() => c.dispose());
  return c;
}

const once = (c, payload) =>
  new Promise((resolve, reject) => c.subscribe(payload, { next: resolve, error: reject, complete() {} }));

test('one port: HTTP routes stay Node\'s, WebSocket subscriptions are subwire\'s; attach before or after listen', async (t) => {
  for (const listenFirst of [true, false]) {
    const app = await httpApp(t, listenFirst);
    const sub = useServer({ schema, roots }, { server: app.server, path: '/graphql' });
    t.after(() => sub.dispose());
    if (!listenFirst) await app.start();
    assert.deepEqual(sub.address(), app.server.address());
    assert.equal(await (await fetch(`http://127.0.0.1:${app.port()}/health`)).text(), 'http /health');
    const c = graphqlClient(t, app.port());
    assert.deepEqual(await once(c, { query: '{ hello }' }), { data: { hello: 'world' } });
    const got = [];
    c.subscribe({ query: 'subscription { n }' }, { next: (r) => got.push(r.data.n), error() {}, complete() {} });
    await eventually(() => sub.stats().subscriptions === 1 || undefined, 5000, 'subscribed');
    await pubsub.publish('attach-n', { n: 7 });
    await eventually(() => got.length === 1 || undefined, 5000, 'event');
    assert.deepEqual(got, [7]);
    assert.equal(sub.stats().open, 1, 'the socket is Rust\'s');
  }
});

test('other paths: left to other upgrade listeners, 404 when subwire is alone; dispose leaves them and HTTP running', async (t) => {
  const app = await httpApp(t);
  const sub = useServer({ schema, roots }, { server: app.server, path: '/graphql' });
  // Alone: an upgrade to another path is answered, not left hanging.
  const alone = await connect(app.port());
  alone.write(upgradeRequest({ path: '/elsewhere' }));
  assert.equal((await alone.response()).status, 404);
  alone.destroy();
  // With a ws server (noServer) for /chat beside it, /chat is ws's.
  const wss = new WebSocket.Server({ noServer: true });
  app.server.on('upgrade', (req, socket, head) => {
    if (req.url === '/chat') wss.handleUpgrade(req, socket, head, (ws) => ws.on('message', (m) => ws.send(`echo ${m}`)));
  });
  t.after(() => wss.close());
  const chat = new WebSocket(`ws://127.0.0.1:${app.port()}/chat`);
  await new Promise((resolve, reject) => chat.once('open', resolve).once('error', reject));
  const c = graphqlClient(t, app.port(), { lazy: false });
  const closed = new Promise((resolve) => c.on('closed', (e) => resolve(e.code)));
  assert.deepEqual(await once(c, { query: '{ hello }' }), { data: { hello: 'world' } });
  assert.equal(app.server.listenerCount('upgrade'), 2);
  await sub.dispose();
  assert.equal(await closed, 1001, 'subwire\'s socket closed with 1001');
  assert.equal(app.server.listenerCount('upgrade'), 1, 'its listener is gone');
  chat.send('hi');
  assert.equal(String(await new Promise((resolve) => chat.once('message', resolve))), 'echo hi', 'ws\'s socket lives on');
  chat.close();
  assert.equal(await (await fetch(`http://127.0.0.1:${app.port()}/still`)).text(), 'http /still');
});

test('an https.Server is refused with ERR_SUBWIRE_TLS_ATTACH; a non-server with INVALID_OPTION', () => {
  assert.throws(
    () => useServer({ schema }, { server: https.createServer(), path: '/graphql' }),
    (e) => e.code === 'ERR_SUBWIRE_TLS_ATTACH' && /Terminate TLS/.test(e.message),
  );
  assert.throws(() => useServer({ schema }, { server: {}, path: '/graphql' }), (e) => e.code === 'ERR_SUBWIRE_INVALID_OPTION');
});

test('bad upgrades on the attached path get subwire\'s HTTP errors', async (t) => {
  const app = await httpApp(t);
  const sub = useServer({ schema, roots, allowedOrigins: ['https://app.example'] }, { server: app.server, path: '/graphql' });
  t.after(() => sub.dispose());
  const cases = [
    [{ headers: { 'Sec-WebSocket-Version': '8' } }, 426],
    [{ headers: { Origin: 'https://evil.example' } }, 403],
    [{ headers: { Origin: 'https://app.example', 'Sec-WebSocket-Key': 'short' } }, 400],
  ];
  for (const [opts, status] of cases) {
    const p = await connect(app.port());
    p.write(upgradeRequest({ path: '/graphql', ...opts }));
    assert.equal((await p.response()).status, status, JSON.stringify(opts));
    p.destroy();
  }
});

/** A child process holding `n` raw upgraded connections until it is killed (opened 100 at a time). */
function holder(port, n) {
  const code = `
    const net = require('node:net');
    const req = 'GET /graphql HTTP/1.1\\r\\nHost: x\\r\\nUpgrade: websocket\\r\\nConnection: Upgrade\\r\\n' +
      'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\\r\\nSec-WebSocket-Version: 13\\r\\nSec-WebSocket-Protocol: graphql-transport-ws\\r\\n\\r\\n';
    let up = 0, started = 0;
    const open = () => new Promise((resolve) => {
      const s = net.connect(${port}, '127.0.0.1', () => s.write(req));
      s.once('data', (d) => { if (String(d).startsWith('HTTP/1.1 101')) up++; else console.error('refused: ' + String(d).split('\\r\\n')[0]); resolve(); });
      s.on('error', (e) => { console.error(String(e)); resolve(); });
    });
    (async () => {
      while (started < ${n}) { const batch = []; for (let i = 0; i < 100 && started < ${n}; i++, started++) batch.push(open()); await Promise.all(batch); }
      console.log(up === ${n} ? 'ready' : 'short ' + up);
    })();`;
  const child = spawn(process.execPath, ['-e', code], { stdio: ['ignore', 'pipe', 'inherit'] });
  const exited = new Promise((resolve) => child.once('exit', resolve));
  const ready = new Promise((resolve, reject) => {
    child.stdout.on('data', (d) => (String(d).includes('ready') ? resolve() : reject(new Error(`holder: ${d}`))));
    exited.then((c) => reject(new Error(`holder exited with ${c}`)));
  });
  ready.catch(() => {});
  return {
    ready,
    kill: () => {
      child.kill();
      return exited;
    },
  };
}

test('hand-off leaks nothing: fds return to where they were, Node\'s sockets are released (heap per connection)', async (t) => {
  const app = await httpApp(t);
  const sub = useServer({ schema, roots, connectionInitWaitTimeout: 0 }, { server: app.server, path: '/graphql' }, 0);
  t.after(() => sub.dispose());
  const N = 1000;
  // Warm up (JIT, pools; Node keeps up to 1000 freed HTTP parsers for reuse), then measure.
  let h = holder(app.port(), N);
  await h.ready;
  await h.kill();
  await eventually(() => sub.stats().open === 0 || undefined, 5000, 'warm-up closed');
  await new Promise((r) => setTimeout(r, 100));
  gc();
  gc();
  const before = { fds: fdCount(), heap: process.memoryUsage().heapUsed };
  h = holder(app.port(), N);
  await h.ready;
  await eventually(() => sub.stats().open === N || undefined, 10000, `${N} open`);
  await new Promise((r) => setTimeout(r, 200));
  gc();
  gc();
  const held = { fds: fdCount(), heap: process.memoryUsage().heapUsed };
  const perConn = (held.heap - before.heap) / N;
  t.diagnostic(`JS heap per handed-off connection: ${perConn.toFixed(0)} bytes; fds ${before.fds} → ${held.fds}`);
  assert.ok(perConn < 512, `Node keeps ${perConn.toFixed(0)} bytes of heap per handed-off connection`);
  assert.ok(held.fds - before.fds >= N && held.fds - before.fds < N + 20, 'one fd per connection: Node\'s copies are closed');
  await h.kill();
  await eventually(() => sub.stats().open === 0 || undefined, 10000, 'all closed');
  await eventually(() => fdCount() === before.fds || undefined, 5000, 'fds back to the start');
  // No double close: Node's HTTP side still works and a new connection upgrades.
  assert.equal(await (await fetch(`http://127.0.0.1:${app.port()}/after`)).text(), 'http /after');
  const c = graphqlClient(t, app.port());
  assert.deepEqual(await once(c, { query: '{ hello }' }), { data: { hello: 'world' } });
});
