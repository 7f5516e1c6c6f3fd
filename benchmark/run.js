#!/usr/bin/env node
'use strict';
/**
 * Benchmark runner (`npm run bench`): builds the Rust load generator and the raw-socket
 * floor, then runs the scenarios against each server in turn, each against a fresh server
 * process:
 * - echo transport (subwire's bare listener, ws): `idle` (RSS and kernel socket memory per
 *   connection at 10k and 19k) and `storm` (upgrades/s; lib/scenarios.js);
 * - GraphQL (subwire's rows, graphql-ws and subscriptions-transport-ws on ws, the floor):
 *   `fanout` (publish → last delivery, latency, CPU per 1M delivered, loss; lib/fanout.js),
 *   `idle-gql` (memory per idle subscribed connection and a 1M projection;
 *   lib/idle-gql.js), `storm-gql` (upgrade + init + subscribe per second;
 *   lib/storm-gql.js) and `topics` (many topics at a fixed publish rate; lib/topics.js);
 * - `chat`: the fan-out of a schema whose `author` resolves through a DataLoader over a
 *   1 ms database and whose `viewerCanEdit` reads each subscriber's context (lib/chat-schema.js):
 *   subwire with and without `loaders`, graphql-ws, subwire shared without the per-subscriber field;
 * - `cluster` (opt-in): P server processes on one redis-server, publishes from one of them:
 *   publish → last delivery in every process, CPU per 1M of the servers and of Redis,
 *   event-loop stalls, RSS per connection (lib/cluster.js);
 * prints server × figure tables on stdout, progress on stderr, and writes
 * benchmark/results/latest.json and the chart latest.svg (lib/chart.js).
 *
 * Quick profile by default (one pass, smaller cases); `--full` repeats 3× interleaved
 * (server order rotates) and reports medians with ranges. A server that fails (cannot
 * start, loses messages, crashes) stays in the tables with its reason. `--help` for options.
 * @module benchmark/run
 */

const fs = require('node:fs');
const path = require('node:path');
const { spawnSync } = require('node:child_process');
const { idle, storm } = require('./lib/scenarios');
const { fanout } = require('./lib/fanout');
const { idleGql } = require('./lib/idle-gql');
const { stormGql } = require('./lib/storm-gql');
const { topics } = require('./lib/topics');
const { cluster } = require('./lib/cluster');
const { clusterTable } = require('./lib/cluster-report');
const { fanoutTable } = require('./lib/fanout-report');
const { echoReport } = require('./lib/echo-report');
const { idleGqlTable, stormGqlTable, topicsTable } = require('./lib/gql-report');
const { chart } = require('./lib/chart');
const { SERVERS, HELP, parseArgs, selectedServers } = require('./lib/options');
const { machineFacts, busyShare, busyProcesses } = require('./lib/metrics');

const ROOT = path.resolve(__dirname, '..');
/** Where cargo puts the loadgen and the floor (CARGO_TARGET_DIR is honoured). */
const TARGET = path.resolve(ROOT, process.env.CARGO_TARGET_DIR || 'target');

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

/** The cases a scenario runs (one `null` case for those without). */
function casesOf(scenario, opts) {
  if (scenario === 'fanout') return opts.fanout;
  if (scenario === 'chat') return opts.chat;
  if (scenario === 'topics') return opts.topics;
  if (scenario === 'cluster') return opts.cluster;
  return [null];
}

const caseName = (scenario, c) => (!c ? '' : scenario === 'topics' ? ` ${c.conns}/${c.topics}@${c.rate}/s`
  : scenario === 'cluster' ? ` ${c.total} over ${c.procs}` : ` ${c.conns}×${c.subs}`);

/** Runs one scenario (and case) against one server. */
function runOne(ctx, spec, scenario, c, opts) {
  switch (scenario) {
    case 'idle': return idle(ctx, spec);
    case 'storm': return storm(ctx, spec);
    case 'fanout':
    case 'chat': return fanout(ctx, spec, c);
    case 'idle-gql': return idleGql(ctx, spec, opts.idleGql);
    case 'storm-gql': return stormGql(ctx, spec, opts.stormGql);
    case 'topics': return topics(ctx, spec, c);
    case 'cluster': return cluster(ctx, spec, c);
    default: throw new Error(`unknown scenario ${scenario}`);
  }
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
  const servers = selectedServers(opts);
  // Without the addon the subwire rows are still run: they fail to start and say why.
  const native = nativeBuilt();
  if (!native && servers.some((s) => s.native)) log('warning: subwire\'s native addon is not built (native/*.node): its rows will fail; run npm run build');
  const busy = await busyShare(1000);
  const hogs = busyProcesses();
  if (busy > 0.1) {
    log(`warning: the box is already ${(busy * 100).toFixed(0)}% busy before the run ` +
      `(${hogs.map((h) => `${h.comm} pid ${h.pid} nice ${h.nice}`).join(', ') || 'unknown'}); numbers will be noisy`);
  }
  const ctx = { root: ROOT, target: TARGET, loadgen, log, idleSteps: opts.idle, stormConns: opts.storm, concurrency: opts.concurrency, samples: opts.samples, warmup: 200 };
  const runs = [];
  for (let rep = 0; rep < opts.reps; rep++) {
    // Interleave: each repetition visits every server, starting one further along.
    const order = servers.map((_, i) => servers[(i + rep) % servers.length]);
    for (const spec of order) {
      for (const scenario of opts.scenarios.filter((sc) => spec.scenarios.includes(sc))) {
        for (const c of casesOf(scenario, opts)) {
          log(`rep ${rep + 1}/${opts.reps}: ${spec.key} ${scenario}${caseName(scenario, c)}`);
          const run = { rep, server: spec.key, scenario, case: c };
          try {
            run.result = await runOne(ctx, spec, scenario, c, opts);
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

  const command = `node ${path.relative(ROOT, __filename)} ${process.argv.slice(2).join(' ')}`.trim();
  const out = [`subwire benchmark (${opts.reps} rep${opts.reps > 1 ? 's, median (min–max)' : ''})`, `command: ${command}`, ''];
  const ran = (sc) => servers.filter((s) => runs.some((r) => r.server === s.key && r.scenario === sc));
  const baseLabel = SERVERS.find((s) => s.key === opts.baseline).label.replace(/^subwire /, 'subwire');
  const echoServers = servers.filter((s) => s.scenarios.includes('idle'));
  const echo = echoReport(echoServers, runs, opts);
  if (ran('idle').length || ran('storm').length) out.push(echo.text, '');
  if (ran('fanout').length) out.push(fanoutTable(ran('fanout'), runs), '');
  if (ran('chat').length) out.push(fanoutTable(ran('chat'), runs, 'chat'), '');
  /** GraphQL scenario summaries for the JSON: scenario → (case →) server → figure → summary. */
  const summaries = {};
  if (ran('idle-gql').length) {
    const t = idleGqlTable(ran('idle-gql'), runs.filter((r) => r.scenario === 'idle-gql'), opts.idleGql, opts.baseline, baseLabel);
    summaries['idle-gql'] = t.summary;
    out.push(t.text, '');
  }
  if (ran('storm-gql').length) {
    const t = stormGqlTable(ran('storm-gql'), runs.filter((r) => r.scenario === 'storm-gql'), opts.stormGql, opts.baseline, baseLabel);
    summaries['storm-gql'] = t.summary;
    out.push(t.text, '');
  }
  if (ran('topics').length) {
    summaries.topics = {};
    for (const c of opts.topics) {
      const mine = runs.filter((r) => r.scenario === 'topics' && r.case === c);
      const t = topicsTable(ran('topics'), mine, c, opts.baseline, baseLabel);
      summaries.topics[`${c.conns}:${c.topics}:${c.rate}:${c.secs}`] = t.summary;
      out.push(t.text, '');
    }
  }
  if (ran('cluster').length) {
    const t = clusterTable(ran('cluster'), runs);
    summaries.cluster = t.summary;
    out.push(t.text, '');
  }
  if (ran('idle-gql').length + ran('storm-gql').length + ran('topics').length) {
    out.push(`÷${baseLabel}: the row's median over subwire's row with the same schema and options graphql-ws gets (--baseline); ` +
      '÷floor: over the raw-socket floor\'s. Figures are medians over clean runs only.', '');
  }
  if (busy > 0.1) out.push(`WARNING: the box was ${(busy * 100).toFixed(0)}% busy before the run (other processes); see machine.busyProcesses in the JSON.`);
  if (!native && servers.some((s) => s.native)) out.push('note: subwire\'s native addon was not built (native/*.node missing).');
  process.stdout.write(`${out.join('\n')}\n`);

  const machine = { ...machineFacts(ROOT), busyBeforeRun: busy, busyProcesses: hogs };
  const date = new Date().toISOString();
  const results = { command, date, durationS: (Date.now() - t0) / 1000, machine, options: opts, nativeBuilt: native,
    summary: echo.summary, summaries, runs };
  fs.mkdirSync(path.dirname(opts.out), { recursive: true });
  fs.writeFileSync(`${opts.out}.tmp`, `${JSON.stringify(results, null, 1)}\n`);
  fs.renameSync(`${opts.out}.tmp`, opts.out);
  const svgPath = opts.out.replace(/\.json$/, '') + '.svg';
  const svg = chart({ servers, runs, machine, command, date: date.slice(0, 10), idleTop: opts.idleGql[opts.idleGql.length - 1] });
  fs.writeFileSync(svgPath, svg);
  log(`wrote ${path.relative(process.cwd(), opts.out)} and ${path.relative(process.cwd(), svgPath)} in ${((Date.now() - t0) / 1000).toFixed(0)} s`);
  if (runs.some((r) => r.error || r.result?.failure)) process.exitCode = 1;
}

main().catch((e) => {
  // Option errors are the user's: the message and the usage are enough.
  const usage = /^(unknown option|--|unknown server)/.test(String(e && e.message));
  log(`error: ${usage ? e.message : e && e.stack ? e.stack : e}`);
  if (usage) process.stderr.write(`${HELP}\n`);
  process.exit(2);
});
