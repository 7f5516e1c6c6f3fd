'use strict';
/**
 * The cost of a metrics scrape with 19k open connections, and scrapes during a burst to all
 * of them (issue 18): `node benchmark/metrics-scrape.js [--conns 19000] [--events 20]
 * [--body 200]` (needs `cargo build --release -p loadgen`; ~1 minute on 2 cores).
 *
 * The subwire server runs in this process (useServer on its own port, the fan-out
 * benchmark's projected `tick` schema, keep-alive off); the clients are loadgen processes
 * (≤ 9,500 each, over 127.0.0.x), since 19k sockets on both ends exceed one process's 20,000
 * file descriptors. Steps: every client subscribed; 200 scrapes of the idle server
 * (`server.metrics()`: time, and JS heap allocated by one scrape); then `--events` events
 * published at once while `server.metrics()` is read back to back until every delivery
 * landed; the loadgens then report loss, duplicates and reorders, and the last scrape must
 * count exactly what they received (events delivered, one fan-out sample per event). Prints
 * one JSON line and a summary; exits 1 if anything was lost, reordered or miscounted.
 * @module benchmark/metrics-scrape
 */

const path = require('node:path');
const v8 = require('node:v8');
const vm = require('node:vm');
const { Child } = require('./lib/proc');
const { split, sources } = require('./lib/scenarios');
const { tickSchema } = require('./lib/tick-schema');
const { useServer, PubSub } = require('..');

v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc');

const arg = (name, dflt) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : dflt;
};
const CONNS = arg('conns', 19000);
const EVENTS = arg('events', 20);
const BODY = arg('body', 200);
const LOADGEN = path.join(__dirname, '..', 'target', 'release', 'loadgen');

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const sum = (xs) => xs.reduce((a, b) => a + b, 0);
/** @param {number[]} xs @param {number} q */
const quantile = (xs, q) => {
  const v = [...xs].sort((a, b) => a - b);
  return v[Math.min(v.length - 1, Math.floor(q * v.length))];
};
/** One scrape, timed in ms. @param {{ metrics(): string }} server */
const timed = (server) => {
  const t0 = process.hrtime.bigint();
  const text = server.metrics();
  return { ms: Number(process.hrtime.bigint() - t0) / 1e6, text };
};
/** A sample's value in Prometheus text (first line that starts with `line `). @param {string} text @param {string} line */
const read = (text, line) => Number(new RegExp(`^${line.replace(/[{}"]/g, '\\$&')} (\\S+)$`, 'm').exec(text)?.[1]);

/** p-quantile of a histogram in the text (linear within the bucket, as histogram_quantile). */
function histogramQuantile(text, name, q) {
  const buckets = [...text.matchAll(new RegExp(`^${name}_bucket\\{le="([^"]+)"\\} (\\S+)$`, 'gm'))].map((m) => [Number(m[1]), Number(m[2])]);
  const total = buckets[buckets.length - 1][1];
  const rank = q * total;
  let prevLe = 0;
  let prevN = 0;
  for (const [le, n] of buckets) {
    if (n >= rank) return Number.isFinite(le) ? prevLe + ((le - prevLe) * (rank - prevN)) / Math.max(1, n - prevN) : prevLe;
    prevLe = le;
    prevN = n;
  }
  return prevLe;
}

async function main() {
  const pubsub = new PubSub();
  const schema = tickSchema((_root, { topic }) => pubsub.asyncIterableIterator(topic), undefined);
  const server = useServer({ schema, maxConnections: CONNS + 500 }, { port: 0, host: '127.0.0.1', path: '/' }, 0);
  const port = server.address().port;
  const lgs = split(CONNS).map((n, k) =>
    new Child(`loadgen#${k}`, LOADGEN, ['--src', sources(k), '--url', `ws://127.0.0.1:${port}/`, '--mode', 'fanout',
      '--protocol', 'graphql-transport-ws', '--connections', String(n), '--topic', 't', '--first-seq', '1',
      '--concurrency', '64', '--timeout-secs', '600', '--handshake-timeout-ms', '30000']));
  try {
    const readies = await Promise.all(lgs.map((p) => p.waitFor('ready', 300000)));
    const connected = sum(readies.map((r) => r.connected));
    if (connected < CONNS) throw new Error(`only ${connected}/${CONNS} connected`);
    for (let i = 0; server.stats().subscriptions < CONNS; i++) {
      if (i > 600) throw new Error(`only ${server.stats().subscriptions}/${CONNS} subscribed`);
      await sleep(100);
    }

    // Idle: the scrape's cost with CONNS open connections.
    for (let i = 0; i < 50; i++) server.metrics();
    const idle = [];
    for (let i = 0; i < 200; i++) idle.push(timed(server).ms);
    const heap = [];
    for (let i = 0; i < 30; i++) {
      gc();
      const h0 = process.memoryUsage().heapUsed;
      server.metrics();
      heap.push(process.memoryUsage().heapUsed - h0);
    }
    const idleText = server.metrics();

    // The burst, scraped back to back until every delivery landed.
    const body = 'x'.repeat(BODY);
    const want = EVENTS * CONNS;
    const during = [];
    const t0 = Date.now();
    for (let seq = 1; seq <= EVENTS; seq++) server.publish('t', { tick: { seq, sentAt: Date.now(), body } });
    let delivered = 0;
    let poll = Promise.resolve();
    let polling = false;
    while (delivered < want) {
      if (Date.now() - t0 > 120000) throw new Error(`burst: ${delivered}/${want} after 120 s`);
      during.push(timed(server).ms);
      if (!polling) {
        polling = true;
        poll = Promise.all(lgs.map((p) => p.request('report', 'report', 30000))).then((reps) => {
          delivered = sum(reps.map((r) => r.delivery.delivered));
          polling = false;
        });
      }
      await new Promise((r) => setImmediate(r));
    }
    await poll;
    const burstMs = Date.now() - t0;
    for (const p of lgs) p.send(`expect ${EVENTS}`); // (answered by the next report)
    const reps = await Promise.all(lgs.map((p) => p.request('report', 'report', 30000)));
    const exact = reps.every((r) => r.delivery.exactly_once_in_order);
    const after = server.metrics();
    const counted = read(after, 'subwire_events_delivered_total');
    const samples = read(after, 'subwire_fanout_duration_seconds_count');
    const result = {
      connections: CONNS,
      events: EVENTS,
      idleScrapeMs: { p50: quantile(idle, 0.5), p99: quantile(idle, 0.99), max: Math.max(...idle) },
      heapBytesPerScrape: quantile(heap, 0.5),
      textBytes: idleText.length,
      openFds: read(idleText, 'subwire_process_open_fds'),
      burst: {
        ms: burstMs,
        scrapes: during.length,
        scrapeMs: { p50: quantile(during, 0.5), p99: quantile(during, 0.99), max: Math.max(...during) },
        delivered: sum(reps.map((r) => r.delivery.delivered)),
        gaps: sum(reps.map((r) => r.delivery.gaps)),
        dupes: sum(reps.map((r) => r.delivery.dupes)),
        reorders: sum(reps.map((r) => r.delivery.reorders)),
        missing: sum(reps.map((r) => r.delivery.missing ?? 0)),
        exactlyOnceInOrder: exact,
      },
      metrics: {
        eventsDelivered: counted,
        fanoutSamples: samples,
        fanoutP50Ms: histogramQuantile(after, 'subwire_fanout_duration_seconds', 0.5) * 1000,
        fanoutP99Ms: histogramQuantile(after, 'subwire_fanout_duration_seconds', 0.99) * 1000,
      },
    };
    console.log(JSON.stringify(result));
    console.log(`${CONNS} connections: a scrape takes ${result.idleScrapeMs.p50.toFixed(2)} ms (p99 ${result.idleScrapeMs.p99.toFixed(2)}), ` +
      `allocates ~${Math.round(result.heapBytesPerScrape / 1024)} KiB of JS heap, ${result.textBytes} bytes of text.`);
    console.log(`burst of ${EVENTS} to all: ${during.length} scrapes during ${burstMs} ms, ` +
      `p50 ${result.burst.scrapeMs.p50.toFixed(2)} ms, max ${result.burst.scrapeMs.max.toFixed(2)} ms; ` +
      `${result.burst.delivered}/${want} delivered, exactly once in order: ${exact}; ` +
      `the scrape counted ${counted} delivered and ${samples} fan-out samples (p50 ${result.metrics.fanoutP50Ms.toFixed(0)} ms, p99 ${result.metrics.fanoutP99Ms.toFixed(0)} ms).`);
    const ok = exact && result.burst.delivered === want && counted === want && samples === EVENTS;
    process.exitCode = ok ? 0 : 1;
  } finally {
    await Promise.all(lgs.map((p) => p.end(3000)));
    await server.dispose();
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
