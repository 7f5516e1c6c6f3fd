'use strict';
/**
 * The cluster scenario's broker (lib/cluster.js): one `redis-server` on a free loopback port,
 * no persistence (`--save '' --appendonly no`), its working directory a fresh temp dir, as a
 * Child (lib/proc.js), so an aborted runner kills it too. `stop()` ends it and removes the
 * dir; the scenario calls it in a `finally`. `cli()` runs redis-cli against it (PUBSUB
 * NUMSUB, INFO). Without redis-server installed, `startRedis` throws saying so.
 * @module benchmark/lib/redis
 */

const fs = require('node:fs');
const net = require('node:net');
const os = require('node:os');
const path = require('node:path');
const { spawnSync } = require('node:child_process');
const { Child } = require('./proc');

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Temp dirs of redis-servers not stopped yet: removed if the runner exits first (lib/proc.js kills the servers). */
const dirs = new Set();
process.on('exit', () => {
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
});

/** A free loopback port (bound, read, released; also __test__/redis.js's). @returns {Promise<number>} */
function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject).listen(0, '127.0.0.1', () => {
      const { port } = /** @type {net.AddressInfo} */ (s.address());
      s.close(() => resolve(port));
    });
  });
}

/** Whether something accepts on 127.0.0.1:port (also __test__/redis.js's). @param {number} port @returns {Promise<boolean>} */
function accepts(port) {
  return new Promise((resolve) => {
    const c = net.connect(port, '127.0.0.1', () => (c.destroy(), resolve(true)));
    c.on('error', () => resolve(false));
  });
}

/** Starts redis-server; resolves once it accepts connections. */
async function startRedis() {
  if (spawnSync('redis-server', ['--version'], { stdio: 'ignore' }).status !== 0) {
    throw new Error('redis-server is not installed (Debian: apt-get install redis-server)');
  }
  const port = await freePort();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'subwire-bench-redis-'));
  dirs.add(dir);
  const child = new Child('redis-server', 'redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir], { cwd: dir });
  const stop = async () => {
    await child.end(0);
    fs.rmSync(dir, { recursive: true, force: true });
    dirs.delete(dir);
  };
  try {
    for (const end = Date.now() + 10000; !(await accepts(port));) {
      if (child.exitInfo) throw new Error(`redis-server exited (code ${child.exitInfo.code}): ${child.stderr.trim().slice(-400)}`);
      if (Date.now() > end) throw new Error(`redis-server did not listen on ${port} within 10 s`);
      await sleep(20);
    }
  } catch (e) {
    await stop();
    throw e;
  }
  return {
    child,
    pid: child.pid,
    port,
    url: `redis://127.0.0.1:${port}`,
    /** redis-cli with these arguments against this server; its stdout, trimmed. @param {...string} args */
    cli(...args) {
      const out = spawnSync('redis-cli', ['-p', String(port), ...args], { encoding: 'utf8', timeout: 10000 });
      if (out.status !== 0) throw new Error(`redis-cli ${args.join(' ')}: ${out.stderr || out.error}`);
      return out.stdout.trim();
    },
    /** Subscribers of `channel` as Redis counts them (one per subscribed connection). @param {string} channel */
    numsub(channel) {
      return Number(this.cli('PUBSUB', 'NUMSUB', channel).split('\n')[1]);
    },
    stop,
  };
}

module.exports = { startRedis, freePort, accepts };
