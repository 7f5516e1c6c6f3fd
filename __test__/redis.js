'use strict';
// Test support for the broker tests: a real redis-server on a free loopback port (Debian's
// package; .ci/run installs it), stopped when the test ends, also on failure; redis-cli for
// what a foreign publisher does. `REDIS` is null (and the tests skip, saying why) when
// redis-server is not installed.
const { spawn, spawnSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
// (the benchmark's broker helper has the port probes)
const { freePort, accepts } = require('../benchmark/lib/redis');

const found = spawnSync('redis-server', ['--version'], { stdio: 'ignore' }).status === 0;
/** Why broker tests skip, or false. */
const SKIP = found ? false : 'redis-server is not installed (Debian: apt-get install redis-server)';
// CI installs it (.ci/run): there a missing redis-server fails the run instead of skipping.
if (SKIP && process.env.CI) throw new Error(`CI: ${SKIP}`);

/** Resolves once something accepts on `port`. */
async function reachable(port, ms = 10_000) {
  const end = Date.now() + ms;
  while (!(await accepts(port))) {
    if (Date.now() > end) throw new Error(`redis-server did not listen on ${port}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/**
 * Starts a redis-server; `t.after` stops it. `extra`: more redis-server arguments.
 * @param {import('node:test').TestContext | null} t @param {{ port?: number, extra?: string[] }} [o]
 */
async function startRedis(t, o = {}) {
  const port = o.port ?? (await freePort());
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'subwire-redis-'));
  /** @type {import('node:child_process').ChildProcess | null} */
  let child = null;
  const r = {
    port,
    url: `redis://127.0.0.1:${port}`,
    async start() {
      child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir, ...(o.extra ?? [])], { stdio: 'ignore' });
      await reachable(port);
    },
    /** SIGKILL, as a crash: connections drop without a word. */
    async kill() {
      const c = child;
      child = null;
      if (!c || c.exitCode !== null) return;
      await new Promise((resolve) => {
        c.once('exit', resolve);
        c.kill('SIGKILL');
      });
    },
    /** redis-cli with these arguments; its stdout, trimmed. @param {...string} args */
    cli(...args) {
      const out = spawnSync('redis-cli', ['-p', String(port), ...args], { encoding: 'utf8' });
      if (out.status !== 0) throw new Error(`redis-cli ${args.join(' ')}: ${out.stderr}`);
      return out.stdout.trim();
    },
    /** Subscribers of a channel, as Redis counts them (one per process). @param {string} channel */
    numsub(channel) {
      return Number(r.cli('PUBSUB', 'NUMSUB', channel).split('\n')[1]);
    },
    async stop() {
      await r.kill();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
  await r.start();
  t?.after(() => r.stop());
  return r;
}

module.exports = { SKIP, startRedis, freePort };
