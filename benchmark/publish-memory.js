#!/usr/bin/env node
'use strict';
/**
 * Server memory under sustained publishing (`node benchmark/publish-memory.js`).
 *
 * For each server, in a fresh process: `--readers` graphql-transport-ws clients that read
 * as fast as they can and one stalled subscriber (it subscribes, then never reads again) on
 * one topic; the server then publishes `--events` events of `--bytes` bytes at `--rate` per
 * second (paced by the server's own timers, so the readers keep up). Prints, per server,
 * side by side: RSS before publishing (after gc and settling), the peak while publishing
 * (sampled every 10 ms from /proc), the growth (peak − before), RSS once everything was
 * delivered and the server settled again, and what became of the stalled subscriber.
 *
 * subwire's rows run with `maxBufferedBytes` = `--max-buffered` (1 MiB by default): the
 * stalled subscriber is closed 1008 once its backlog passes it. graphql-ws on ws has no such
 * cap: its stalled socket's `bufferedAmount` grows with every event.
 *
 * Options: --servers a,b (subwire-projected, subwire-shared, subwire-unshared, graphql-ws;
 * default all), --readers 20, --events 5000, --bytes 2048, --rate 1000, --max-buffered
 * 1048576, --reps 1 (medians over reps, servers interleaved), --json FILE.
 * @module benchmark/publish-memory
 */

const path = require('node:path');
const fs = require('node:fs');
const WebSocket = require('ws');
const { Child } = require('./lib/proc');
const { processMemory } = require('./lib/metrics');

const ROOT = path.resolve(__dirname, '..');

const SERVERS = {
  'subwire-projected': { script: 'subwire-graphql.js', args: ['--projected'] },
  'subwire-shared': { script: 'subwire-graphql.js', args: ['--share'] },
  'subwire-unshared': { script: 'subwire-graphql.js', args: [] },
  'graphql-ws': { script: 'graphql-ws.js', args: [] },
};

function parseArgs(argv) {
  const o = { servers: Object.keys(SERVERS), readers: 20, events: 5000, bytes: 2048, rate: 1000, maxBuffered: 1 << 20, reps: 1, json: null };
  for (let i = 0; i < argv.length; i += 2) {
    const [k, v] = [argv[i], argv[i + 1]];
    if (v === undefined) throw new Error(`${k} needs a value`);
    if (k === '--servers') o.servers = v.split(',');
    else if (k === '--json') o.json = v;
    else if (['--readers', '--events', '--bytes', '--rate', '--max-buffered', '--reps'].includes(k)) {
      const n = Number(v);
      if (!Number.isInteger(n) || n < 1) throw new Error(`${k} must be a positive integer`);
      o[k === '--max-buffered' ? 'maxBuffered' : k.slice(2)] = n;
    } else throw new Error(`unknown option ${k}`);
  }
  for (const s of o.servers) if (!SERVERS[s]) throw new Error(`unknown server ${s} (have ${Object.keys(SERVERS).join(', ')})`);
  return o;
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const MiB = (kib) => kib / 1024;

/**
 * A graphql-transport-ws subscriber of `tick(topic: "t0")` that counts `next` messages.
 * @param {number} port @param {boolean} stall stop reading once subscribed
 */
function subscriber(port, stall) {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`ws://127.0.0.1:${port}/`, 'graphql-transport-ws');
    const client = { ws, received: 0, closed: null, lastSeq: 0 };
    ws.on('error', (e) => (client.closed ? null : reject(e)));
    ws.on('close', (code, reason) => (client.closed = { code, reason: String(reason) }));
    ws.on('open', () => ws.send(JSON.stringify({ type: 'connection_init' })));
    ws.on('message', (data) => {
      const text = String(data);
      if (text.startsWith('{"type":"connection_ack"')) {
        ws.send(JSON.stringify({ id: '1', type: 'subscribe', payload: { query: 'subscription { tick(topic: "t0") { seq sentAt body } }' } }));
        if (stall) {
          // Give the subscribe time to leave, then read nothing more, ever.
          setTimeout(() => {
            ws._socket.pause();
            resolve(client);
          }, 50);
        } else resolve(client);
        return;
      }
      if (text.includes('"type":"next"')) client.received++;
    });
  });
}

/** Samples the server's RSS every 10 ms until `stop()`; returns the peak in KiB. */
function peakSampler(pid) {
  let peak = 0;
  let running = true;
  const tick = () => {
    if (!running) return;
    try {
      peak = Math.max(peak, processMemory(pid).VmRSS);
    } catch {
      running = false;
    }
    setTimeout(tick, 10);
  };
  tick();
  return { stop: () => ((running = false), peak) };
}

/** RSS once the server has settled: gc, then sampled each 500 ms until steady for 2 s (at most 15 s). */
async function settledRss(server) {
  await server.request('gc', 'gc', 10000);
  const samples = [];
  for (let i = 0; i < 30; i++) {
    await sleep(500);
    samples.push(processMemory(server.pid).VmRSS);
    const last = samples.slice(-4);
    if (last.length === 4 && Math.max(...last) - Math.min(...last) < 256) break;
  }
  await server.request('gc', 'gc', 10000);
  await sleep(300);
  return processMemory(server.pid).VmRSS;
}

async function runOne(key, o, log) {
  const spec = SERVERS[key];
  const args = [...spec.args, ...(key.startsWith('subwire') ? ['--max-buffered', String(o.maxBuffered)] : [])];
  const server = new Child(key, process.execPath, ['--expose-gc', path.join(ROOT, 'benchmark', 'servers', spec.script), ...args], { cwd: ROOT });
  try {
    const { port } = await server.waitFor('listening', 20000);
    const readers = [];
    for (let i = 0; i < o.readers; i++) readers.push(await subscriber(port, false));
    const stalledClient = await subscriber(port, true);
    const want = o.readers + 1;
    for (let i = 0; i < 100; i++) {
      const s = await server.request('stats', 'stats', 5000);
      const subs = s.subscriptions ?? 0;
      if (subs >= want || (s.triggerSubscriptions ?? 0) >= want) break;
      await sleep(50);
    }
    const before = await settledRss(server);
    const sampler = peakSampler(server.pid);
    const t0 = Date.now();
    server.send(`rate ${o.events} ${o.rate} t 1 1 ${o.bytes} 12345`);
    await server.waitFor('rate-done', o.events * 1000 / o.rate + 60000);
    const deadline = Date.now() + 60000;
    while (readers.some((r) => r.received < o.events && !r.closed) && Date.now() < deadline) await sleep(20);
    const deliveredMs = Date.now() - t0;
    await sleep(200);
    const peak = sampler.stop();
    const after = await settledRss(server);
    const short = readers.filter((r) => r.received < o.events).length;
    const stats = await server.request('stats', 'stats', 5000);
    const result = {
      server: key, beforeKiB: before, peakKiB: peak, growthKiB: peak - before, afterKiB: after,
      deliveredMs, readersShort: short,
      // The stalled client reads nothing, so it never sees its close: ask the server.
      stalled: stats.slowConsumers === undefined ? 'no cap: buffered' : stats.slowConsumers > 0 ? 'closed 1008' : 'open',
      serverQueuedBytes: stats.queuedBytes ?? null, externalMiB: stats.memory ? stats.memory.external / 2 ** 20 : null,
    };
    log(`${key}: before ${MiB(before).toFixed(1)} MiB, peak ${MiB(peak).toFixed(1)}, growth ${MiB(peak - before).toFixed(1)}, ` +
      `after ${MiB(after).toFixed(1)}; ${short} readers short; stalled: ${result.stalled}`);
    for (const r of [...readers, stalledClient]) r.ws.terminate();
    return result;
  } finally {
    await server.end();
  }
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

async function main() {
  const o = parseArgs(process.argv.slice(2));
  const t0 = Date.now();
  const log = (m) => process.stderr.write(`[${((Date.now() - t0) / 1000).toFixed(1).padStart(6)}s] ${m}\n`);
  const runs = [];
  for (let rep = 0; rep < o.reps; rep++) {
    const order = o.servers.map((_, i) => o.servers[(i + rep) % o.servers.length]);
    for (const key of order) {
      log(`rep ${rep + 1}/${o.reps}: ${key}`);
      try {
        runs.push(await runOne(key, o, log));
      } catch (e) {
        log(`${key} failed: ${e.message}`);
        runs.push({ server: key, error: e.message });
      }
    }
  }
  const cmd = `node benchmark/publish-memory.js ${process.argv.slice(2).join(' ')}`.trim();
  const lines = [
    `server RSS under sustained publishing: ${o.readers} readers + 1 stalled subscriber, one topic, ` +
      `${o.events} events × ${o.bytes} B at ${o.rate}/s; subwire maxBufferedBytes ${o.maxBuffered}` +
      (o.reps > 1 ? ` (median of ${o.reps})` : ''),
    `command: ${cmd}`,
    '',
    '| server | RSS before MiB | peak MiB | growth MiB | after MiB | readers short | stalled subscriber |',
    '|---|---:|---:|---:|---:|---:|---|',
  ];
  for (const key of o.servers) {
    const ok = runs.filter((r) => r.server === key && !r.error);
    if (!ok.length) {
      lines.push(`| ${key} | failed: ${runs.find((r) => r.server === key)?.error} |`);
      continue;
    }
    const m = (f) => MiB(median(ok.map(f))).toFixed(1);
    lines.push(`| ${key} | ${m((r) => r.beforeKiB)} | ${m((r) => r.peakKiB)} | ${m((r) => r.growthKiB)} | ${m((r) => r.afterKiB)} | ` +
      `${Math.max(...ok.map((r) => r.readersShort))} | ${ok[0].stalled} |`);
  }
  process.stdout.write(`${lines.join('\n')}\n`);
  if (o.json) fs.writeFileSync(o.json, `${JSON.stringify({ command: cmd, date: new Date().toISOString(), options: o, runs }, null, 1)}\n`);
}

main().catch((e) => {
  process.stderr.write(`${e.stack || e}\n`);
  process.exit(2);
});
