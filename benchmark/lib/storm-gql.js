'use strict';
/**
 * The GraphQL connect storm (`storm-gql`), against a fresh server process: N clients, as
 * fast as the loadgens' `--concurrency` allows, each doing the upgrade, `connection_init`
 * (waiting for the ack) and one `subscribe` to `tick(topic: "t")`.
 *
 * After a GraphQL warm-up, two or more loadgen processes (≤ 9,500 clients each) start at
 * the same wall-clock instant (`--start-at`). While they run, the runner polls the server's
 * `stats` every 20 ms; the storm ends at the server's own clock (`at`) on the first answer
 * that counts all N subscriptions. The graphql-transport-ws and legacy protocols do not
 * acknowledge a subscribe, so "subscribed" is the server's word for it; then one event is
 * published that must reach every subscription once (so all N are live), and the clients
 * close. Figures:
 * - subscribed/s = N ÷ (all N counted by the server − the first connect of any loadgen);
 * - acked/s = clients acknowledged ÷ (last ack − first connect), the clients' view;
 * - connect → ack p99: per client, from starting the TCP connect to reading
 *   `connection_ack` (its subscribe goes out at that moment); the highest of the
 *   processes' p99s;
 * - server CPU %: the server's user+sys seconds over the storm ÷ its wall time (100 % = one
 *   core).
 * @module benchmark/lib/storm-gql
 */

const { startServer, sleep } = require('./scenarios');
const { cpuSeconds } = require('./metrics');
const { gone } = require('./fanout');
const { spawnClients, readyAll, reportAll, waitSubscriptions, awaitDeliveries, gqlWarmup, verdict, stopAll, split, sum } =
  require('./gql-clients');

/** @param {any} ctx the runner's context @param {any} spec the server @param {number} n clients */
async function stormGql(ctx, spec, n) {
  const { server, port } = await startServer(ctx, spec);
  /** @type {import('./proc').Child[]} */
  let lgs = [];
  try {
    await gqlWarmup(ctx, server, port, spec);
    const startAt = Date.now() + 700;
    lgs = spawnClients(ctx, port, spec, split(n), { startAt, timeoutSecs: 900 });
    const cpu0 = cpuSeconds(server.pid);
    const readyP = readyAll(lgs, 600000);
    let allReady = false;
    readyP.then(() => { allReady = true; }, () => { allReady = true; });
    await sleep(Math.max(0, startAt - Date.now()));
    /** A reason to stop waiting for the server's count: clients failed or a process exited. */
    const stop = () => {
      const why = gone(server, lgs);
      if (why) return why;
      const failed = sum(lgs.map((p) => p.messages.find((m) => m.event === 'ready')?.failed || 0));
      return allReady && failed ? `${failed} client(s) failed` : null;
    };
    let counted = null;
    let failure = null;
    try {
      counted = await waitSubscriptions(server, n, { timeoutMs: 600000, pollMs: 20, stop });
    } catch (e) {
      failure = String(e.message);
    }
    const serverCpu = cpuSeconds(server.pid) - cpu0;
    const r = await readyP;
    const t0 = Math.min(...r.readies.map((x) => x.t0));
    const tAck = Math.max(...r.readies.map((x) => x.t_ready));
    if (!failure && r.connected !== n) failure = `${n - r.connected} of ${n} clients failed (${r.samples.join('; ')})`;
    const result = {
      server: spec.key, clients: n, connected: r.connected, failed: r.failed, failure,
      ms: counted ? counted.at - t0 : null,
      rate: counted ? n / ((counted.at - t0) / 1000) : null,
      ackMs: tAck - t0,
      ackRate: r.connected / ((tAck - t0) / 1000),
      ackP99Ms: Math.max(...r.readies.map((x) => x.handshake.p99_ms)),
      serverCpuS: serverCpu,
      serverCpuPct: counted ? (100 * serverCpu) / ((counted.at - t0) / 1000) : null,
      perProcess: r.readies.map((x) => ({ connected: x.connected, failed: x.failed, ms: x.ms, failures: x.failures })),
      loss: null,
    };
    if (!failure) {
      // Every counted subscription is live: one event reaches all of them, once.
      const before = await reportAll(server, lgs);
      server.send('publish t 1 200');
      const got = await awaitDeliveries(server, lgs, sum(before.map((x) => x.delivery.delivered)) + n,
        { untilMs: Date.now() + 60000 + n * 2 });
      if (got.why) result.failure = `the check event did not reach every subscription: ${got.why}`;
      else {
        const v = await verdict(server, lgs, 1);
        result.loss = v.loss;
        result.failure = v.failure;
      }
    }
    ctx.log(`${spec.key} storm-gql: ${r.connected}/${n} acked, ` +
      (counted ? `all subscribed in ${result.ms.toFixed(0)} ms = ${Math.round(result.rate)}/s` : 'not all subscribed') +
      ` (acked/s ${Math.round(result.ackRate)}, connect→ack p99 ${result.ackP99Ms} ms, server CPU ${result.serverCpuPct?.toFixed(0)} %)` +
      `${result.failure ? `, FAILED: ${result.failure}` : ''}`);
    await stopAll(lgs);
    return result;
  } finally {
    await Promise.all(lgs.map((p) => p.end(2000)));
    await server.end();
  }
}

module.exports = { stormGql };
