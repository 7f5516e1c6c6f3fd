'use strict';
/**
 * The fan-out scenario (issue #5/#6): N connections × S subscriptions on one topic, then
 * bursts of R publishes with B-byte bodies, against a fresh server process.
 *
 * Per burst: **publish → last delivery** (the largest `last_ms` the loadgens recorded for
 * the burst's seqs: the latency of the last subscriber to get each event, relative to that
 * event's `sentAt`), **latency p50/p99/max** over every delivery of the burst (the loadgens'
 * histograms, before/after difference), and **server CPU seconds per 1M delivered
 * messages** (user+sys from /proc/<pid>/stat around the burst, until every delivery
 * landed). At the end the loadgens are told the last seq and report loss, duplicates and
 * reorders; a server that loses messages or times out is reported as failed.
 * @module benchmark/lib/fanout
 */

const { startServer, split, sources } = require('./scenarios');
const { Child } = require('./proc');
const { cpuSeconds } = require('./metrics');

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Merged `[us, count]` buckets of several reports. @param {any[]} reps */
function buckets(reps) {
  /** @type {Map<number, number>} */
  const m = new Map();
  for (const r of reps) for (const [us, n] of r.delivery.latency.buckets || []) m.set(us, (m.get(us) || 0) + n);
  return m;
}

/** p50/p99/max in ms of the deliveries between two bucket snapshots. */
function percentiles(before, after) {
  const diff = [...after].map(([us, n]) => [us, n - (before.get(us) || 0)]).filter(([, n]) => n > 0).sort((a, b) => a[0] - b[0]);
  const total = diff.reduce((a, [, n]) => a + n, 0);
  const q = (p) => {
    let seen = 0;
    for (const [us, n] of diff) {
      seen += n;
      if (seen >= p * total) return us / 1000;
    }
    return null;
  };
  return { count: total, p50: q(0.5), p99: q(0.99), max: diff.length ? diff[diff.length - 1][0] / 1000 : null };
}

/**
 * @param {any} ctx the runner's context @param {any} spec the server
 * @param {{ conns: number, subs: number, bursts: number[], body: number }} c
 */
async function fanout(ctx, spec, c) {
  const { server, port } = await startServer(ctx, spec);
  /** @type {Child[]} */
  let lgs = [];
  const label = `${spec.key} fanout ${c.conns}×${c.subs}`;
  try {
    lgs = split(c.conns).map((n, k) =>
      new Child(`loadgen#${k}`, ctx.loadgen, ['--src', sources(k), '--url', `ws://127.0.0.1:${port}/`, '--mode', 'fanout',
        '--protocol', 'graphql-transport-ws', '--connections', String(n), '--subs-per-conn', String(c.subs), '--topic', 't',
        '--concurrency', String(ctx.concurrency), '--timeout-secs', '900', '--handshake-timeout-ms', '20000']));
    const readies = await Promise.all(lgs.map((p) => p.waitFor('ready', 180000)));
    const connected = readies.reduce((a, r) => a + r.connected, 0);
    const perEvent = connected * c.subs;
    const deadline = Date.now() + 60000;
    for (;;) {
      const s = await server.request('stats', 'stats', 10000);
      if (s.subscriptions >= perEvent) break;
      if (Date.now() > deadline) throw new Error(`only ${s.subscriptions}/${perEvent} subscriptions live after 60 s`);
      await sleep(100);
    }
    const reports = () => Promise.all(lgs.map((p) => p.request('report', 'report', 30000)));
    const delivered = (reps) => reps.reduce((a, r) => a + r.delivery.delivered, 0);
    let seq = 0;
    /** Publishes `r` events and waits until all of them reached every subscriber (or 60 s). */
    const burst = async (r) => {
      const before = await reports();
      const want = delivered(before) + r * perEvent;
      const first = seq + 1;
      const cpu0 = cpuSeconds(server.pid);
      for (let i = 0; i < r; i++) server.send(`publish t ${++seq} ${c.body}`);
      const until = Date.now() + 60000;
      let after = before;
      while (delivered(after) < want && Date.now() < until) {
        await sleep(20);
        after = await reports();
      }
      const cpu = cpuSeconds(server.pid) - cpu0;
      const got = delivered(after) - delivered(before);
      const rows = after.flatMap((rep) => rep.delivery.per_seq).filter(([s]) => s >= first && s <= seq);
      return {
        publishes: r,
        expected: r * perEvent,
        delivered: got,
        lastMs: rows.length ? Math.max(...rows.map((row) => row[3])) : null,
        latency: percentiles(buckets(before), buckets(after)),
        cpuS: cpu,
        cpuPerM: got > 0 ? (cpu / got) * 1e6 : null,
      };
    };
    await burst(1); // warm-up: JIT, pools, queues
    await sleep(300);
    const results = [];
    for (const r of c.bursts) {
      const res = await burst(r);
      results.push(res);
      ctx.log(`${label} R=${r}: ${res.delivered}/${res.expected} delivered, last ${res.lastMs?.toFixed(1)} ms, ` +
        `p50 ${res.latency.p50} p99 ${res.latency.p99} ms, ${res.cpuPerM?.toFixed(1)} CPU s/1M`);
      await sleep(300);
    }
    for (const p of lgs) p.send(`expect ${seq}`);
    const final = await reports();
    const loss = {
      missing: final.reduce((a, r) => a + (r.delivery.missing || 0), 0),
      dupes: final.reduce((a, r) => a + r.delivery.dupes, 0),
      reorders: final.reduce((a, r) => a + r.delivery.reorders, 0),
      gaps: final.reduce((a, r) => a + r.delivery.gaps, 0),
      exact: final.every((r) => r.delivery.exactly_once_in_order),
    };
    const short = results.find((r) => r.delivered < r.expected);
    if (!loss.exact || short) {
      throw new Error(`lost or disordered messages: ${JSON.stringify(loss)}${short ? `; R=${short.publishes} got ${short.delivered}/${short.expected}` : ''}`);
    }
    return { server: spec.key, conns: c.conns, subs: c.subs, connected, failed: readies.reduce((a, r) => a + r.failed, 0), bursts: results, loss };
  } finally {
    await Promise.all(lgs.map((p) => p.end(2000)));
    await server.end();
  }
}

module.exports = { fanout, percentiles };
