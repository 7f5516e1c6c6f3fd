'use strict';
// The cluster benchmark's own logic (benchmark/lib/): the event-loop stall watch the servers
// answer `loop` with sees a stall that starts right after a window opened (the reason it is
// not perf_hooks.monitorEventLoopDelay, whose reset() drops the next interval), the
// `--cluster TxP` cases and their bounds, and how connections are spread over processes.
const test = require('node:test');
const assert = require('node:assert/strict');
const { loopStalls } = require('../benchmark/lib/loop-stalls');
const { parseArgs } = require('../benchmark/lib/options');
const { shares, clientSplit } = require('../benchmark/lib/cluster');

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const block = (ms) => {
  for (const end = performance.now() + ms; performance.now() < end;);
};

test('a stall right after a new window is measured, and the next window starts clean', async () => {
  const w = loopStalls();
  w.start();
  await sleep(30);
  w.take(); // a new window, as before a burst's first publish
  block(120);
  await sleep(20);
  const stall = w.take();
  assert.ok(stall >= 100 && stall < 2000, `stall ${stall} ms`);
  await sleep(50);
  assert.ok(w.take() < 60, 'an idle window after it reads (about) nothing');
});

test('a stall in progress when the window is read counts', async () => {
  const w = loopStalls();
  w.start();
  await sleep(20);
  w.take();
  block(80);
  assert.ok(w.take() >= 70);
});

test('--cluster: cases, bounds, and opt-in', () => {
  assert.deepEqual(parseArgs(['--cluster', '2000x1,15000x3']).cluster.map((c) => [c.total, c.procs, c.bursts]), [[2000, 1, [1, 20]], [15000, 3, [1, 20]]]);
  assert.deepEqual(parseArgs([]).cluster.map((c) => `${c.total}x${c.procs}`), ['4000x1', '4000x2', '4000x4'], 'quick profile');
  assert.deepEqual(parseArgs(['--full']).cluster.map((c) => `${c.total}x${c.procs}`), ['19000x1', '19000x2', '19000x4']);
  for (const bad of ['19001x1', '38002x2', '3x2', '100x9', '100x0', '4000', 'x2']) {
    assert.throws(() => parseArgs(['--cluster', bad]), /--cluster: TxP/, bad);
  }
  assert.ok(!parseArgs([]).scenarios.includes('cluster'), 'not run unless named');
  assert.deepEqual(parseArgs(['--scenarios', 'cluster']).scenarios, ['cluster']);
});

test('connections split evenly over processes; loadgens hold ≤ 9,500 each, two at least', () => {
  assert.deepEqual(shares(15001, 3), [5001, 5000, 5000]);
  assert.deepEqual(clientSplit(shares(19000, 1)), [[9500, 9500]]);
  assert.deepEqual(clientSplit(shares(4000, 1)), [[2000, 2000]]);
  assert.deepEqual(clientSplit(shares(19000, 2)), [[9500], [9500]]);
  assert.deepEqual(clientSplit(shares(38000, 2)), [[9500, 9500], [9500, 9500]]);
  assert.deepEqual(clientSplit(shares(19000, 4)), [[4750], [4750], [4750], [4750]]);
});
