'use strict';
// A port in use fails with ERR_SUBWIRE_ADDR_IN_USE, synchronously, whoever holds it (a
// subwire server of this process or of another one, a net.Server), although subwire's own
// reactors share their port through SO_REUSEPORT; with `reusePort: true` on both, both
// serve it (src/listener.rs).
const test = require('node:test');
const assert = require('node:assert/strict');
const net = require('node:net');
const path = require('node:path');
const { spawn } = require('node:child_process');
const WebSocket = require('ws');
const { buildSchema } = require('graphql');
const { createClient } = require('graphql-ws');
const { useServer, listen } = require('..');
const { run } = require('./helpers');

const schema = buildSchema('type Query { who: String }');
const serve = (who, target) => useServer({ schema, roots: { query: { who: () => who } }, reactors: 2 }, { host: '127.0.0.1', path: '/graphql', ...target }, 0);

/** Asks `count` fresh connections who answered; returns the set of answers. */
async function whoAnswers(port, count) {
  const seen = new Set();
  for (let i = 0; i < count; i++) {
    const client = createClient({ url: `ws://127.0.0.1:${port}/graphql`, webSocketImpl: WebSocket, retryAttempts: 0 });
    const { results, error } = await run(client, { query: '{ who }' });
    assert.equal(error, null);
    seen.add(results[0].data.who);
    await client.dispose();
  }
  return seen;
}

/** A child process serving `who` on `port` with `target` options; resolves with its first line. */
function child(port, target) {
  const root = path.join(__dirname, '..');
  const code = `
    const { useServer } = require(${JSON.stringify(root)});
    const { buildSchema } = require('graphql');
    const schema = buildSchema('type Query { who: String }');
    try {
      useServer({ schema, roots: { query: { who: () => 'child' } }, reactors: 2 },
        { host: '127.0.0.1', port: ${port}, path: '/graphql', ...${JSON.stringify(target)} }, 0);
      console.log('listening');
    } catch (e) { console.log(e.code); process.exit(0); }
    process.stdin.on('end', () => process.exit(0)); process.stdin.resume();`;
  const p = spawn(process.execPath, ['-e', code], { cwd: root, stdio: ['pipe', 'pipe', 'inherit'] });
  const line = new Promise((resolve) => {
    let out = '';
    p.stdout.on('data', (d) => {
      out += d;
      if (out.includes('\n')) resolve(out.split('\n')[0]);
    });
    p.on('exit', () => resolve(out.split('\n')[0]));
  });
  const stop = () => new Promise((resolve) => (p.exitCode !== null ? resolve() : (p.on('exit', resolve), p.stdin.end())));
  return { line, stop };
}

/** `start()` must throw ERR_SUBWIRE_ADDR_IN_USE; a server it did start is disposed. */
function throwsInUse(start, what) {
  let started;
  assert.throws(() => (started = start()), (e) => e instanceof Error && e.code === 'ERR_SUBWIRE_ADDR_IN_USE' && /already in use/.test(e.message), what);
  started?.dispose();
}

test('one process: a second server on the same port throws ERR_SUBWIRE_ADDR_IN_USE', async (t) => {
  const first = serve('first', { port: 0 });
  t.after(() => first.dispose());
  const { port } = first.address();
  throwsInUse(() => serve('second', { port }), 'useServer twice');
  throwsInUse(() => listen({ port, host: '127.0.0.1', reactors: 2 }), 'listen() on it');
  throwsInUse(() => listen({ port, host: '127.0.0.1', listener: 'shared', reactors: 2 }), 'a shared listener on it');
  // A net.Server cannot take it either, and subwire cannot take a net.Server's port.
  const other = net.createServer();
  await assert.rejects(new Promise((resolve, reject) => other.once('error', reject).listen(port, '127.0.0.1', resolve)), { code: 'EADDRINUSE' });
  const plain = net.createServer();
  await new Promise((resolve) => plain.listen(0, '127.0.0.1', resolve));
  t.after(() => plain.close());
  throwsInUse(() => serve('second', { port: plain.address().port }), "a net.Server's port");
  // The first one still serves, alone.
  assert.deepEqual(await whoAnswers(port, 3), new Set(['first']));
});

test('two processes: the second one fails with ERR_SUBWIRE_ADDR_IN_USE, whichever starts first', async (t) => {
  const mine = serve('parent', { port: 0 });
  t.after(() => mine.dispose());
  const { port } = mine.address();
  const c = child(port, {});
  t.after(() => c.stop());
  assert.equal(await c.line, 'ERR_SUBWIRE_ADDR_IN_USE');
  await c.stop();
  await mine.dispose();

  // The child first: it takes a port that was free a moment ago.
  const probe = net.createServer();
  await new Promise((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const fixed = probe.address().port;
  await new Promise((resolve) => probe.close(resolve));
  const held = child(fixed, {});
  t.after(() => held.stop());
  assert.equal(await held.line, 'listening');
  throwsInUse(() => serve('parent', { port: fixed }), "the child's port");
});

test('reusePort: true on both, in one process and across two: both serve the port', async (t) => {
  const a = serve('a', { port: 0, reusePort: true });
  t.after(() => a.dispose());
  const { port } = a.address();
  const b = serve('b', { port, reusePort: true });
  t.after(() => b.dispose());
  throwsInUse(() => serve('c', { port }), 'one that did not opt in still fails');
  assert.deepEqual(await whoAnswers(port, 40), new Set(['a', 'b']), 'the kernel spreads connections over both');
  await b.dispose();
  const c = child(port, { reusePort: true });
  t.after(() => c.stop());
  assert.equal(await c.line, 'listening');
  assert.deepEqual(await whoAnswers(port, 40), new Set(['a', 'child']), 'and over two processes');
});

test('reusePort is checked, and refused with an http.Server target', () => {
  assert.throws(() => listen({ port: 0, reusePort: 'yes' }), { code: 'ERR_SUBWIRE_INVALID_OPTION' });
  const http = require('node:http');
  assert.throws(() => useServer({ schema }, { server: http.createServer(), reusePort: true }), { code: 'ERR_SUBWIRE_INVALID_OPTION' });
});
