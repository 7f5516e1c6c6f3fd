'use strict';
/**
 * The cluster scenario (issue 16, `--scenarios cluster`): P server processes of one row on
 * one redis-server, TOTAL connections split evenly over them (1 subscription each, one
 * topic), bursts of R publishes from process 0 only, which reach its own subscribers and,
 * through Redis, every other process's. Called by run.js once per row × case
 * `{ total, procs }`, with a fresh redis-server and fresh servers each time.
 *
 * Set-up: redis-server (lib/redis.js) on a free port; P servers (`--broker URL --prefix
 * bench:`) on free ports; each server's RSS settled (the baseline); the loadgens (≤ 9,500
 * clients each, at least two in all, each aimed at one server) connect, init and subscribe;
 * every server counts its share; Redis counts P subscribers of `bench:t`; warm-up publishes
 * until one reached every subscription in every process; RSS settled again. Then, per burst
 * size R, `--samples` bursts (as lib/fanout.js measures them; within SAMPLE_BUDGET_S), each:
 * - publish → last delivery across all processes (and per process, in the JSON), p50/p99;
 * - CPU seconds of all server processes per 1M delivered, and redis-server's apart (/proc
 *   ticks and, at ns resolution, per-thread schedstat; the table shows the latter), Redis's
 *   less its idle rate (its timers, measured over the ≥ 6 s RSS settle before the bursts);
 * - the longest event-loop stall in any server process during the burst (the harness's
 *   `loop` command, read before the first publish and after the last delivery).
 * At the end every loadgen is told the last seq: each subscription got every event exactly
 * once, in order, or the run is FAILED. Set-up failures throw; a burst that loses, stalls or
 * times out, or a process that exits, returns with `failure` set.
 * @module benchmark/lib/cluster
 */

const { startServer, split, snapshot, sleep } = require('./scenarios');
const { spawnClients, readyAll, waitSubscriptions, verdict, sum } = require('./gql-clients');
const { percentiles, perSeq, buckets, gone, merge, median } = require('./fanout');
const { cpuSeconds, schedCpuSeconds, processMemory } = require('./metrics');
const { startRedis } = require('./redis');
const { SAMPLE_BUDGET_S } = require('./options');

/** The broker prefix every process gets, and the one topic: Redis channel `bench:t`. */
const PREFIX = 'bench:';
const TOPIC = 't';
/** Clients one loadgen process holds at most (its open-file limit is 20,000). */
const PER_PROCESS = 9500;
/** No new delivery for this long while some are expected: the rest is lost. */
const STALL_MS = 15000;
/** Warm-up events published at most, until one reaches every subscription. */
const WARMUPS = 5;

/** `total` split evenly over `procs` servers. */
const shares = (total, procs) => Array.from({ length: procs }, (_, i) => Math.floor(total / procs) + (i < total % procs ? 1 : 0));

/**
 * Loadgen processes per server, as client counts: ≤ PER_PROCESS each, and at least two in
 * all (so one server gets two, as in the fan-out scenario).
 * @param {number[]} perServer
 */
function clientSplit(perServer) {
  if (perServer.length === 1) return [split(perServer[0])];
  return perServer.map((n) => {
    const k = Math.ceil(n / PER_PROCESS);
    return Array.from({ length: k }, (_, i) => Math.floor(n / k) + (i < n % k ? 1 : 0));
  });
}

/** CPU seconds of several processes: /proc ticks and schedstat ns. @param {number[]} pids */
const cpuOf = (pids) => ({ ticks: sum(pids.map((p) => cpuSeconds(p) || 0)), sched: sum(pids.map((p) => schedCpuSeconds(p) || 0)) });

/**
 * @param {any} ctx the runner's context @param {any} spec the row
 * @param {{ total: number, procs: number, bursts: number[], body: number }} c
 */
async function cluster(ctx, spec, c) {
  const label = `${spec.key} cluster ${c.total}x${c.procs}`;
  const redis = await startRedis();
  /** @type {import('./proc').Child[]} */
  const servers = [];
  /** @type {import('./proc').Child[]} */
  let lgs = [];
  try {
    const args = [...spec.args, '--broker', redis.url, '--prefix', PREFIX];
    const started = await Promise.allSettled(shares(c.total, c.procs).map((_, i) => startServer(ctx, { ...spec, key: `${spec.key}#${i}`, args })));
    for (const s of started) if (s.status === 'fulfilled') servers.push(s.value.server);
    const failed = started.find((s) => s.status === 'rejected');
    if (failed) throw /** @type {PromiseRejectedResult} */ (failed).reason;
    const ports = started.map((s) => /** @type {any} */ (s).value.port);
    const pids = servers.map((s) => s.pid);
    /** Why the run cannot go on: a server, redis-server or a loadgen exited. */
    const dead = () => gone(servers[0], [...servers.slice(1), redis.child, ...lgs]);

    const base = await Promise.all(servers.map((s) => snapshot(s)));
    const redisBaseKiB = processMemory(redis.pid).VmRSS;

    // Clients: each server's share from its own loadgens; lgOf[i]: indexes into lgs of server i's.
    const perServer = shares(c.total, c.procs);
    /** @type {number[][]} */
    const lgOf = [];
    clientSplit(perServer).forEach((counts, i) => {
      const mine = spawnClients(ctx, ports[i], spec, counts, { first: lgs.length, timeoutSecs: 3600 });
      lgOf.push(mine.map((_, k) => lgs.length + k));
      lgs.push(...mine);
    });
    const ready = await readyAll(lgs, 600000);
    if (ready.connected < c.total) throw new Error(`only ${ready.connected}/${c.total} connections upgraded and acknowledged (${ready.samples.join('; ')})`);
    const perEvent = ready.connected;
    await Promise.all(servers.map((s, i) => waitSubscriptions(s, perServer[i], { timeoutMs: 120000, stop: dead })));
    for (const end = Date.now() + 30000; redis.numsub(PREFIX + TOPIC) !== c.procs;) {
      if (Date.now() > end) throw new Error(`Redis counts ${redis.numsub(PREFIX + TOPIC)}/${c.procs} subscribers of ${PREFIX}${TOPIC} after 30 s`);
      await sleep(100);
    }

    /** Every loadgen's report (in lgs order); throws when subscribed clients were lost. */
    const reports = async () => {
      const reps = await Promise.all(lgs.map((p) => p.request('report', 'report', 30000)));
      const lost = sum(reps.map((r) => sum(Object.values(r.failures.after_ready))));
      if (!lost) return reps;
      await sleep(1000); // a crash shows first as closed connections: let the exit be seen
      const samples = [...new Set(reps.flatMap((r) => r.failures.samples))].slice(0, 3).join('; ');
      throw new Error(`${lost} subscribed connection(s) lost (${samples})${dead() ? `: ${dead()}` : ''}`);
    };
    const delivered = (reps) => sum(reps.map((r) => r.delivery.delivered));
    /** The longest event-loop stall of each server since its last `loop` (null: no answer). */
    const stalls = () => Promise.all(servers.map((s) => s.request('loop', 'loop', 30000).then((m) => m.stallMs, () => null)));

    let seq = 0;
    /** redis-server's CPU seconds per second while nothing is published (its timers): taken out of a burst's. */
    let redisIdlePerS = 0;
    /**
     * Publishes `r` events from process 0 and waits until `r × perEvent` more deliveries
     * arrived, no delivery came for `stallMs`, or the burst's time bound passed.
     */
    const burst = async (r, stallMs = STALL_MS) => {
      const before = await reports();
      const want = delivered(before) + r * perEvent;
      const first = seq + 1;
      const marks = servers.map((s) => s.messages.length);
      await stalls(); // a new stall window in every server
      const lgCpu0 = sum(lgs.map((p) => cpuSeconds(p.pid) || 0));
      const cpu0 = cpuOf(pids);
      const redis0 = cpuOf([redis.pid]);
      const tr0 = performance.now();
      const t0 = Date.now();
      for (let i = 0; i < r; i++) servers[0].send(`publish ${TOPIC} ${++seq} ${c.body}`);
      const until = t0 + Math.min(600000, 30000 + r * perEvent * 0.25);
      let after = before;
      let progress = { n: delivered(before), at: Date.now() };
      let why = null;
      while (delivered(after) < want) {
        why = dead();
        if (why) break;
        if (Date.now() > until) why = `timed out after ${((Date.now() - t0) / 1000).toFixed(0)} s`;
        else if (Date.now() - progress.at > stallMs) why = `no delivery for ${stallMs / 1000} s`;
        if (why) break;
        await sleep(25);
        after = await reports();
        if (delivered(after) > progress.n) progress = { n: delivered(after), at: Date.now() };
      }
      const cpu1 = cpuOf(pids);
      const redis1 = cpuOf([redis.pid]);
      const tr1 = performance.now();
      const stallByProcess = why ? servers.map(() => null) : await stalls();
      const errors = servers.flatMap((s, i) => s.messages.slice(marks[i]).filter((m) => m.event === 'error').map((m) => `${s.name}: ${m.message}`));
      const got = delivered(after) - delivered(before);
      const seqs = [...perSeq(after, first, seq).values()];
      const sentAt = Math.min(...seqs.map((e) => e.sentAt));
      /** Publish → last delivery of these reports' clients. @param {any[]} reps */
      const lastOf = (reps) => {
        const mine = [...perSeq(reps, first, seq).values()];
        return mine.length && Number.isFinite(sentAt) ? Math.max(...mine.map((e) => e.sentAt + e.lastMs)) - sentAt : null;
      };
      const perM = (s) => (got > 0 ? (s / got) * 1e6 : null);
      const stallsSeen = stallByProcess.filter((x) => x != null);
      return {
        publishes: r,
        expected: r * perEvent,
        delivered: got,
        lastMs: lastOf(after),
        perProcessLastMs: lgOf.map((idx) => lastOf(idx.map((k) => after[k]))),
        latency: { ...percentiles(buckets(before), buckets(after)), max: seqs.length ? Math.max(...seqs.map((e) => e.lastMs)) : null },
        cpuS: cpu1.ticks - cpu0.ticks,
        cpuPerM: perM(cpu1.ticks - cpu0.ticks),
        schedCpuS: cpu1.sched - cpu0.sched,
        schedCpuPerM: perM(cpu1.sched - cpu0.sched),
        redisCpuS: redis1.ticks - redis0.ticks,
        redisSchedCpuS: redis1.sched - redis0.sched,
        redisNetCpuS: Math.max(0, redis1.sched - redis0.sched - (redisIdlePerS * (tr1 - tr0)) / 1000),
        loadgenCpuS: sum(lgs.map((p) => cpuSeconds(p.pid) || 0)) - lgCpu0,
        stallMs: stallsSeen.length === servers.length ? Math.max(...stallsSeen) : null,
        stallByProcess,
        wallMs: Date.now() - t0,
        fewestPerEvent: seqs.length === r ? Math.min(...seqs.map((e) => e.count)) : 0,
        failure: why || (errors.length ? `server error: ${errors[0]}` : got < r * perEvent ? `lost ${r * perEvent - got}` : null),
      };
    };

    // Warm-up: until one event reached every subscription in every process, then until deliveries settle.
    let warm = null;
    for (let i = 0; i < WARMUPS; i++) {
      warm = await burst(1, 3000);
      if (warm.fewestPerEvent === perEvent || dead()) break;
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
    const idle0 = { cpu: cpuOf([redis.pid]).sched, at: performance.now() };
    const held = await Promise.all(servers.map((s) => snapshot(s))); // ≥ 6 s in which nothing is published
    redisIdlePerS = (cpuOf([redis.pid]).sched - idle0.cpu) / ((performance.now() - idle0.at) / 1000);
    const rssKiB = (snaps) => sum(snaps.map((s) => s.mem.VmRSS));
    const rss = {
      perConnKiB: (rssKiB(held) - rssKiB(base)) / perEvent,
      heapPerConnKiB: sum(held.map((s, i) => s.heapUsed - base[i].heapUsed)) / 1024 / perEvent,
      baseMiB: rssKiB(base) / 1024,
      perProcess: held.map((s, i) => ({ conns: perServer[i], baseKiB: base[i].mem.VmRSS, heldKiB: s.mem.VmRSS })),
      redisKiB: { base: redisBaseKiB, held: processMemory(redis.pid).VmRSS },
    };
    ctx.log(`${label}: ${perEvent} subscribed over ${c.procs} process(es), RSS ${rss.perConnKiB.toFixed(2)} KiB/conn (all processes), ` +
      `${warmups} warm-up event(s)`);

    /** One burst size, `ctx.samples` times (at least once; none started after SAMPLE_BUDGET_S), merged. */
    const measure = async (r) => {
      const before = await reports();
      const t0 = Date.now();
      const runs = [];
      do {
        if (runs.length) await sleep(300);
        runs.push(await burst(r));
      } while (!runs.at(-1).failure && runs.length < (ctx.samples || 1) && Date.now() - t0 < SAMPLE_BUDGET_S * 1000);
      const all = dead() ? null : await reports().catch(() => null);
      const m = merge(runs, all ? percentiles(buckets(before), buckets(all)) : runs[0].latency);
      const got = m.delivered;
      const stallsAll = runs.map((b) => b.stallMs);
      return {
        ...m,
        redisCpuS: sum(runs.map((b) => b.redisCpuS)),
        redisCpuPerM: got > 0 ? (sum(runs.map((b) => b.redisCpuS)) / got) * 1e6 : null,
        redisSchedCpuPerM: got > 0 ? (sum(runs.map((b) => b.redisSchedCpuS)) / got) * 1e6 : null,
        // the same without what redis-server spends idle over the bursts' time (its timers: about
        // as much as the pub/sub work of a small burst)
        redisNetCpuPerM: got > 0 ? (sum(runs.map((b) => b.redisNetCpuS)) / got) * 1e6 : null,
        // Redis's cost per message it sends out: each publish goes to every subscribed process
        redisUsPerWrite: (sum(runs.map((b) => b.redisNetCpuS)) / (runs.length * r * servers.length)) * 1e6,
        // the worst over the samples: the target is "no stall over 50 ms during a burst"
        stallMs: stallsAll.every((x) => x != null) ? Math.max(...stallsAll) : null,
        perProcessLastMs: lgOf.map((_, i) => median(runs.map((b) => b.perProcessLastMs[i]))),
        samples: m.samples.map((s, i) => ({ ...s, redisCpuS: runs[i].redisCpuS, stallMs: runs[i].stallMs,
          stallByProcess: runs[i].stallByProcess, perProcessLastMs: runs[i].perProcessLastMs })),
      };
    };

    const results = [];
    for (const r of c.bursts) {
      const res = await measure(r);
      results.push(res);
      ctx.log(`${label} R=${r}: ${res.delivered}/${res.expected} delivered, last ${res.lastMs?.toFixed(1)} ms, ` +
        `p50 ${res.latency.p50} p99 ${res.latency.p99} ms, stall ${res.stallMs?.toFixed(1)} ms, CPU s/1M ${res.schedCpuPerM?.toFixed(1)} ` +
        `+ redis ${res.redisNetCpuPerM?.toFixed(2)} (${res.redisUsPerWrite.toFixed(1)} µs per publish per process)${res.failure ? `, FAILED: ${res.failure}` : ''}`);
      if (res.failure && dead()) break;
      await sleep(300);
    }
    let failure = results.find((r) => r.failure)?.failure ?? dead();
    let loss = null;
    if (!dead()) {
      const v = await verdict(servers[0], lgs, seq);
      loss = v.loss;
      failure ??= v.failure;
    }
    const serverStats = await Promise.all(servers.map((s) => (s.exitInfo ? null : s.request('stats', 'stats', 10000).catch(() => null))));
    return { server: spec.key, total: c.total, procs: c.procs, perServer, loadgens: lgOf.map((x) => x.length), connected: perEvent,
      perEvent, warmups, rss, redisIdleCpuPerS: redisIdlePerS, bursts: results, loss, failure, serverStats };
  } finally {
    await Promise.all(lgs.map((p) => p.end(2000)));
    await Promise.all(servers.map((s) => s.end()));
    await redis.stop();
  }
}

module.exports = { cluster, shares, clientSplit, PREFIX };
