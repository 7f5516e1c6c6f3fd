'use strict';
/**
 * The many-topics scenario (`topics`), against a fresh server process: N connections, each
 * with one subscription to `tick(topic: "t<i mod K>")` (so every topic has ⌊N/K⌋ or ⌈N/K⌉
 * subscribers), and a fixed publish rate over random topics.
 *
 * 1. All subscribed: every client acknowledged, the server's `stats` counts N
 *    subscriptions, and a warm-up round (one event to each of the K topics, up to 3
 *    rounds) reached every subscription, then deliveries settle.
 * 2. The run: `rate <count> <perSec> t <K> <firstSeq> <body> <seed>` on the server's stdin:
 *    the server paces the publishes itself (server-harness.js; the floor the same in Rust),
 *    each to a topic drawn from a seeded xorshift32, the same sequence for every server, each
 *    topic's seq counting on from the warm-up. It answers with the publishes per topic, so
 *    expected deliveries = Σ publishes(topic) × subscribers(topic).
 * 3. Until every expected delivery landed (or 15 s without one, or 30 s + 0.25 ms per
 *    expected delivery): delivered/expected; delivered msgs/s = deliveries ÷ (last
 *    delivery − first publish); latency p50/p99 (loadgen histograms, after − before) and
 *    max; server CPU seconds (user+sys) from the `rate` command to the last delivery per
 *    1M delivered; how late the publisher fell behind its schedule at worst.
 * 4. Verdict: a closing round (one more event per topic) must reach every subscription, and
 *    no subscription may have seen a gap, a duplicate or a reorder: so each got every event
 *    of its topic exactly once, in order.
 * @module benchmark/lib/topics
 */

const { startServer } = require('./scenarios');
const { cpuSeconds } = require('./metrics');
const { percentiles, buckets, gone } = require('./fanout');
const { spawnClients, readyAll, reportAll, delivered, waitSubscriptions, awaitDeliveries, settle, verdict, stopAll, split, sum } =
  require('./gql-clients');

/** The publish sequence's seed: the same topics, in the same order, for every server. */
const SEED = 20261123;

/**
 * One event to each of the K topics in one stdin write: seq `seq`, or `seq[t]` for topic t.
 * @param {import('./proc').Child} server @param {number} k @param {number | number[]} seq @param {number} body
 */
function round(server, k, seq, body) {
  const lines = Array.from({ length: k }, (_, t) => `publish t${t} ${typeof seq === 'number' ? seq : seq[t]} ${body}`);
  server.send(lines.join('\n'));
}

/**
 * @param {any} ctx the runner's context @param {any} spec the server
 * @param {{ conns: number, topics: number, rate: number, secs: number, body: number }} c
 */
async function topics(ctx, spec, c) {
  const { server, port } = await startServer(ctx, spec);
  /** @type {import('./proc').Child[]} */
  let lgs = [];
  const label = `${spec.key} topics ${c.conns}/${c.topics}`;
  try {
    lgs = spawnClients(ctx, port, spec, split(c.conns), { topics: c.topics, timeoutSecs: 1800 });
    const r = await readyAll(lgs);
    if (r.connected !== c.conns) throw new Error(`only ${r.connected}/${c.conns} connections upgraded and acknowledged (${r.samples.join('; ')})`);
    await waitSubscriptions(server, c.conns, { timeoutMs: 120000 });
    const subsOf = (t) => Math.floor(c.conns / c.topics) + (t < c.conns % c.topics ? 1 : 0);

    // Warm-up rounds until one reached every subscription.
    let rounds = 0;
    let warm = null;
    while (rounds < 3) {
      const before = delivered(await reportAll(server, lgs));
      round(server, c.topics, ++rounds, c.body);
      warm = await awaitDeliveries(server, lgs, before + c.conns, { stallMs: 3000, untilMs: Date.now() + 30000 });
      if (!warm.why || gone(server, lgs)) break;
    }
    if (warm?.why) throw new Error(`warm-up: after ${rounds} round(s) to all ${c.topics} topics: ${warm.why}`);
    await settle(server, lgs);

    // The run.
    const count = Math.round(c.rate * c.secs);
    const before = await reportAll(server, lgs);
    const mark = server.messages.length;
    const cpu0 = cpuSeconds(server.pid);
    const lgCpu0 = sum(lgs.map((p) => cpuSeconds(p.pid) || 0));
    const t0 = Date.now();
    server.send(`rate ${count} ${c.rate} t ${c.topics} ${rounds + 1} ${c.body} ${SEED}`);
    const done = await server.waitFor((m) => m.event === 'rate-done' || m.event === 'error', c.secs * 1000 + 300000, mark);
    if (done.event === 'error') throw new Error(`rate: ${done.message}`);
    const expected = done.perTopic.reduce((a, n, t) => a + n * subsOf(t), 0);
    const want = delivered(before) + expected;
    const got = await awaitDeliveries(server, lgs, want, { untilMs: t0 + Math.min(600000, 30000 + c.secs * 1000 + expected * 0.25) });
    const cpu = cpuSeconds(server.pid) - cpu0;
    const after = got.reps;
    const n = delivered(after) - delivered(before);
    const lastRx = Math.max(...after.map((x) => x.delivery.last_rx_ms || 0));
    const lat = percentiles(buckets(before), buckets(after)); // (buckets: merged across processes)
    // max: the loadgens' exact max when the run raised it, else the run's highest bucket
    const maxBefore = Math.max(...before.map((x) => x.delivery.latency.max_ms));
    const maxAfter = Math.max(...after.map((x) => x.delivery.latency.max_ms));
    const [b0, b1] = [buckets(before), buckets(after)];
    const topBucket = Math.max(0, ...[...b1].filter(([us, k]) => k > (b0.get(us) || 0)).map(([us]) => us / 1000));
    const errors = server.messages.slice(mark).filter((m) => m.event === 'error').map((m) => m.message);
    const result = {
      server: spec.key, conns: c.conns, topics: c.topics, rate: c.rate, secs: c.secs, body: c.body, warmupRounds: rounds,
      published: done.published, publishMs: done.ms, publisherLateMs: done.lateMs,
      expected, delivered: n,
      offeredPerSec: (c.rate * c.conns) / c.topics,
      deliveredPerSec: n > 0 ? n / ((lastRx - done.t0) / 1000) : 0,
      latency: { ...lat, max: maxAfter > maxBefore ? maxAfter : topBucket },
      cpuS: cpu, cpuPerM: n > 0 ? (cpu / n) * 1e6 : null,
      loadgenCpuS: sum(lgs.map((p) => cpuSeconds(p.pid) || 0)) - lgCpu0,
      loss: null,
      failure: got.why || (errors.length ? `server error: ${errors[0]}` : null),
    };
    if (!result.failure) {
      // Closing round: each topic's next seq, which every subscription must receive.
      const last = done.perTopic.map((k, t) => rounds + 1 + k);
      const pre = delivered(await reportAll(server, lgs));
      round(server, c.topics, last, c.body);
      const closing = await awaitDeliveries(server, lgs, pre + c.conns, { untilMs: Date.now() + 60000 });
      if (closing.why) result.failure = `closing round: ${closing.why}`;
    }
    // gaps, duplicates and reorders, also after a failed run (then missing events show as gaps)
    const v = await verdict(server, lgs, null);
    result.loss = v.loss;
    result.failure ??= v.failure;
    ctx.log(`${label} @${c.rate}/s: ${n}/${expected} delivered, ${Math.round(result.deliveredPerSec)} msgs/s, ` +
      `p50 ${lat.p50} p99 ${lat.p99} max ${result.latency.max?.toFixed(1)} ms, ${result.cpuPerM?.toFixed(1)} CPU s/1M, ` +
      `publisher late ≤ ${done.lateMs.toFixed(0)} ms${result.failure ? `, FAILED: ${result.failure}` : ''}`);
    await stopAll(lgs);
    return result;
  } finally {
    await Promise.all(lgs.map((p) => p.end(2000)));
    await server.end();
  }
}

module.exports = { topics, SEED };
