'use strict';
/**
 * The fan-out scenario (issue #6): N connections × S subscriptions on one topic, then bursts
 * of R publishes with B-byte bodies, against a fresh server process. The chat scenario runs
 * it too, with the server's subscription document (`spec.query`) and its database's batch
 * calls per event (`dbCallsPerEvent`, from the server's `dbCalls`).
 *
 * Set-up: the loadgens (≤ 9,500 clients each) connect, init and subscribe; the runner waits
 * until the server counts every subscription, then publishes warm-up events until one of
 * them reached every subscription (so every subscription is live and JIT and pools are
 * warm). Each burst size is measured `--samples` times (default 5, within SAMPLE_BUDGET_S
 * seconds; see `merge` for how they combine). Per burst: **publish → last delivery** (from the burst's first `sentAt` to the
 * last delivery of any of its events), per-message latency **p50/p99/max** (the loadgens'
 * histograms, after − before; max exact, from the per-seq last deliveries), **server CPU
 * seconds per 1M delivered messages** (user+sys from /proc/<pid>/stat from just before the
 * first publish until every delivery landed), and **delivered/expected**. At the end the
 * loadgens are told the last seq and report loss, duplicates and reorders. Set-up failures
 * throw; a burst that loses messages, stalls or times out, or a server that crashes, is
 * returned with `failure` set, its figures kept.
 * @module benchmark/lib/fanout
 */

const { startServer, split, sources } = require('./scenarios');
const { Child } = require('./proc');
const { cpuSeconds, schedCpuSeconds } = require('./metrics');
const { SAMPLE_BUDGET_S } = require('./options');

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const sum = (xs) => xs.reduce((a, b) => a + b, 0);

/** No new delivery for this long while some are expected: the rest is lost. */
const STALL_MS = 15000;
/** Warm-up events published at most, until one reaches every subscription. */
const WARMUPS = 5;

/** Merged `[us, count]` buckets of several reports. @param {any[]} reps */
function buckets(reps) {
  /** @type {Map<number, number>} */
  const m = new Map();
  for (const r of reps) for (const [us, n] of r.delivery.latency.buckets || []) m.set(us, (m.get(us) || 0) + n);
  return m;
}

/** p50/p99 in ms of the deliveries between two bucket snapshots (bucket lower bounds). */
function percentiles(before, after) {
  const diff = [...after].map(([us, n]) => [us, n - (before.get(us) || 0)]).filter(([, n]) => n > 0).sort((a, b) => a[0] - b[0]);
  const total = sum(diff.map(([, n]) => n));
  const q = (p) => {
    let seen = 0;
    for (const [us, n] of diff) {
      seen += n;
      if (seen >= p * total) return us / 1000;
    }
    return null;
  };
  return { count: total, p50: q(0.5), p99: q(0.99) };
}

/**
 * Per-seq rows `[seq, count, first_ms, last_ms, sent_at]` of several reports merged across
 * processes, for seqs in [from, to]. @param {any[]} reps
 */
function perSeq(reps, from, to) {
  /** @type {Map<number, { count: number, lastMs: number, sentAt: number }>} */
  const m = new Map();
  for (const r of reps) {
    for (const [seq, n, , last, sent] of r.delivery.per_seq) {
      if (seq < from || seq > to) continue;
      const e = m.get(seq) || { count: 0, lastMs: -Infinity, sentAt: Infinity };
      e.count += n;
      e.lastMs = Math.max(e.lastMs, last);
      if (typeof sent === 'number') e.sentAt = Math.min(e.sentAt, sent);
      m.set(seq, e);
    }
  }
  return m;
}

/** The median of the finite numbers in `xs` (null if none). @param {number[]} xs */
function median(xs) {
  const v = xs.filter(Number.isFinite).sort((a, b) => a - b);
  if (!v.length) return null;
  const m = v.length >> 1;
  return v.length % 2 ? v[m] : (v[m - 1] + v[m]) / 2;
}

/**
 * Bursts of one size merged into one row: publish → last delivery and max latency are the
 * medians over the bursts; p50/p99 are over every message of them (`lat`); CPU per 1M is
 * all their CPU over all their deliveries; counts add up; the first failure is kept.
 * Each burst's own figures stay in `samples`.
 * @param {any[]} runs @param {{ count: number, p50: number|null, p99: number|null }} lat
 */
function merge(runs, lat) {
  const total = (k) => sum(runs.map((b) => b[k] || 0));
  const got = total('delivered');
  return {
    publishes: runs[0].publishes,
    expected: total('expected'),
    delivered: got,
    lastMs: median(runs.map((b) => b.lastMs)),
    latency: { ...lat, max: median(runs.map((b) => b.latency.max)) },
    cpuS: total('cpuS'),
    cpuPerM: got > 0 ? (total('cpuS') / got) * 1e6 : null,
    schedCpuS: total('schedCpuS'),
    schedCpuPerM: got > 0 ? (total('schedCpuS') / got) * 1e6 : null,
    loadgenCpuS: total('loadgenCpuS'),
    wallMs: total('wallMs'),
    fewestPerEvent: Math.min(...runs.map((b) => b.fewestPerEvent)),
    failure: runs.find((b) => b.failure)?.failure ?? null,
    samples: runs.map((b) => ({ lastMs: b.lastMs, p50: b.latency.p50, p99: b.latency.p99, max: b.latency.max,
      cpuS: b.cpuS, schedCpuS: b.schedCpuS, delivered: b.delivered })),
  };
}

/** Why a burst or check cannot go on: the server or a loadgen exited. @param {Child} server @param {Child[]} lgs */
function gone(server, lgs) {
  const dead = [server, ...lgs].find((p) => p.exitInfo);
  if (!dead) return null;
  const { code, signal } = dead.exitInfo;
  return `${dead.name} exited (code ${code}, signal ${signal}); stderr: ${dead.stderr.trim().slice(-600) || '(empty)'}`;
}

/**
 * @param {any} ctx the runner's context @param {any} spec the server
 * @param {{ conns: number, subs: number, bursts: number[], body: number }} c
 */
async function fanout(ctx, spec, c) {
  const { server, port } = await startServer(ctx, spec);
  const protocol = spec.protocol || 'graphql-transport-ws';
  /** @type {Child[]} */
  let lgs = [];
  const label = `${spec.key} fanout ${c.conns}×${c.subs}`;
  try {
    const sizes = split(c.conns);
    lgs = sizes.map((n, k) =>
      new Child(`loadgen#${k}`, ctx.loadgen, ['--src', sources(k), '--url', `ws://127.0.0.1:${port}/`, '--mode', 'fanout',
        '--protocol', protocol, '--connections', String(n), '--subs-per-conn', String(c.subs), '--topic', 't',
        // first-seq 0: a warm-up event published before a subscription went live is not a gap
        '--first-seq', '0', '--concurrency', String(ctx.concurrency), '--timeout-secs', '3600', '--handshake-timeout-ms', '20000',
        ...(spec.query ? ['--query', spec.query] : []),
        // users given out in turn over every loadgen's clients, in their connection_init
        ...(spec.users ? ['--users', String(spec.users), '--conn-offset', String(sum(sizes.slice(0, k)))] : [])]));
    const readies = await Promise.all(lgs.map((p) => p.waitFor('ready', 300000)));
    const connected = sum(readies.map((r) => r.connected));
    if (connected < c.conns) {
      const samples = [...new Set(readies.flatMap((r) => r.failures.samples))].slice(0, 3).join('; ');
      throw new Error(`only ${connected}/${c.conns} connections upgraded and acknowledged (${samples})`);
    }
    const perEvent = connected * c.subs;
    const reports = async () => {
      const reps = await Promise.all(lgs.map((p) => p.request('report', 'report', 30000)));
      const lost = sum(reps.map((r) => sum(Object.values(r.failures.after_ready))));
      if (!lost) return reps;
      // A crash shows first as closed connections: give the exit a moment to be seen.
      await Promise.race([server.exited, sleep(1000)]);
      const samples = [...new Set(reps.flatMap((r) => r.failures.samples))].slice(0, 3).join('; ');
      throw new Error(`${lost} subscribed connection(s) lost (${samples})${gone(server, []) ? `: ${gone(server, [])}` : ''}`);
    };
    const delivered = (reps) => sum(reps.map((r) => r.delivery.delivered));

    // Every subscription counted by the server (each server here reports `subscriptions`).
    const deadline = Date.now() + 60000;
    for (let s = await server.request('stats', 'stats', 10000); typeof s.subscriptions === 'number' && s.subscriptions < perEvent;) {
      if (Date.now() > deadline) throw new Error(`only ${s.subscriptions}/${perEvent} subscriptions live after 60 s`);
      await sleep(100);
      s = await server.request('stats', 'stats', 10000);
    }

    let seq = 0;
    /**
     * Publishes `r` events and waits until `r × perEvent` more deliveries arrived, no
     * delivery came for `stallMs`, or the burst's time bound passed.
     */
    const burst = async (r, stallMs = STALL_MS) => {
      const before = await reports();
      const want = delivered(before) + r * perEvent;
      const first = seq + 1;
      const mark = server.messages.length;
      const lgCpu0 = sum(lgs.map((p) => cpuSeconds(p.pid) || 0));
      const cpu0 = cpuSeconds(server.pid);
      const sched0 = schedCpuSeconds(server.pid);
      const t0 = Date.now();
      for (let i = 0; i < r; i++) server.send(`publish t ${++seq} ${c.body}`);
      const until = t0 + Math.min(600000, 30000 + r * perEvent * 0.25);
      let after = before;
      let progress = { n: delivered(before), at: Date.now() };
      let why = null;
      while (delivered(after) < want) {
        why = gone(server, lgs);
        if (why) break;
        if (Date.now() > until) why = `timed out after ${((Date.now() - t0) / 1000).toFixed(0)} s`;
        else if (Date.now() - progress.at > stallMs) why = `no delivery for ${stallMs / 1000} s`;
        if (why) break;
        await sleep(25);
        after = await reports();
        if (delivered(after) > progress.n) progress = { n: delivered(after), at: Date.now() };
      }
      const cpu = cpuSeconds(server.pid) - cpu0;
      const sched = schedCpuSeconds(server.pid) - sched0;
      const errors = server.messages.slice(mark).filter((m) => m.event === 'error').map((m) => m.message);
      const got = delivered(after) - delivered(before);
      const seqs = [...perSeq(after, first, seq).values()];
      const sentAt = Math.min(...seqs.map((e) => e.sentAt));
      const lat = percentiles(buckets(before), buckets(after));
      const maxMs = seqs.length ? Math.max(...seqs.map((e) => e.lastMs)) : null;
      return {
        publishes: r,
        expected: r * perEvent,
        delivered: got,
        // publish → last delivery: the burst's first sentAt to its last delivery
        lastMs: seqs.length && Number.isFinite(sentAt) ? Math.max(...seqs.map((e) => e.sentAt + e.lastMs)) - sentAt : maxMs,
        latency: { ...lat, max: maxMs },
        cpuS: cpu,
        cpuPerM: got > 0 ? (cpu / got) * 1e6 : null,
        // the same at ns resolution (per-thread schedstat), for small bursts
        schedCpuS: sched,
        schedCpuPerM: got > 0 ? (sched / got) * 1e6 : null,
        loadgenCpuS: sum(lgs.map((p) => cpuSeconds(p.pid) || 0)) - lgCpu0,
        wallMs: Date.now() - t0,
        fewestPerEvent: seqs.length === r ? Math.min(...seqs.map((e) => e.count)) : 0,
        failure: why || (errors.length ? `server error: ${errors[0]}` : got < r * perEvent ? `lost ${r * perEvent - got}` : null),
      };
    };

    // Warm-up: until one event reached every subscription, then until deliveries settle.
    let warm = null;
    for (let i = 0; i < WARMUPS; i++) {
      warm = await burst(1, 3000);
      if (warm.fewestPerEvent === perEvent || gone(server, lgs)) break;
    }
    if (!warm || warm.fewestPerEvent !== perEvent) {
      throw new Error(`warm-up: after ${seq} event(s) the last reached ${warm?.fewestPerEvent}/${perEvent} subscriptions` +
        `${warm?.failure ? ` (${warm.failure})` : ''}`);
    }
    const warmups = seq;
    for (let n = -1, i = 0; i < 40; i++) {
      await sleep(250);
      const d = delivered(await reports());
      if (d === n) break;
      n = d;
    }

    /**
     * One burst size measured `ctx.samples` times (at least once; no new one starts after
     * SAMPLE_BUDGET_S), merged: a single publish to 95k subscribers is ~0.25 s of CPU, and
     * one reading of it varies by ±25% on this 2-core machine.
     */
    const measure = async (r) => {
      const before = await reports();
      const t0 = Date.now();
      const samples = [];
      do {
        if (samples.length) await sleep(300);
        samples.push(await burst(r));
      } while (!samples.at(-1).failure && samples.length < (ctx.samples || 1) && Date.now() - t0 < SAMPLE_BUDGET_S * 1000);
      const all = gone(server, lgs) ? null : await reports().catch(() => null);
      return merge(samples, all ? percentiles(buckets(before), buckets(all)) : samples[0].latency);
    };

    const results = [];
    for (const r of c.bursts) {
      const res = await measure(r);
      results.push(res);
      ctx.log(`${label} R=${r}: ${res.delivered}/${res.expected} delivered, last ${res.lastMs?.toFixed(1)} ms, ` +
        `p50 ${res.latency.p50} p99 ${res.latency.p99} max ${res.latency.max?.toFixed(1)} ms, ` +
        `${res.cpuPerM?.toFixed(1)} CPU s/1M${res.failure ? `, FAILED: ${res.failure}` : ''}`);
      if (res.failure && gone(server, lgs)) break;
      await sleep(300);
    }
    let loss = null;
    let failure = results.find((r) => r.failure)?.failure ?? null;
    if (!gone(server, lgs)) {
      for (const p of lgs) p.send(`expect ${seq}`);
      const final = await Promise.all(lgs.map((p) => p.request('report', 'report', 30000)));
      const total = (k) => sum(final.map((r) => r.delivery[k] || 0));
      loss = { missing: total('missing'), dupes: total('dupes'), reorders: total('reorders'), gaps: total('gaps'),
        unknownIds: total('unknown_ids'), exact: final.every((r) => r.delivery.exactly_once_in_order) };
      if (!loss.exact) failure ??= `not exactly once in order: ${JSON.stringify(loss)}`;
    } else failure ??= gone(server, lgs);
    const stats = server.exitInfo ? null : await server.request('stats', 'stats', 10000).catch(() => null);
    // the chat servers count their database's batch calls: per published event, over the run
    const dbCallsPerEvent = typeof stats?.dbCalls === 'number' && seq > 0 ? stats.dbCalls / seq : null;
    return { server: spec.key, protocol, conns: c.conns, subs: c.subs, connected, perEvent, warmups, bursts: results, loss, failure, serverStats: stats, dbCallsPerEvent };
  } finally {
    await Promise.all(lgs.map((p) => p.end(2000)));
    await server.end();
  }
}

module.exports = { fanout, percentiles, perSeq, buckets, gone, median, merge };
