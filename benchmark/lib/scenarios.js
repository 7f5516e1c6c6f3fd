'use strict';
/**
 * Issue #3's scenarios, each against a fresh server process:
 * - `idle`: warm up, take a baseline, open 10k then 19k idle upgraded connections
 *   (echo-checked) from several loadgen processes, and read the server's RSS and the
 *   kernel's socket memory at each step;
 * - `storm`: open N connections as fast as `concurrency` allows from two loadgen processes
 *   started at the same wall-clock instant, and compute completed upgrades per second.
 * @module benchmark/lib/scenarios
 */

const path = require('node:path');
const { Child } = require('./proc');
const { processMemory, cpuSeconds, fdCount, kernelSockets } = require('./metrics');

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const signed = (x, digits) => `${x >= 0 ? '+' : ''}${x.toFixed(digits)}`;

/** Connections one loadgen process takes at most in these scenarios (its fd limit is 20k). */
const PER_PROCESS = 9500;

/**
 * @typedef {{ key: string, label: string, script: string, args: string[], env?: Record<string, string> }} ServerSpec
 * @typedef {{ root: string, target?: string, loadgen: string, log: (msg: string) => void,
 *   idleSteps: number[], stormConns: number, concurrency: number, warmup: number }} Ctx
 */

/** Extra node flags for the JS servers (`BENCH_SERVER_NODE_FLAGS`, e.g. `--cpu-prof --cpu-prof-dir=/tmp/p`: node refuses these in NODE_OPTIONS). */
const serverFlags = (process.env.BENCH_SERVER_NODE_FLAGS ?? '').split(/\s+/).filter(Boolean);

/** Starts a server child and waits for its `listening` line. */
async function startServer(ctx, spec) {
  const server = spec.bin
    ? new Child(spec.key, path.join(ctx.target || path.join(ctx.root, 'target'), 'release', spec.bin), spec.args, { cwd: ctx.root })
    : new Child(spec.key, process.execPath, ['--expose-gc', ...serverFlags, path.join(ctx.root, 'benchmark', 'servers', spec.script), ...spec.args],
      { cwd: ctx.root, env: spec.env ? { ...process.env, ...spec.env } : process.env });
  const msg = await server.waitFor((m) => m.event === 'listening' || m.event === 'error', 20000);
  if (msg.event === 'error') {
    await server.end(1000);
    throw new Error(`${spec.key} failed to start: ${msg.message}`);
  }
  return { server, port: msg.port };
}

/** Source-address range for the k-th concurrent loadgen process: 60 addresses each. */
function sources(k) {
  const first = 2 + 60 * (k % 4);
  return `127.0.0.${first}-127.0.0.${first + 59}`;
}

/** Spawns one loadgen process. */
function loadgen(ctx, k, args) {
  return new Child(`loadgen#${k}`, ctx.loadgen, ['--src', sources(k), ...args]);
}

/** Splits `n` over at least two processes of at most PER_PROCESS each. */
function split(n) {
  const procs = Math.max(2, Math.ceil(n / PER_PROCESS));
  return Array.from({ length: procs }, (_, i) => Math.floor(n / procs) + (i < n % procs ? 1 : 0));
}

/** A few hundred connections opened and closed, so JIT and pools are warm before the baseline. */
async function warmup(ctx, port) {
  if (!ctx.warmup) return;
  const lg = loadgen(ctx, 0, ['--url', `ws://127.0.0.1:${port}/`, '--mode', 'storm', '--echo-check',
    '--connections', String(ctx.warmup), '--concurrency', '32', '--timeout-secs', '60']);
  const done = await lg.waitFor('done', 70000);
  await lg.end();
  if (done.connected !== ctx.warmup) throw new Error(`warm-up: only ${done.connected}/${ctx.warmup} connected: ${JSON.stringify(done.failures)}`);
}

/** Settling: RSS is sampled every SETTLE_STEP_MS, at least SETTLE_MIN_MS and at most SETTLE_MAX_MS. */
const SETTLE_STEP_MS = 1000;
const SETTLE_MIN_MS = 6000;
const SETTLE_MAX_MS = 20000;

/**
 * gc() in the server, let it settle, then read memory, kernel sockets and its own counters.
 *
 * "Settle" is what an idle server does by itself: after a connect storm V8's young
 * generation has grown to its maximum (32 MiB of semi-spaces in Node 20, ~1.2 KiB per
 * connection at 10k) and V8's memory reducer gives it back a few seconds after allocation
 * stops. Every server gets the same wait: RSS is sampled once a second for at least
 * SETTLE_MIN_MS, until three samples in a row lie within 1 % of each other (or
 * SETTLE_MAX_MS), then gc() runs again and the figures are read. The samples are kept in
 * the snapshot (`settle`), so the JSON shows what the wait returned.
 */
async function snapshot(server) {
  await server.request('gc', 'gc', 60000);
  const started = Date.now();
  /** @type {number[]} RSS KiB, one a second */
  const samples = [];
  for (;;) {
    await sleep(SETTLE_STEP_MS);
    samples.push(processMemory(server.pid).VmRSS);
    const last = samples.slice(-3);
    const steady = last.length === 3 && Math.max(...last) - Math.min(...last) <= Math.max(...last) * 0.01;
    const waited = Date.now() - started;
    if ((steady && waited >= SETTLE_MIN_MS) || waited >= SETTLE_MAX_MS) break;
  }
  const gc = await server.request('gc', 'gc', 60000);
  await sleep(300);
  const mem = processMemory(server.pid);
  const kernel = kernelSockets();
  const stats = await server.request('stats', 'stats', 10000);
  return { mem, kernel, heapUsed: gc.heapUsed, fds: fdCount(server.pid), stats, settle: { ms: Date.now() - started, rssKiB: samples } };
}

/** Per-connection growth from `base` to `at` over `n` connections, KiB. */
function perConn(base, at, n) {
  const d = (f) => (n > 0 && f(at) != null && f(base) != null ? (f(at) - f(base)) / n : null);
  return {
    rssKiB: d((s) => s.mem.VmRSS),
    rssAnonKiB: d((s) => s.mem.RssAnon),
    pssKiB: d((s) => s.mem.smaps.Pss),
    anonKiB: d((s) => s.mem.smaps.Anonymous),
    heapKiB: d((s) => s.heapUsed / 1024),
    kernelSockKiB: d((s) => s.kernel.tcpMemKiB),
    kernelSlabKiB: d((s) => s.kernel.slabKiB),
  };
}

/** Server-side open-connection count from a stats answer (subwire: `open`, ws: `connections`). */
function serverOpen(stats) {
  return typeof stats.open === 'number' ? stats.open : stats.connections;
}

/** @param {Ctx} ctx @param {ServerSpec} spec */
async function idle(ctx, spec) {
  const { server, port } = await startServer(ctx, spec);
  /** @type {Child[]} */
  const lgs = [];
  try {
    await warmup(ctx, port);
    const base = await snapshot(server);
    const steps = [];
    let held = 0;
    let connected = 0;
    for (const target of ctx.idleSteps) {
      const started = Date.now();
      const batch = split(target - held);
      const procs = batch.map((n, i) =>
        loadgen(ctx, lgs.length + i, ['--url', `ws://127.0.0.1:${port}/`, '--mode', 'idle', '--echo-check',
          '--connections', String(n), '--concurrency', String(ctx.concurrency), '--timeout-secs', '600',
          '--handshake-timeout-ms', '20000']));
      lgs.push(...procs);
      const readies = await Promise.all(procs.map((p) => p.waitFor('ready', 180000)));
      const ok = readies.reduce((a, r) => a + r.connected, 0);
      const failed = readies.reduce((a, r) => a + r.failed, 0);
      connected += ok;
      held = target;
      const openMs = Date.now() - started;
      const snap = await snapshot(server);
      const open = serverOpen(snap.stats);
      const step = { target, connected, failed, serverOpen: open, openMs, snapshot: snap,
        perConn: perConn(base, snap, connected), failures: readies.map((r) => r.failures).filter((f) => Object.keys(f.before_ready).length) };
      steps.push(step);
      ctx.log(`${spec.key} idle ${target}: ${connected} connected (${failed} failed, server sees ${open}), ` +
        `RSS ${signed((snap.mem.VmRSS - base.mem.VmRSS) / 1024, 1)} MiB = ${step.perConn.rssKiB.toFixed(2)} KiB/conn, ` +
        `kernel sock mem ${signed(snap.kernel.tcpMemKiB - base.kernel.tcpMemKiB, 0)} KiB, opened in ${step.openMs} ms`);
    }
    const dones = await Promise.all(lgs.map(async (p) => {
      p.send('stop');
      return p.waitFor('done', 30000).catch((e) => ({ error: String(e.message) }));
    }));
    const lostAfterReady = dones.reduce((a, d) => a + Object.values(d.failures?.after_ready || {}).reduce((x, y) => x + y, 0), 0);
    return { server: spec.key, base, steps, lostAfterReady };
  } finally {
    await Promise.all(lgs.map((p) => p.end(2000)));
    await server.end();
  }
}

/** @param {Ctx} ctx @param {ServerSpec} spec */
async function storm(ctx, spec) {
  const { server, port } = await startServer(ctx, spec);
  /** @type {Child[]} */
  let lgs = [];
  try {
    await warmup(ctx, port);
    const startAt = Date.now() + 500;
    lgs = split(ctx.stormConns).map((n, k) =>
      loadgen(ctx, k, ['--url', `ws://127.0.0.1:${port}/`, '--mode', 'storm', '--connections', String(n),
        '--concurrency', String(ctx.concurrency), '--start-at', String(startAt), '--timeout-secs', '300',
        '--handshake-timeout-ms', '30000']));
    const cpu0 = cpuSeconds(server.pid);
    const readies = await Promise.all(lgs.map((p) => p.waitFor('ready', 300000)));
    const serverCpu = cpuSeconds(server.pid) - cpu0;
    const loadgenCpu = lgs.reduce((a, p) => a + (cpuSeconds(p.pid) || 0), 0);
    const dones = await Promise.all(lgs.map((p) => p.waitFor('done', 60000)));
    const t0 = Math.min(...readies.map((r) => r.t0));
    const t1 = Math.max(...readies.map((r) => r.t_ready));
    const connected = readies.reduce((a, r) => a + r.connected, 0);
    const failed = readies.reduce((a, r) => a + r.failed, 0);
    const rate = connected / ((t1 - t0) / 1000);
    const p99 = Math.max(...readies.map((r) => r.handshake.p99_ms));
    const stats = await server.request('stats', 'stats', 10000);
    ctx.log(`${spec.key} storm: ${connected}/${ctx.stormConns} upgraded in ${(t1 - t0).toFixed(0)} ms = ` +
      `${Math.round(rate)}/s (${failed} failed, handshake p99 ${p99} ms, CPU s: server ${serverCpu.toFixed(2)}, loadgens ${loadgenCpu.toFixed(2)})`);
    return { server: spec.key, connected, failed, ms: t1 - t0, rate, handshakeP99Ms: p99, serverCpuS: serverCpu, loadgenCpuS: loadgenCpu,
      perProcess: readies.map((r) => ({ connected: r.connected, failed: r.failed, ms: r.ms, rate: r.rate, failures: r.failures })),
      closeUnanswered: dones.reduce((a, d) => a + (d.close_unanswered || 0), 0),
      closeNoEof: dones.reduce((a, d) => a + (d.close_no_eof || 0), 0), serverStats: stats };
  } finally {
    await Promise.all(lgs.map((p) => p.end(2000)));
    await server.end();
  }
}

module.exports = { idle, storm, startServer, split, sources, snapshot, perConn, sleep };
