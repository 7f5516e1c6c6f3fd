'use strict';
// The package as an app meets it: ESM named exports, and the `npm start` demo end to end.
const test = require('node:test');
const assert = require('node:assert/strict');
const { spawn, execFileSync } = require('node:child_process');
const path = require('node:path');
const { createClient } = require('graphql-ws');
const WebSocket = require('ws');

const ROOT = path.join(__dirname, '..');

test('named exports work from ESM import', () => {
  const out = execFileSync(
    process.execPath,
    ['--input-type=module', '-e', "import { useServer, listen } from 'subwire'; console.log(typeof useServer, typeof listen)"],
    // Inside the package, 'subwire' resolves to itself through package.json "exports".
    { cwd: ROOT, encoding: 'utf8' },
  );
  assert.equal(out.trim(), 'function function');
});

test('npm start: the demo serves a ticking subscription and stops cleanly on SIGINT', async (t) => {
  const child = spawn(process.execPath, ['examples/demo.js'], { cwd: ROOT, env: { ...process.env, PORT: '0' } });
  t.after(() => child.kill('SIGKILL'));
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (out += d));
  const url = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no URL printed: ${out}`)), 5000);
    child.stdout.on('data', () => {
      const m = /ws:\/\/[\d.]+:\d+\/graphql/.exec(out);
      if (m && out.includes('Ctrl-C')) {
        clearTimeout(timer);
        resolve(m[0]);
      }
    });
  });
  assert.match(out, /createClient/, 'prints a copy-paste client snippet');
  const client = createClient({ url, webSocketImpl: WebSocket, retryAttempts: 0 });
  const seqs = await new Promise((resolve, reject) => {
    const got = [];
    const stop = client.subscribe(
      { query: 'subscription { tick { seq at } }' },
      {
        next: (r) => {
          got.push(r.data.tick.seq);
          if (got.length === 2) {
            stop();
            resolve(got);
          }
        },
        error: reject,
        complete: () => {},
      },
    );
  });
  assert.equal(seqs[1], seqs[0] + 1, 'consecutive ticks');
  const hello = await new Promise((resolve, reject) =>
    client.subscribe({ query: '{ hello }' }, { next: (r) => resolve(r.data.hello), error: reject, complete: () => {} }),
  );
  assert.equal(hello, 'Hello from subwire');
  await client.dispose();
  const exited = new Promise((r) => child.on('exit', (code) => r(code)));
  child.kill('SIGINT');
  assert.equal(await exited, 0);
  assert.match(out, /stopped/);
});
