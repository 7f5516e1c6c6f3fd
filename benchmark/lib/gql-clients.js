'use strict';
/**
 * GraphQL clients for the idle-subscribed, storm and many-topics scenarios: spawning loadgen
 * processes that connect, `connection_init` and subscribe to `tick(topic)` (and then hold,
 * recording every event), merging their reports, waiting for the server to count every
 * subscription, publishing and waiting for deliveries (bounded by stall and total time),
 * the GraphQL warm-up, and the end-of-run exactly-once-in-order verdict.
 * @module benchmark/lib/gql-clients
 */

const { Child } = require('./proc');
const { split, sources, sleep } = require('./scenarios');
const { gone } = require('./fanout');

const sum = (xs) => xs.reduce((a, b) => a + b, 0);

/** The loadgen subprotocol flag for a server spec. */
const protocolOf = (spec) => spec.protocol || 'graphql-transport-ws';

/**
 * Spawns one loadgen process per entry of `counts`, each holding that many subscribed
 * clients (mode fanout: connect, init, one subscription per connection, record events).
 * @param {any} ctx @param {number} port @param {any} spec @param {number[]} counts
 * @param {{ first?: number, offset?: number, topics?: number, startAt?: number, concurrency?: number, timeoutSecs?: number }} [o]
 *   first: the first process's number (picks its source-address range); offset: the global
 *   number of its first client (`--conn-offset`, which with `--topics` picks each client's
 *   topic), the next process's continuing where this one's ends
 */
function spawnClients(ctx, port, spec, counts, o = {}) {
  const first = o.first || 0;
  let offset = o.offset || 0;
  return counts.map((n, i) => {
    const args = ['--src', sources(first + i), '--url', `ws://127.0.0.1:${port}/`, '--mode', 'fanout',
      '--protocol', protocolOf(spec), '--connections', String(n), '--subs-per-conn', '1', '--topic', 't',
      '--first-seq', '0', '--concurrency', String(o.concurrency || ctx.concurrency),
      '--timeout-secs', String(o.timeoutSecs || 1800), '--handshake-timeout-ms', '30000'];
    if (o.topics) args.push('--topics', String(o.topics), '--conn-offset', String(offset));
    if (o.startAt) args.push('--start-at', String(o.startAt));
    offset += n;
    return new Child(`loadgen#${first + i}`, ctx.loadgen, args);
  });
}

/** Waits for every process's `ready`; sums connected and failed, with a few failure samples. */
async function readyAll(lgs, timeoutMs = 300000) {
  const readies = await Promise.all(lgs.map((p) => p.waitFor('ready', timeoutMs)));
  return {
    readies,
    connected: sum(readies.map((r) => r.connected)),
    failed: sum(readies.map((r) => r.failed)),
    samples: [...new Set(readies.flatMap((r) => r.failures.samples))].slice(0, 3),
  };
}

/** Every process's current report; throws when subscribed clients were lost. */
async function reportAll(server, lgs) {
  const reps = await Promise.all(lgs.map((p) => p.request('report', 'report', 30000)));
  const lost = sum(reps.map((r) => sum(Object.values(r.failures.after_ready))));
  if (!lost) return reps;
  await Promise.race([server.exited, sleep(1000)]);
  const samples = [...new Set(reps.flatMap((r) => r.failures.samples))].slice(0, 3).join('; ');
  const why = gone(server, []);
  throw new Error(`${lost} subscribed connection(s) lost (${samples})${why ? `: ${why}` : ''}`);
}

/** Deliveries counted so far across reports. */
const delivered = (reps) => sum(reps.map((r) => r.delivery.delivered));

/**
 * Polls the server's `stats` until it counts `n` subscriptions; resolves with the first
 * stats answer that does (its `at` is the server's clock when it counted them), or throws
 * after `timeoutMs`. `stop()` may end the wait early with a reason (e.g. clients failed).
 * @param {Child} server @param {number} n @param {{ timeoutMs?: number, pollMs?: number, stop?: () => string | null }} [o]
 */
async function waitSubscriptions(server, n, o = {}) {
  const deadline = Date.now() + (o.timeoutMs || 60000);
  for (;;) {
    const s = await server.request('stats', 'stats', 10000);
    if (typeof s.subscriptions !== 'number') throw new Error('the server\'s stats have no subscriptions count');
    if (s.subscriptions >= n) return s;
    const why = o.stop?.();
    if (why) throw new Error(`${s.subscriptions}/${n} subscriptions live: ${why}`);
    if (Date.now() > deadline) throw new Error(`only ${s.subscriptions}/${n} subscriptions live after ${((o.timeoutMs || 60000) / 1000).toFixed(0)} s`);
    await sleep(o.pollMs || 100);
  }
}

/**
 * Waits until the deliveries counted across `lgs` reach `want`; gives up when the server
 * or a loadgen exited, no delivery came for `stallMs`, or `untilMs` (epoch) passed.
 * @returns {Promise<{ reps: any[], why: string | null }>}
 */
async function awaitDeliveries(server, lgs, want, { stallMs = 15000, untilMs = Date.now() + 120000, pollMs = 25 } = {}) {
  let reps = await reportAll(server, lgs);
  let progress = { n: delivered(reps), at: Date.now() };
  while (delivered(reps) < want) {
    let why = gone(server, lgs);
    if (!why && Date.now() > untilMs) why = 'timed out';
    if (!why && Date.now() - progress.at > stallMs) why = `no delivery for ${stallMs / 1000} s`;
    if (why) return { reps, why: `${why} (${delivered(reps)}/${want} delivered)` };
    await sleep(pollMs);
    reps = await reportAll(server, lgs);
    if (delivered(reps) > progress.n) progress = { n: delivered(reps), at: Date.now() };
  }
  return { reps, why: null };
}

/** Waits until deliveries stop changing (250 ms apart, at most 10 s). */
async function settle(server, lgs) {
  for (let n = -1, i = 0; i < 40; i++) {
    await sleep(250);
    const d = delivered(await reportAll(server, lgs));
    if (d === n) return;
    n = d;
  }
}

/**
 * A few hundred clients subscribe, receive one event and close, so JIT, pools and
 * allocator arenas are warm; then waits until the server counts no subscription.
 */
async function gqlWarmup(ctx, server, port, spec) {
  if (!ctx.warmup) return;
  const lgs = spawnClients(ctx, port, spec, [ctx.warmup], { timeoutSecs: 120 });
  try {
    const r = await readyAll(lgs, 60000);
    if (r.connected !== ctx.warmup) throw new Error(`warm-up: only ${r.connected}/${ctx.warmup} connected (${r.samples.join('; ')})`);
    await waitSubscriptions(server, ctx.warmup, { timeoutMs: 30000 });
    const before = delivered(await reportAll(server, lgs));
    server.send('publish t 1 200');
    const got = await awaitDeliveries(server, lgs, before + ctx.warmup, { stallMs: 5000, untilMs: Date.now() + 30000 });
    if (got.why) throw new Error(`warm-up publish: ${got.why}`);
    lgs[0].send('stop');
    await lgs[0].waitFor('done', 30000);
  } finally {
    await Promise.all(lgs.map((p) => p.end(2000)));
  }
  const deadline = Date.now() + 15000;
  for (let s = await server.request('stats', 'stats', 10000); s.subscriptions > 0 && Date.now() < deadline;) {
    await sleep(100);
    s = await server.request('stats', 'stats', 10000);
  }
}

/**
 * The end-of-run verdict: every subscription's events were seq = last + 1 (no gap,
 * duplicate or reorder, no unknown id), and, given `expect` (the last seq published on a
 * single topic), none is missing at the end.
 */
async function verdict(server, lgs, expect) {
  if (gone(server, lgs)) return { loss: null, failure: gone(server, lgs) };
  if (expect != null) for (const p of lgs) p.send(`expect ${expect}`);
  const final = await Promise.all(lgs.map((p) => p.request('report', 'report', 30000)));
  const total = (k) => sum(final.map((r) => r.delivery[k] || 0));
  const loss = { missing: total('missing'), dupes: total('dupes'), reorders: total('reorders'), gaps: total('gaps'),
    unknownIds: total('unknown_ids'), exact: final.every((r) => r.delivery.exactly_once_in_order) };
  return { loss, failure: loss.exact ? null : `not exactly once in order: ${JSON.stringify(loss)}` };
}

/** Asks every process to close its clients and waits for `done` (bounded). */
async function stopAll(lgs) {
  return Promise.all(lgs.map(async (p) => {
    p.send('stop');
    return p.waitFor('done', 30000).catch((e) => ({ error: String(e.message) }));
  }));
}

module.exports = { spawnClients, readyAll, reportAll, delivered, waitSubscriptions, awaitDeliveries, settle, gqlWarmup,
  verdict, stopAll, split, sum };
