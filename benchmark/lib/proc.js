'use strict';
/**
 * Child processes that speak one JSON object per stdout line and take commands on stdin
 * (the benchmark servers and the loadgen). Every wait has a timeout; `end()` closes stdin,
 * then SIGTERMs, then SIGKILLs, so nothing outlives the runner.
 * @module benchmark/lib/proc
 */

const { spawn } = require('node:child_process');
const readline = require('node:readline');

/** Every child still running, so an aborted runner can kill them all on its way out. */
const live = new Set();
process.on('exit', () => {
  for (const c of live) c.proc.kill('SIGKILL');
});

class Child {
  /**
   * @param {string} name label for errors and progress
   * @param {string} cmd
   * @param {string[]} args
   * @param {{ cwd?: string, env?: NodeJS.ProcessEnv }} [opts]
   */
  constructor(name, cmd, args, opts = {}) {
    this.name = name;
    /** @type {object[]} every message received, in order */
    this.messages = [];
    /** @type {{ pred: (m: any) => boolean, resolve: (m: any) => void }[]} */
    this.waiters = [];
    this.stderr = '';
    this.proc = spawn(cmd, args, { cwd: opts.cwd, env: opts.env || process.env, stdio: ['pipe', 'pipe', 'pipe'] });
    this.pid = this.proc.pid;
    this.exited = new Promise((resolve) => {
      this.proc.on('exit', (code, signal) => resolve({ code, signal }));
      this.proc.on('error', (err) => resolve({ code: null, signal: null, err }));
    });
    this.exitInfo = null;
    live.add(this);
    this.exited.then((info) => {
      this.exitInfo = info;
      live.delete(this);
    });
    this.proc.stdin.on('error', () => {});
    this.proc.stderr.on('data', (d) => {
      // Keep the tail only: enough to explain a failure.
      this.stderr = (this.stderr + d).slice(-4000);
    });
    readline.createInterface({ input: this.proc.stdout }).on('line', (line) => {
      let msg;
      try {
        msg = JSON.parse(line);
      } catch {
        msg = { event: 'text', line };
      }
      this.messages.push(msg);
      this.waiters = this.waiters.filter((w) => {
        if (!w.pred(msg)) return true;
        w.resolve(msg);
        return false;
      });
    });
  }

  /** @param {string} line */
  send(line) {
    if (this.proc.stdin.writable) this.proc.stdin.write(`${line}\n`);
  }

  /**
   * Resolves with the first message (already received or future) matching `what` — an
   * event name or a predicate; rejects after `timeoutMs` or when the child exits first.
   * @param {string | ((m: any) => boolean)} what
   * @param {number} timeoutMs
   * @param {number} [from] only consider messages at or after this index
   */
  waitFor(what, timeoutMs, from = 0) {
    const pred = typeof what === 'string' ? (m) => m.event === what : what;
    const seen = this.messages.slice(from).find(pred);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const label = typeof what === 'string' ? what : 'a matching message';
      const fail = (why) => {
        this.waiters = this.waiters.filter((w) => w !== waiter);
        reject(new Error(`${this.name} (pid ${this.pid}): ${why} while waiting for ${label}; stderr: ${this.stderr.trim().slice(-800)}`));
      };
      const timer = setTimeout(() => fail(`no answer in ${timeoutMs} ms`), timeoutMs);
      const waiter = {
        pred,
        resolve: (m) => {
          clearTimeout(timer);
          resolve(m);
        },
      };
      this.waiters.push(waiter);
      this.exited.then((info) => {
        if (this.waiters.includes(waiter)) {
          clearTimeout(timer);
          fail(`exited (code ${info.code}, signal ${info.signal})`);
        }
      });
    });
  }

  /** Sends `cmd` and waits for the next message matching `what`. */
  request(cmd, what, timeoutMs) {
    const from = this.messages.length;
    this.send(cmd);
    return this.waitFor(what, timeoutMs, from);
  }

  /** Ends the child: stdin EOF, then SIGTERM after `graceMs`, SIGKILL 3 s later. */
  async end(graceMs = 5000) {
    if (this.exitInfo) return this.exitInfo;
    this.proc.stdin.end();
    const race = (ms) => Promise.race([this.exited, new Promise((r) => setTimeout(r, ms).unref())]);
    await race(graceMs);
    if (!this.exitInfo) this.proc.kill('SIGTERM');
    await race(3000);
    if (!this.exitInfo) this.proc.kill('SIGKILL');
    return this.exited;
  }
}

module.exports = { Child };
