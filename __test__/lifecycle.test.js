'use strict';
// Resources: no fd left behind, dispose closes with 1001, the process lives exactly as long
// as the server listens.
const test = require('node:test');
const assert = require('node:assert/strict');
const { spawn } = require('node:child_process');
const path = require('node:path');
const WebSocket = require('ws');
const { listen } = require('..');
const { fdCount, eventually } = require('./helpers');

const ROOT = path.join(__dirname, '..');

function open(url) {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url);
    ws.once('open', () => resolve(ws));
    ws.once('error', reject);
  });
}

test('1,000 connections open and close with no fd left behind', async () => {
  const before = fdCount();
  const server = listen({ port: 0, reactors: 2 });
  const url = `ws://127.0.0.1:${server.address().port}/`;
  const clients = [];
  for (let i = 0; i < 10; i++) clients.push(...(await Promise.all(Array.from({ length: 100 }, () => open(url)))));
  await eventually(() => server.stats().open === 1000, 5000, '1,000 open connections');
  assert.ok(fdCount() >= before + 2000, 'both ends of 1,000 sockets are open in this process');
  await Promise.all(clients.map((c) => new Promise((r) => { c.once('close', r); c.close(1000); })));
  await eventually(() => server.stats().connections === 0, 5000, 'the server to close all 1,000');
  await server.dispose();
  await eventually(() => fdCount() <= before, 3000, `fds back to ${before} (now ${fdCount()})`);
});

test('dispose closes open connections with 1001 and resolves after they are gone', async () => {
  const server = listen({ port: 0 });
  const url = `ws://127.0.0.1:${server.address().port}/`;
  const clients = await Promise.all([open(url), open(url)]);
  const closes = clients.map((c) => new Promise((r) => c.once('close', (code) => r(code))));
  const first = server.dispose();
  assert.equal(server.dispose(), first, 'dispose() twice returns the same promise');
  await first;
  assert.deepEqual(await Promise.all(closes), [1001, 1001]);
  await assert.rejects(open(url), 'nothing listens after dispose');
});

function runNode(code, ms) {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['-e', code], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), ms);
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, out });
    });
  });
}

test('a listening server keeps Node alive; after dispose nothing does', async () => {
  const alive = await runNode("require('.').listen({ port: 0 }); console.log('listening')", 1500);
  assert.equal(alive.signal, 'SIGKILL', `the process stayed up while listening: ${alive.out}`);
  assert.match(alive.out, /listening/);
  const done = await runNode(
    "const s = require('.').listen({ port: 0 }); s.dispose().then(() => console.log('disposed'))",
    5000,
  );
  assert.equal(done.signal, null, `the process exited on its own: ${done.out}`);
  assert.equal(done.code, 0);
  assert.match(done.out, /disposed/);
});

test('a panic in a reactor closes that one connection and reaches onError with a code', async (t) => {
  // The injected panic is expected: keep Rust's panic message to one line in the test log.
  process.env.RUST_BACKTRACE = '0';
  const errors = [];
  // One reactor: the bystander shares the panicking reactor, so its state must survive.
  const server = listen({ port: 0, reactors: 1, _testPanicOn: 'boom', onError: (e) => errors.push(e) });
  t.after(() => server.dispose());
  const url = `ws://127.0.0.1:${server.address().port}/`;
  const [victim, bystander] = await Promise.all([open(url), open(url)]);
  const gone = new Promise((r) => victim.once('close', (code) => r(code)));
  victim.send('boom');
  assert.equal(await gone, 1006, 'the panicking connection is cut');
  await eventually(() => errors.length === 1, 2000, 'the error to reach JS');
  assert.equal(errors[0].code, 'ERR_SUBWIRE_REACTOR_PANIC');
  assert.ok(errors[0] instanceof Error);
  assert.equal(server.stats().panics, 1);
  const echoed = new Promise((r) => bystander.once('message', (m) => r(String(m))));
  bystander.send('still here');
  assert.equal(await echoed, 'still here', 'other connections and the process carry on');
  bystander.terminate();
});

test('a server whose JS reference is dropped keeps serving after garbage collection', async () => {
  const code = `
    const WebSocket = require('ws');
    const port = (() => require('.').listen({ port: 0 }).address().port)();
    gc();
    setTimeout(() => {
      gc();
      const ws = new WebSocket('ws://127.0.0.1:' + port + '/');
      ws.on('open', () => ws.send('still listening'));
      ws.on('message', (m) => { console.log(String(m)); process.exit(0); });
      ws.on('error', (e) => { console.log('error ' + e.message); process.exit(1); });
    }, 100);`;
  const res = await new Promise((resolve) => {
    const child = spawn(process.execPath, ['--expose-gc', '-e', code], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
    child.on('exit', (exitCode) => {
      clearTimeout(timer);
      resolve({ exitCode, out });
    });
  });
  assert.equal(res.exitCode, 0, res.out);
  assert.match(res.out, /still listening/);
});

test('while dispose() is pending, calls answer with coded errors or false, never a borrow error', async () => {
  const server = listen({ port: 0 });
  const pending = server.dispose();
  assert.throws(() => server.stats(), { code: 'ERR_SUBWIRE_DISPOSED' });
  assert.throws(() => server.address(), { code: 'ERR_SUBWIRE_DISPOSED' });
  assert.throws(() => server.broadcast('x'), { code: 'ERR_SUBWIRE_DISPOSED' });
  await pending;
});
