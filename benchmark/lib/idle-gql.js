'use strict';
/**
 * The idle-subscribed scenario (`idle-gql`), against a fresh GraphQL server process: what
 * a connection that is upgraded, acknowledged and holds one live `tick(topic: "t")`
 * subscription costs the server while nothing is published.
 *
 * Warm-up (200 clients subscribe, get one event, close), then a baseline snapshot; then for
 * each step (10k, 19k) the missing clients are opened from new loadgen processes (≤ 9,500
 * each), the server's `stats` must count every subscription, and one 200-byte event is
 * published that must reach every subscription (so each is live, not merely counted).
 * Then the runner lets the server settle (gc(), then RSS steady for a few seconds, so V8's
 * memory reducer has given back the young generation the storm grew), gc()s it again and
 * reads /proc (scenarios.js `snapshot`): RSS, smaps, V8 heapUsed, kernel TCP socket memory
 * and slab, each divided by the connections held over the baseline. The top step gives a projection to 1M
 * connections (`projection` below). At the end every subscription must have had every
 * event exactly once, in order.
 * @module benchmark/lib/idle-gql
 */

const { startServer, snapshot, perConn } = require('./scenarios');
const { spawnClients, readyAll, reportAll, waitSubscriptions, awaitDeliveries, gqlWarmup, verdict, stopAll, split } =
  require('./gql-clients');

/** Connections one server process holds here (open-file limit 20,000 per process). */
const PER_SERVER_PROCESS = 19000;
/** The projection's target. */
const PROJECT_TO = 1e6;

/**
 * 1M connections from per-connection figures: processes = ⌈1M / 19k⌉ (each holds 19k here);
 * userland RAM = processes × the baseline RSS (a process's fixed cost) + 1M × RSS KiB/conn;
 * V8 heap = 1M × heapUsed KiB/conn (part of the userland figure); kernel socket buffers =
 * 1M × sock KiB/conn; kernel objects = 1M × slab KiB/conn ÷ 2 (the slab figure counts both
 * ends of a loopback connection; a server holds one). All in GiB.
 * @param {{ mem: { VmRSS: number } }} base @param {ReturnType<typeof perConn>} pc
 */
function projection(base, pc) {
  const GiB = 1024 * 1024; // KiB per GiB
  const procs = Math.ceil(PROJECT_TO / PER_SERVER_PROCESS);
  const userland = pc.rssKiB != null ? (procs * base.mem.VmRSS + PROJECT_TO * pc.rssKiB) / GiB : null;
  return {
    connections: PROJECT_TO,
    perProcess: PER_SERVER_PROCESS,
    processes: procs,
    baseRssMiB: base.mem.VmRSS / 1024,
    userlandGiB: userland,
    perConnPartGiB: pc.rssKiB != null ? (PROJECT_TO * pc.rssKiB) / GiB : null,
    heapGiB: pc.heapKiB != null ? (PROJECT_TO * pc.heapKiB) / GiB : null,
    kernelSockGiB: pc.kernelSockKiB != null ? (PROJECT_TO * pc.kernelSockKiB) / GiB : null,
    kernelObjectsGiB: pc.kernelSlabKiB != null ? (PROJECT_TO * pc.kernelSlabKiB) / 2 / GiB : null,
  };
}

/**
 * @param {any} ctx the runner's context @param {any} spec the server
 * @param {number[]} steps ascending connection counts (≤ 19,000)
 */
async function idleGql(ctx, spec, steps) {
  const { server, port } = await startServer(ctx, spec);
  /** @type {import('./proc').Child[]} */
  const lgs = [];
  let seq = 1; // the warm-up published seq 1
  try {
    await gqlWarmup(ctx, server, port, spec);
    const base = await snapshot(server);
    const result = { server: spec.key, base, steps: [], failure: null, loss: null, projection: null };
    let held = 0;
    for (const target of steps) {
      const started = Date.now();
      const adding = target - held;
      const procs = spawnClients(ctx, port, spec, split(adding), { first: lgs.length, offset: held });
      lgs.push(...procs);
      const r = await readyAll(procs);
      if (r.failed || r.connected !== adding) {
        result.failure = `${target} connections: ${adding - r.connected} of ${adding} failed to upgrade or be acknowledged (${r.samples.join('; ')})`;
        break;
      }
      held = target;
      const stats = await waitSubscriptions(server, target, { timeoutMs: 120000 });
      // One event to everyone: each subscription is live (its resolver ran, it is wired up).
      const before = await reportAll(server, lgs);
      server.send(`publish t ${++seq} 200`);
      const want = before.reduce((a, x) => a + x.delivery.delivered, 0) + target;
      const got = await awaitDeliveries(server, lgs, want, { untilMs: Date.now() + 60000 + target * 2 });
      if (got.why) {
        result.failure = `${target} connections: the live-check event did not reach every subscription: ${got.why}`;
        break;
      }
      const openMs = Date.now() - started;
      const snap = await snapshot(server);
      const step = { target, connected: target, serverSubscriptions: stats.subscriptions, openMs,
        liveSeq: seq, snapshot: snap, perConn: perConn(base, snap, target) };
      result.steps.push(step);
      ctx.log(`${spec.key} idle-gql ${target}: all subscribed and live; RSS +${((snap.mem.VmRSS - base.mem.VmRSS) / 1024).toFixed(1)} MiB = ` +
        `${step.perConn.rssKiB.toFixed(2)} KiB/conn, heap ${step.perConn.heapKiB.toFixed(2)} KiB/conn, ` +
        `kernel sock ${step.perConn.kernelSockKiB.toFixed(2)} KiB/conn (opened and checked in ${step.openMs} ms, settled in ${snap.settle.ms} ms)`);
    }
    const top = result.steps[result.steps.length - 1];
    if (top) result.projection = projection(base, top.perConn);
    if (!result.failure) {
      const v = await verdict(server, lgs, seq);
      result.loss = v.loss;
      result.failure = v.failure;
    }
    const dones = await stopAll(lgs);
    result.lostAfterReady = dones.reduce((a, d) => a + Object.values(d.failures?.after_ready || {}).reduce((x, y) => x + y, 0), 0);
    return result;
  } finally {
    await Promise.all(lgs.map((p) => p.end(2000)));
    await server.end();
  }
}

module.exports = { idleGql, projection, PER_SERVER_PROCESS };
