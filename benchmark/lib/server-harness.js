'use strict';
/**
 * The child-process side shared by every benchmark server (benchmark/servers/*.js): prints
 * `{"event":"listening","port":…}` once listening, answers stdin commands with one JSON line
 * each, and exits on stdin close or SIGTERM (after closing the server, bounded in time).
 *
 * Commands: `gc` → gc() twice, answers {"event":"gc","heapUsed":…}; `stats` → the server's
 * own counters and `at` (ms since the epoch when they were read); `publish <topic> <seq>
 * [bodyBytes]` → servers that can publish do so; `rate <count> <perSec> <prefix> <topics>
 * <firstSeq> <bodyBytes> <seed>` → the server paces `count` publishes itself (see `rate`);
 * `loop` → the longest event-loop stall (ms) since the previous `loop` (the first one starts
 * the watch and answers 0; lib/loop-stalls.js).
 * @module benchmark/lib/server-harness
 */

const readline = require('node:readline');
const { loopStalls } = require('./loop-stalls');

/** @param {object} msg */
function send(msg) {
  process.stdout.write(`${JSON.stringify(msg)}\n`);
}

/**
 * Counts the live subscriptions of a graphql-ws server (`stats`): `counter.live` goes up now
 * and down on the iterator's first `return()`. Returns `it`.
 * @template {{ return: (...a: any[]) => any }} I @param {I} it @param {{ live: number }} counter
 */
function countLive(it, counter) {
  counter.live += 1;
  const end = it.return.bind(it);
  let ended = false;
  it.return = (/** @type {any[]} */ ...a) => {
    if (!ended) (ended = true), (counter.live -= 1);
    return end(...a);
  };
  return it;
}

/** ms since the epoch with sub-ms precision, the `sentAt` the load generator compares to. */
function nowMs() {
  return performance.timeOrigin + performance.now();
}

/** Parses `--name value` pairs from argv. @returns {Record<string, string>} */
function argv() {
  /** @type {Record<string, string>} */
  const out = {};
  const a = process.argv.slice(2);
  for (let i = 0; i < a.length; i++) {
    if (a[i].startsWith('--')) out[a[i].slice(2)] = a[i + 1] !== undefined && !a[i + 1].startsWith('--') ? a[++i] : 'true';
  }
  return out;
}

/** The topic sequence of `rate`: xorshift32 (13, 17, 5), the same as the floor's (Rust). */
function xorshift32(/** @type {number} */ x) {
  x ^= x << 13;
  x >>>= 0;
  x ^= x >>> 17;
  x ^= x << 5;
  return x >>> 0;
}

/** Pacing granularity of `rate`: events are due on tick boundaries TICK_MS apart. */
const TICK_MS = 5;

/**
 * `rate`: publishes `count` events at `perSec` from this process's own timers (not one stdin
 * line per event), each to `<prefix><x % topics>` with x from the seeded xorshift32, every
 * topic's seq counting up from `firstSeq`. The schedule is in ticks of TICK_MS: event i is
 * due at the first tick boundary at or after i / perSec, and its `sentAt` is that boundary
 * (start + k × TICK_MS), not the moment the loop got to it. At each wake-up every event due
 * by then is published, so a server whose event loop is busy publishes late, in larger
 * batches, as an app fed by a broker would, and latency (receipt − sentAt) counts that wait.
 * Answers `rate-done` with the start time, duration, how late the publisher fell behind
 * its schedule at worst (`lateMs`) and the publishes per topic.
 * @param {(topic: string, seq: number, bodyBytes: number, sentAt?: number) => void} publish @param {string[]} args
 */
function rate(publish, args) {
  const [count, perSec, , topics, firstSeq, body, seed] = args.map(Number);
  const prefix = args[2];
  const int = (n, lo, hi) => Number.isInteger(n) && n >= lo && n <= hi;
  if (!(int(count, 1, 1e7) && int(perSec, 1, 1e6) && int(topics, 1, 1e6) && int(firstSeq, 0, 2 ** 52) &&
    int(body, 0, 1 << 20) && int(seed, 1, 2 ** 32 - 1) && prefix)) {
    throw new Error('rate <count> <perSec> <prefix> <topics> <firstSeq> <bodyBytes> <seed>: count 1..1e7, perSec 1..1e6, topics 1..1e6, seed ≠ 0');
  }
  const perTopic = new Array(topics).fill(0);
  /** The tick event i is due at: ⌈i / (perSec × TICK_MS / 1000)⌉ (exact in integers). */
  const tickOf = (i) => Math.ceil((i * 1000) / (perSec * TICK_MS));
  let x = seed;
  let done = 0;
  let lateMs = 0;
  const t0 = nowMs();
  const start = performance.now();
  const wake = () => {
    const elapsed = performance.now() - start;
    const k = Math.floor(elapsed / TICK_MS);
    const due = Math.min(count, Math.floor((k * TICK_MS * perSec) / 1000) + 1);
    if (due > done) lateMs = Math.max(lateMs, elapsed - tickOf(done) * TICK_MS);
    for (; done < due; done++) {
      x = xorshift32(x);
      const t = x % topics;
      publish(`${prefix}${t}`, firstSeq + perTopic[t]++, body, t0 + tickOf(done) * TICK_MS);
    }
    if (done < count) setTimeout(wake, (k + 1) * TICK_MS - (performance.now() - start));
    else send({ event: 'rate-done', published: done, t0, ms: performance.now() - start, lateMs, perTopic });
  };
  wake();
}

/**
 * @param {string} name
 * @param {() => Promise<{ port: number, close: () => Promise<void> | void,
 *   stats?: () => object, publish?: (topic: string, seq: number, bodyBytes: number, sentAt?: number) => void }>} start
 */
async function serve(name, start) {
  let server;
  try {
    server = await start();
  } catch (e) {
    send({ event: 'error', message: String(e && e.stack ? e.stack : e) });
    process.exit(1);
  }
  let closing = false;
  const shutdown = async () => {
    if (closing) return;
    closing = true;
    // Never hang: whatever close does, the process is gone within 5 s.
    setTimeout(() => process.exit(0), 5000).unref();
    try {
      await server.close();
    } catch (e) {
      process.stderr.write(`${name}: close failed: ${e}\n`);
    }
    process.exit(0);
  };
  process.on('SIGTERM', shutdown);
  process.on('SIGINT', shutdown);
  const stalls = loopStalls();
  const rl = readline.createInterface({ input: process.stdin });
  rl.on('close', shutdown);
  rl.on('line', (line) => {
    const [cmd, ...args] = line.trim().split(/\s+/);
    try {
      if (cmd === 'gc') {
        if (typeof global.gc !== 'function') throw new Error('run with node --expose-gc');
        global.gc();
        global.gc();
        send({ event: 'gc', heapUsed: process.memoryUsage().heapUsed });
      } else if (cmd === 'stats') {
        send({ event: 'stats', at: nowMs(), memory: process.memoryUsage(), ...(server.stats ? server.stats() : {}) });
      } else if (cmd === 'publish' && server.publish) {
        server.publish(args[0], Number(args[1]), Number(args[2] || 0));
        send({ event: 'published', seq: Number(args[1]) });
      } else if (cmd === 'rate' && server.publish) {
        rate(server.publish, args);
      } else if (cmd === 'loop') {
        stalls.start();
        send({ event: 'loop', stallMs: stalls.take() });
      } else if (cmd) {
        send({ event: 'error', message: `unknown command ${JSON.stringify(line)}` });
      }
    } catch (e) {
      send({ event: 'error', message: String(e) });
    }
  });
  send({ event: 'listening', server: name, port: server.port, pid: process.pid });
}

module.exports = { serve, send, nowMs, argv, xorshift32, countLive };
