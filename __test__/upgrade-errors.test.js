'use strict';
// Every bad upgrade gets its HTTP status with `Connection: close`, then the socket ends.
const test = require('node:test');
const assert = require('node:assert/strict');
const { listen } = require('..');
const { connect, upgradeRequest, eventually, KEY } = require('./helpers');

async function ask(port, raw) {
  const p = await connect(port);
  p.write(raw);
  const res = await p.response();
  await p.waitEnd();
  p.destroy();
  return res;
}

test('bad upgrade requests get the right HTTP status', async (t) => {
  const server = listen({ port: 0, path: '/graphql', allowedOrigins: ['https://app.example'], maxHeaderBytes: 1024 });
  t.after(() => server.dispose());
  const port = server.address().port;
  const origin = { Origin: 'https://app.example' };
  const cases = [
    ['wrong path', 404, upgradeRequest({ path: '/other', headers: origin })],
    ['POST', 405, upgradeRequest({ method: 'POST', path: '/graphql', headers: origin })],
    ['no Upgrade header', 400, upgradeRequest({ path: '/graphql', headers: { ...origin, Upgrade: null } })],
    ['Upgrade: h2c', 400, upgradeRequest({ path: '/graphql', headers: { ...origin, Upgrade: 'h2c' } })],
    ['Connection without upgrade', 400, upgradeRequest({ path: '/graphql', headers: { ...origin, Connection: 'keep-alive' } })],
    ['no key', 400, upgradeRequest({ path: '/graphql', headers: { ...origin, 'Sec-WebSocket-Key': null } })],
    ['key of 15 bytes', 400, upgradeRequest({ path: '/graphql', headers: { ...origin, 'Sec-WebSocket-Key': Buffer.alloc(15).toString('base64') } })],
    ['no Host', 400, upgradeRequest({ path: '/graphql', headers: { ...origin, Host: null } })],
    ['version 8', 426, upgradeRequest({ path: '/graphql', headers: { ...origin, 'Sec-WebSocket-Version': '8' } })],
    ['no version', 426, upgradeRequest({ path: '/graphql', headers: { ...origin, 'Sec-WebSocket-Version': null } })],
    ['foreign origin', 403, upgradeRequest({ path: '/graphql', headers: { Origin: 'https://evil.example' } })],
    ['no origin with an allow-list', 403, upgradeRequest({ path: '/graphql' })],
    ['header block over maxHeaderBytes', 431, upgradeRequest({ path: '/graphql', headers: { ...origin, Cookie: 'a'.repeat(2000) } })],
    ['garbage', 400, 'HELLO THERE\r\n\r\n'],
  ];
  for (const [name, status, raw] of cases) {
    const res = await ask(port, raw);
    assert.equal(res.status, status, name);
    assert.ok(res.headers.connection.split(',').some((t) => t.trim() === 'close'), `${name}: Connection: close`);
    assert.ok(res.body.length > 0, `${name}: a short body says what was wrong`);
    if (status === 426) {
      assert.equal(res.headers['sec-websocket-version'], '13');
      assert.equal(res.headers.upgrade, 'websocket', 'a 426 names the protocol to upgrade to');
    }
  }
  // The same origin in another case is accepted, and the query string is ignored.
  const ok = await connect(port);
  ok.write(upgradeRequest({ path: '/graphql?x=1', headers: { Origin: 'HTTPS://APP.example' } }));
  const res = await ok.response();
  assert.equal(res.status, 101);
  assert.equal(res.headers['sec-websocket-accept'], 's3pPLMBiTxaQ9kYGzzhZRbK+xOo=');
  ok.destroy();
  assert.ok(server.stats().rejected >= cases.length);
  await eventually(() => server.stats().connections === 0, 3000, 'no connections left');
});

test('a request split into single bytes still upgrades', async (t) => {
  const server = listen({ port: 0 });
  t.after(() => server.dispose());
  const p = await connect(server.address().port, { noDelay: true });
  const raw = Buffer.from(upgradeRequest({ headers: { 'Sec-WebSocket-Key': KEY } }));
  for (const b of raw) {
    p.write(Buffer.from([b]));
    await new Promise((r) => setImmediate(r));
  }
  assert.equal((await p.response()).status, 101);
  p.destroy();
});

test('over maxConnections the answer is 503, and room frees up when one leaves', async (t) => {
  const server = listen({ port: 0, maxConnections: 2 });
  t.after(() => server.dispose());
  const port = server.address().port;
  const a = await connect(port);
  a.write(upgradeRequest());
  assert.equal((await a.response()).status, 101);
  const b = await connect(port);
  b.write(upgradeRequest());
  assert.equal((await b.response()).status, 101);
  assert.equal((await ask(port, upgradeRequest())).status, 503);
  a.destroy();
  await eventually(() => server.stats().connections === 1, 2000, 'one connection to leave');
  const c = await connect(port);
  c.write(upgradeRequest());
  assert.equal((await c.response()).status, 101);
  b.destroy();
  c.destroy();
});

test('a client that never finishes its handshake is closed after handshakeTimeout', async (t) => {
  const server = listen({ port: 0, handshakeTimeout: 200 });
  t.after(() => server.dispose());
  const p = await connect(server.address().port);
  p.write('GET / HTTP/1.1\r\nHost: x\r\n'); // and then nothing: slowloris
  const started = Date.now();
  await p.waitEnd(3000);
  const took = Date.now() - started;
  assert.ok(took >= 150, `closed after ${took} ms, not before the timeout`);
  await eventually(() => server.stats().connections === 0, 2000, 'the slow client to be dropped');
});
