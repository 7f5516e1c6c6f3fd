#!/usr/bin/env node
'use strict';
/**
 * Benchmark runner (`npm run bench`): builds the Rust load generator and the raw-socket
 * floor, then runs the scenarios against each server in turn — idle connections (RSS and
 * kernel socket memory per connection at 10k and 19k), a connect storm (upgrades/s) and
 * fan-out (publish → last delivery, latency, CPU per 1M delivered, loss; lib/fanout.js) —
 * prints server × figure tables on stdout, progress on stderr, and writes
 * benchmark/results/latest.json.
 *
 * Quick profile by default (one pass, small fan-out); `--full` repeats 3× interleaved
 * (server order rotates) and reports medians with ranges. A server that fails (cannot
 * start, loses messages, crashes) stays in the tables with its reason. `--help` for options.
 * @module benchmark/run
 */

const fs = require('node:fs');
const path = require('node:path');
const { spawnSync } = require('node:child_process');
const { idle, storm } = require('./lib/scenarios');
const { fanout } = require('./lib/fanout');
const { fanoutTable } = require('./lib/fanout-report');
const { machineFacts, busyShare, busyProcesses } = require('./lib/metrics');
const { summarize, mainTable, table, num, count } = require('./lib/report');

const ROOT = path.resolve(__dirname, '..');
/** Where cargo puts the loadgen and the floor (CARGO_TARGET_DIR is honoured). */
const TARGET = path.resolve(ROOT, process.env.CARGO_TARGET_DIR || 'target');

/** Every server this stage knows. */
const SERVERS = [
  { key: 'subwire-reuseport', label: 'subwire (reuseport)', script: 'subwire.js', args: ['--listener', 'reuseport'], native: true, scenarios: ['idle', 'storm'] },
  { key: 'subwire-shared', label: 'subwire (shared)', script: 'subwire.js', args: ['--listener', 'shared'], native: true, scenarios: ['idle', 'storm'] },
  { key: 'ws', label: 'ws (echo)', script: 'ws.js', args: [], scenarios: ['idle', 'storm'] },
  // fan-out: GraphQL servers on the same schema and publish command, and the floor
  { key: 'floor', label: 'raw-socket floor (Rust)', bin: 'floor', args: [], scenarios: ['fanout'] },
  { key: 'subwire-gql-shared', label: 'subwire (shared)', script: 'subwire-graphql.js', args: ['--share'], native: true, scenarios: ['fanout'] },
  { key: 'subwire-gql-unshared', label: 'subwire (unshared)', script: 'subwire-graphql.js', args: [], native: true, scenarios: ['fanout'] },
  { key: 'subwire-gql-projected', label: 'subwire (unshared, projected)', script: 'subwire-graphql.js', args: ['--projected'], native: true, scenarios: ['fanout'] },
  { key: 'graphql-ws', label: 'graphql-ws on ws', script: 'graphql-ws.js', args: [], scenarios: ['fanout'] },
  { key: 'stws', label: 'subscriptions-transport-ws on ws', script: 'stws.js', args: [], protocol: 'graphql-ws', scenarios: ['fanout'] },
];

/** Fan-out cases: connections × subscriptions per connection, publish bursts, body bytes. */
const FANOUT = {
  quick: [{ conns: 5000, subs: 1, bursts: [1, 20], body: 200 }],
  full: [
    { conns: 10000, subs: 1, bursts: [1, 20], body: 200 },
    { conns: 19000, subs: 1, bursts: [1, 20], body: 200 },
    { conns: 19000, subs: 5, bursts: [1, 20], body: 200 },
  ],
};

const HELP = `usage: node benchmark/run.js [options]
  --full                 3 interleaved repetitions, medians with ranges (default: 1 pass)
  --reps N               repetitions (overrides --full)
  --servers a,b          among ${SERVERS.map((s) => s.key).join(', ')} (default: all)
  --scenarios a,b        idle, storm, fanout (default: all three)
  --idle 10000,19000     idle connection counts to measure at (max 19000)
  --storm N              connections opened in the storm (default 19000)
  --concurrency N        handshakes in flight per loadgen process (default 32)
  --fanout NxS[,NxS]     fan-out cases, N connections (2..19000) × S subscriptions each (1..100),
                         instead of the profile's
  --out FILE             results JSON (default benchmark/results/latest.json)
  --no-build             do not run cargo build --release -p loadgen -p floor
  --timeout-min M        abort the whole run after M minutes (default 20, 40 per repetition with --reps/--full)
fan-out cases: quick ${FANOUT.quick.map((c) => `${c.conns}×${c.subs}`).join(', ')}; --full ${FANOUT.full.map((c) => `${c.conns}×${c.subs}`).join(', ')} (connections × subscriptions), bursts R = 1 and 20, 200-byte bodies.
binaries: $CARGO_TARGET_DIR/release (default target/release).`;

function parseArgs(argv) {
  const o = { reps: 1, servers: SERVERS.map((s) => s.key), scenarios: ['idle', 'storm', 'fanout'], idle: [10000, 19000],
    storm: 19000, concurrency: 32, fanout: null, out: path.join(__dirname, 'results', 'latest.json'), build: true, timeoutMin: null };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const val = () => {
      if (i + 1 >= argv.length) throw new Error(`${a} needs a value`);
      return argv[++i];
    };
    if (a === '--help' || a === '-h') o.help = true;
    else if (a === '--full') o.reps = Math.max(o.reps, 3);
    else if (a === '--reps') o.reps = Number(val());
    else if (a === '--servers') o.servers = val().split(',');
    else if (a === '--scenarios') o.scenarios = val().split(',');
    else if (a === '--idle') o.idle = val().split(',').map(Number);
    else if (a === '--storm') o.storm = Number(val());
    else if (a === '--concurrency') o.concurrency = Number(val());
    else if (a === '--fanout') {
      o.fanout = val().split(',').map((c) => {
        const m = /^(\d+)x(\d+)$/.exec(c);
        if (!m || !(+m[1] >= 2 && +m[1] <= 19000 && +m[2] >= 1 && +m[2] <= 100)) throw new Error(`--fanout: NxS with N 2..19000, S 1..100, got ${c}`);
        return { conns: +m[1], subs: +m[2], bursts: [1, 20], body: 200 };
      });
    }
    else if (a === '--out') o.out = path.resolve(val());
    else if (a === '--no-build') o.build = false;
    else if (a === '--timeout-min') o.timeoutMin = Number(val());
    else throw new Error(`unknown option ${a}`);
  }
  const unknown = o.servers.filter((k) => !SERVERS.some((s) => s.key === k));
  if (unknown.length) throw new Error(`unknown server(s): ${unknown.join(', ')}`);
  if (o.scenarios.some((s) => !['idle', 'storm', 'fanout'].includes(s))) throw new Error('--scenarios: idle, storm, fanout');
  if (!(o.reps >= 1 && o.reps <= 10)) throw new Error('--reps must be 1..10');
  if (o.idle.some((n, i) => !(n >= 2 && n <= 19000) || (i > 0 && n <= o.idle[i - 1]))) {
    throw new Error('--idle: ascending counts, each 2..19000');
  }
  if (!(o.storm >= 2 && o.storm <= 19000)) throw new Error('--storm must be 2..19000');
  if (!(o.concurrency >= 1 && o.concurrency <= 2000)) throw new Error('--concurrency must be 1..2000');
  o.timeoutMin ??= o.reps > 1 ? 40 * o.reps : 20;
  return o;
}

const t0 = Date.now();
const log = (msg) => process.stderr.write(`[${((Date.now() - t0) / 1000).toFixed(1).padStart(6)}s] ${msg}\n`);

function buildLoadgen() {
  log('building the load generator and the floor: cargo build --release -p loadgen -p floor');
  const r = spawnSync('cargo', ['build', '--release', '-p', 'loadgen', '-p', 'floor'], { cwd: ROOT, stdio: ['ignore', 2, 2], timeout: 600000 });
  if (r.error) throw new Error(`cargo build --release -p loadgen -p floor: ${r.error.message}`);
  if (r.status !== 0) throw new Error(`cargo build --release -p loadgen -p floor failed (status ${r.status})`);
}

function nativeBuilt() {
  const dir = path.join(ROOT, 'native');
  return fs.existsSync(dir) && fs.readdirSync(dir).some((f) => f.endsWith('.node'));
}

async function main() {
  const opts = parseArgs(process.argv.slice(2));
  if (opts.help) {
    process.stdout.write(`${HELP}\n`);
    return;
  }
  const watchdog = setTimeout(() => {
    log(`aborting: the run took longer than ${opts.timeoutMin} minutes`);
    process.exit(3);
  }, opts.timeoutMin * 60000);
  watchdog.unref();
  if (opts.build) buildLoadgen();
  const loadgen = path.join(TARGET, 'release', 'loadgen');
  if (!fs.existsSync(loadgen)) throw new Error(`${loadgen} is missing (build it or drop --no-build)`);
  const servers = SERVERS.filter((s) => opts.servers.includes(s.key));
  // Without the addon the subwire rows are still run: they fail to start and say why.
  const native = nativeBuilt();
  if (!native && servers.some((s) => s.native)) log('warning: subwire\'s native addon is not built (native/*.node): its rows will fail; run npm run build');
  const busy = await busyShare(1000);
  const hogs = busyProcesses();
  if (busy > 0.1) {
    log(`warning: the box is already ${(busy * 100).toFixed(0)}% busy before the run ` +
      `(${hogs.map((h) => `${h.comm} pid ${h.pid} nice ${h.nice}`).join(', ') || 'unknown'}); numbers will be noisy`);
  }
  const ctx = { root: ROOT, target: TARGET, loadgen, log, idleSteps: opts.idle, stormConns: opts.storm, concurrency: opts.concurrency, warmup: 200 };
  const runs = [];
  for (let rep = 0; rep < opts.reps; rep++) {
    // Interleave: each repetition visits every server, starting one further along.
    const order = servers.map((_, i) => servers[(i + rep) % servers.length]);
    for (const spec of order) {
      for (const scenario of opts.scenarios.filter((sc) => spec.scenarios.includes(sc))) {
        const cases = scenario === 'fanout' ? opts.fanout || FANOUT[opts.reps > 1 ? 'full' : 'quick'] : [null];
        for (const c of cases) {
          log(`rep ${rep + 1}/${opts.reps}: ${spec.key} ${scenario}${c ? ` ${c.conns}×${c.subs}` : ''}`);
          const run = { rep, server: spec.key, scenario, case: c };
          try {
            run.result = scenario === 'idle' ? await idle(ctx, spec) : scenario === 'storm' ? await storm(ctx, spec) : await fanout(ctx, spec, c);
          } catch (e) {
            run.error = String(e && e.message ? e.message : e);
            log(`${spec.key} ${scenario} failed: ${run.error}`);
          }
          if (run.result?.failure) log(`${spec.key} ${scenario} failed: ${run.result.failure}`);
          runs.push(run);
        }
      }
    }
  }

  /** @type {Record<string, Record<string, any>>} */
  const summary = {};
  const lastStep = (r, n) => r.result?.steps?.find((s) => s.target === n);
  for (const s of servers) {
    const mine = runs.filter((r) => r.server === s.key && r.result);
    const idles = mine.filter((r) => r.scenario === 'idle');
    const storms = mine.filter((r) => r.scenario === 'storm');
    const top = opts.idle[opts.idle.length - 1];
    summary[s.key] = {
      ...Object.fromEntries(opts.idle.map((n) => [`rss@${n}`, summarize(idles.map((r) => lastStep(r, n)?.perConn.rssKiB))])),
      kernel: summarize(idles.map((r) => lastStep(r, top)?.perConn.kernelSockKiB)),
      rate: summarize(storms.map((r) => r.result.rate)),
      anonTop: summarize(idles.map((r) => lastStep(r, top)?.perConn.anonKiB)),
      pssTop: summarize(idles.map((r) => lastStep(r, top)?.perConn.pssKiB)),
      heapTop: summarize(idles.map((r) => lastStep(r, top)?.perConn.heapKiB)),
      slabTop: summarize(idles.map((r) => lastStep(r, top)?.perConn.kernelSlabKiB)),
      p99: summarize(storms.map((r) => r.result.handshakeP99Ms)),
      serverCpu: summarize(storms.map((r) => (100 * r.result.serverCpuS) / (r.result.ms / 1000))),
      failed: idles.reduce((a, r) => a + r.result.steps.reduce((x, st) => x + st.failed, 0), 0) +
        storms.reduce((a, r) => a + r.result.failed, 0),
    };
  }
  const idleServers = servers.filter((s) => s.scenarios.includes('idle'));
  const fanServers = servers.filter((s) => s.scenarios.includes('fanout'));
  const top = count(opts.idle[opts.idle.length - 1]);
  const detail = table(
    ['server', `smaps Anonymous KiB/conn @${top}`, `smaps Pss KiB/conn @${top}`, `V8 heapUsed KiB/conn @${top}`,
      `slab KiB/conn @${top} (both ends)`, 'storm handshake p99 ms', 'storm server CPU %', 'failed conns'],
    idleServers.map((s) => {
      const m = summary[s.key];
      const f = (x, d) => (x ? num(x.median, d) : '—');
      return [s.label, f(m.anonTop, 2), f(m.pssTop, 2), f(m.heapTop, 2), f(m.slabTop, 2), f(m.p99, 1), f(m.serverCpu, 0), String(m.failed)];
    }),
  );
  const errors = runs.filter((r) => r.error || r.result?.failure);
  const command = `node ${path.relative(ROOT, __filename)} ${process.argv.slice(2).join(' ')}`.trim();
  const out = [
    `subwire benchmark (${opts.reps} rep${opts.reps > 1 ? 's, median (min–max)' : ''})`,
    `command: ${command}`,
    '',
  ];
  if (idleServers.length && opts.scenarios.some((sc) => sc !== 'fanout')) {
    out.push(
      'idle connections + connect storm:',
      mainTable(idleServers, summary, opts.idle),
      '',
      'details (medians):',
      detail,
      '',
      'RSS: server VmRSS growth over a warmed-up baseline, divided by connections held (userland + V8).',
      'kernel sock: /proc/net/sockstat TCP mem pages growth × page size / connections (system-wide: both ends are on this box).',
      `upgrades/s: ${opts.storm} connections from 2 loadgen processes, ${opts.concurrency} handshakes in flight each.`,
      '',
    );
  }
  if (fanServers.length && opts.scenarios.includes('fanout')) out.push(fanoutTable(fanServers, runs));
  if (busy > 0.1) out.push(`WARNING: the box was ${(busy * 100).toFixed(0)}% busy before the run (other processes); see machine.busyProcesses in the JSON.`);
  if (!native && servers.some((s) => s.native)) out.push('note: subwire\'s native addon was not built (native/*.node missing).');
  // (fan-out failures are listed under their table)
  for (const e of errors.filter((r) => r.scenario !== 'fanout')) out.push(`ERROR ${e.server} ${e.scenario} rep ${e.rep + 1}: ${e.error}`);
  process.stdout.write(`${out.join('\n')}\n`);

  const results = { command, date: new Date().toISOString(), durationS: (Date.now() - t0) / 1000,
    machine: { ...machineFacts(ROOT), busyBeforeRun: busy, busyProcesses: hogs }, options: opts, nativeBuilt: native, summary, runs };
  fs.mkdirSync(path.dirname(opts.out), { recursive: true });
  fs.writeFileSync(`${opts.out}.tmp`, `${JSON.stringify(results, null, 1)}\n`);
  fs.renameSync(`${opts.out}.tmp`, opts.out);
  log(`wrote ${path.relative(process.cwd(), opts.out)} in ${((Date.now() - t0) / 1000).toFixed(0)} s`);
  if (errors.length) process.exitCode = 1;
}

main().catch((e) => {
  // Option errors are the user's: the message and the usage are enough.
  const usage = /^(unknown option|--|unknown server)/.test(String(e && e.message));
  log(`error: ${usage ? e.message : e && e.stack ? e.stack : e}`);
  if (usage) process.stderr.write(`${HELP}\n`);
  process.exit(2);
});
