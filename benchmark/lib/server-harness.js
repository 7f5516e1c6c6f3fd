'use strict';
/**
 * The child-process side shared by every benchmark server (benchmark/servers/*.js): prints
 * `{"event":"listening","port":…}` once listening, answers stdin commands with one JSON line
 * each, and exits on stdin close or SIGTERM (after closing the server, bounded in time).
 *
 * Commands: `gc` → gc() twice, answers {"event":"gc","heapUsed":…}; `stats` → the server's
 * own counters; `publish <topic> <seq> [bodyBytes]` → servers that can publish do so.
 * @module benchmark/lib/server-harness
 */

const readline = require('node:readline');

/** @param {object} msg */
function send(msg) {
  process.stdout.write(`${JSON.stringify(msg)}\n`);
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

/**
 * @param {string} name
 * @param {() => Promise<{ port: number, close: () => Promise<void> | void,
 *   stats?: () => object, publish?: (topic: string, seq: number, bodyBytes: number) => void }>} start
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
        send({ event: 'stats', memory: process.memoryUsage(), ...(server.stats ? server.stats() : {}) });
      } else if (cmd === 'publish' && server.publish) {
        server.publish(args[0], Number(args[1]), Number(args[2] || 0));
        send({ event: 'published', seq: Number(args[1]) });
      } else if (cmd) {
        send({ event: 'error', message: `unknown command ${JSON.stringify(line)}` });
      }
    } catch (e) {
      send({ event: 'error', message: String(e) });
    }
  });
  send({ event: 'listening', server: name, port: server.port, pid: process.pid });
}

module.exports = { serve, send, nowMs, argv };
