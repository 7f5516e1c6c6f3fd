'use strict';
// Out of file descriptors: accept backs off, reports once with a code, and resumes when
// connections close. The server runs in a child with a lowered fd limit (lowering is
// allowed where raising is not); clients run here.
const test = require('node:test');
const assert = require('node:assert/strict');
const { spawn } = require('node:child_process');
const path = require('node:path');
const readline = require('node:readline');
const { connect, upgradeRequest } = require('./helpers');

const SERVER = `
const s = require('.').listen({ port: 0, reactors: 1, onError: (e) => console.log(JSON.stringify({ error: e.code, message: e.message })) });
console.log(JSON.stringify({ port: s.address().port }));
process.stdin.on('data', () => console.log(JSON.stringify({ stats: s.stats() })));
process.stdin.on('end', () => s.dispose());
`;

test('EMFILE pauses accepting, is reported once, and accepting resumes as fds free up', async (t) => {
  const child = spawn('bash', ['-c', `ulimit -n 120 && exec "${process.execPath}" -e '${SERVER.replace(/'/g, "'\\''")}'`], {
    cwd: path.join(__dirname, '..'),
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  t.after(() => child.kill('SIGKILL'));
  const lines = [];
  let wake = () => {};
  readline.createInterface({ input: child.stdout }).on('line', (l) => {
    lines.push(JSON.parse(l));
    wake();
  });
  const waitFor = (pred, ms, what) =>
    new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}: ${JSON.stringify(lines)}`)), ms);
      const check = () => {
        const hit = lines.find(pred);
        if (hit) {
          clearTimeout(timer);
          resolve(hit);
        }
      };
      wake = check;
      check();
    });
  const { port } = await waitFor((l) => l.port, 5000, 'the port');

  // More connections than the child has fds for.
  const peers = [];
  for (let i = 0; i < 160; i++) {
    const p = await connect(port);
    p.write(upgradeRequest());
    peers.push(p);
  }
  const err = await waitFor((l) => l.error, 5000, 'an EMFILE report');
  assert.equal(err.error, 'ERR_SUBWIRE_EMFILE');
  assert.match(err.message, /out of file descriptors/);
  const upgradedBefore = peers.filter((p) => p.buf.toString('latin1').startsWith('HTTP/1.1 101')).length;
  assert.ok(upgradedBefore > 0 && upgradedBefore < 160, `some but not all upgraded (${upgradedBefore})`);

  for (const p of peers) p.destroy();
  // With fds free again, a new client gets in.
  const fresh = await connect(port);
  fresh.write(upgradeRequest());
  assert.equal((await fresh.response()).status, 101);
  fresh.destroy();
  assert.equal(lines.filter((l) => l.error).length, 1, 'reported once, not once per failed accept');
  child.stdin.end();
});
