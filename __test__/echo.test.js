'use strict';
// The transport with a real `ws` client: messages both ways, pings, broadcast, options.
const test = require('node:test');
const assert = require('node:assert/strict');
const WebSocket = require('ws');
const { listen } = require('..');
const { connect, upgradeRequest, clientFrame, eventually } = require('./helpers');

function open(url, opts) {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, opts);
    ws.once('open', () => resolve(ws));
    ws.once('error', reject);
  });
}
const next = (ws) => new Promise((resolve) => ws.once('message', (data, isBinary) => resolve({ data, isBinary })));

test('echoes text and binary messages of every length form to a ws client', async (t) => {
  const server = listen({ port: 0, path: '/ws' });
  t.after(() => server.dispose());
  const { port, address, family } = server.address();
  assert.equal(address, '127.0.0.1');
  assert.equal(family, 'IPv4');
  assert.ok(port > 0, 'port 0 picked a real port');
  const ws = await open(`ws://127.0.0.1:${port}/ws?token=abc`);
  for (const size of [0, 5, 125, 126, 65535, 65536, 300_000]) {
    const text = 'é'.repeat(Math.floor(size / 2)) + (size % 2 ? 'x' : '');
    const got = next(ws);
    ws.send(text);
    const m = await got;
    assert.equal(m.isBinary, false);
    assert.equal(m.data.toString('utf8'), text, `text of ${size} bytes`);
    const bin = Buffer.alloc(size, 7);
    const gotBin = next(ws);
    ws.send(bin);
    const mb = await gotBin;
    assert.equal(mb.isBinary, true);
    assert.deepEqual(mb.data, bin, `binary of ${size} bytes`);
  }
  const s = server.stats();
  assert.equal(s.open, 1);
  assert.equal(s.upgrades, 1);
  assert.ok(s.messagesIn >= 14 && s.messagesOut >= 14, JSON.stringify(s));
  ws.close(1000, 'bye');
  const [code, reason] = await new Promise((r) => ws.once('close', (c, why) => r([c, String(why)])));
  assert.equal(code, 1000, 'our close code is echoed back');
  assert.equal(reason, 'bye', 'and our reason, as ws echoes it');
  await eventually(() => server.stats().connections === 0, 3000, 'the server to drop the closed connection');
});

test('answers pings with the same payload, in Rust', async (t) => {
  const server = listen({ port: 0 });
  t.after(() => server.dispose());
  const ws = await open(`ws://127.0.0.1:${server.address().port}/`);
  const pong = new Promise((r) => ws.once('pong', r));
  ws.ping(Buffer.from('are you there'));
  assert.equal(String(await pong), 'are you there');
  ws.terminate();
});

test('a fragmented message with control frames between fragments is reassembled', async (t) => {
  const server = listen({ port: 0 });
  t.after(() => server.dispose());
  const p = await connect(server.address().port);
  // Request and the first frames in one write: pipelined bytes after the head are not lost.
  p.write(
    Buffer.concat([
      Buffer.from(upgradeRequest()),
      clientFrame({ fin: false, opcode: 1, payload: Buffer.from('hé') }),
      clientFrame({ opcode: 9, payload: 'p1' }),
    ]),
  );
  assert.equal((await p.response()).status, 101);
  const pong = await p.frame();
  assert.deepEqual([pong.opcode, String(pong.payload)], [10, 'p1']);
  // The é is split across fragments (0xC3 | 0xA9).
  const e = Buffer.from('é');
  p.write(clientFrame({ fin: false, opcode: 0, payload: Buffer.concat([Buffer.from('llo w'), e.subarray(0, 1)]) }));
  p.write(clientFrame({ fin: true, opcode: 0, payload: Buffer.concat([e.subarray(1), Buffer.from('rld')]) }));
  const echo = await p.frame();
  assert.equal(echo.opcode, 1);
  assert.equal(echo.masked, false, 'server frames are never masked');
  assert.equal(String(echo.payload), 'héllo wérld');
  p.destroy();
});

test('broadcast mode sends one client message to every client; server.broadcast reaches all', async (t) => {
  const server = listen({ port: 0, mode: 'broadcast' });
  t.after(() => server.dispose());
  const url = `ws://127.0.0.1:${server.address().port}/`;
  const clients = await Promise.all([open(url), open(url), open(url)]);
  await eventually(() => server.stats().open === 3, 2000, 'three open connections');
  let got = clients.map(next);
  clients[1].send('from client 1');
  for (const m of await Promise.all(got)) assert.equal(String(m.data), 'from client 1');
  got = clients.map(next);
  server.broadcast(Buffer.from([1, 2, 3]));
  for (const m of await Promise.all(got)) {
    assert.equal(m.isBinary, true);
    assert.deepEqual([...m.data], [1, 2, 3]);
  }
  got = clients.map(next);
  server.broadcast('text for all');
  for (const m of await Promise.all(got)) assert.equal(String(m.data), 'text for all');
  for (const c of clients) c.terminate();
});

test('bind failures and bad options throw synchronously with a code', async (t) => {
  const a = listen({ port: 0 });
  t.after(() => a.dispose());
  assert.throws(() => listen({ port: a.address().port, reactors: 1 }), (e) => {
    assert.equal(e.code, 'ERR_SUBWIRE_ADDR_IN_USE');
    assert.match(e.message, /already in use/);
    return true;
  });
  assert.throws(() => listen({ host: 'not an ip' }), { code: 'ERR_SUBWIRE_INVALID_OPTION' });
  assert.throws(() => listen({ host: '10.255.255.1' }), { code: 'ERR_SUBWIRE_ADDR_NOT_AVAILABLE' });
  assert.throws(() => listen({ port: '80' }), { code: 'ERR_SUBWIRE_INVALID_OPTION' });
  assert.throws(() => listen({ port: 70000 }), { code: 'ERR_SUBWIRE_INVALID_OPTION' });
  assert.throws(() => listen({ mode: 'chat' }), { code: 'ERR_SUBWIRE_INVALID_OPTION' });
  assert.throws(() => listen({ path: 'graphql' }), { code: 'ERR_SUBWIRE_INVALID_OPTION' });
  assert.throws(() => listen({ allowedOrigins: 'x' }), { code: 'ERR_SUBWIRE_INVALID_OPTION' });
  await a.dispose();
  assert.throws(() => a.address(), { code: 'ERR_SUBWIRE_DISPOSED' });
});

test('both listener modes serve connections from every reactor', async (t) => {
  for (const listener of ['reuseport', 'shared']) {
    const server = listen({ port: 0, reactors: 2, listener });
    t.after(() => server.dispose());
    const url = `ws://127.0.0.1:${server.address().port}/`;
    const clients = await Promise.all(Array.from({ length: 40 }, () => open(url)));
    await eventually(() => server.stats().open === 40, 3000, `40 open connections (${listener})`);
    const spread = server.stats().openPerReactor;
    assert.equal(spread.length, 2);
    assert.equal(spread[0] + spread[1], 40);
    // SO_REUSEPORT hashes connections over the reactors' sockets: both get some.
    if (listener === 'reuseport') assert.ok(spread.every((n) => n > 0), `spread ${spread}`);
    const got = clients.map(next);
    clients.forEach((c, i) => c.send(`n${i}`));
    (await Promise.all(got)).forEach((m, i) => assert.equal(String(m.data), `n${i}`));
    for (const c of clients) c.terminate();
    await server.dispose();
  }
});
