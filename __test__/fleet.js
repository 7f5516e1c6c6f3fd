'use strict';
// Test support for the fleet tests: a fleet-server.js process (forked, or a `cluster` worker)
// driven over IPC, with its replies, its broker errors and its exit.
const assert = require('node:assert/strict');
const path = require('node:path');
const { fork } = require('node:child_process');
const { eventually } = require('./helpers');

const SERVER = path.join(__dirname, 'fleet-server.js');

/**
 * A fleet-server.js child process.
 * @param {Record<string, string>} env
 */
function child(env) {
  return drive(fork(SERVER, [], { env: { ...process.env, ...env }, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] }), env.NAME);
}

/**
 * Drives a fleet-server.js process: a forked child or a cluster worker (both have `send`,
 * `kill`, and 'message' and 'exit' events).
 * @param {{ send: (m: any) => unknown, kill: (sig?: string) => unknown, on: Function, once: Function }} p @param {string} name
 */
function drive(p, name) {
  const env = { NAME: name };
  /** @type {any[]} */
  const inbox = [];
  /** @type {{ code: string, message: string }[]} */
  const brokerErrors = [];
  let exited = /** @type {number | null} */ (null);
  p.on('message', (/** @type {any} */ m) => (m.brokerError ? brokerErrors.push({ code: m.brokerError, message: m.message }) : inbox.push(m)));
  p.on('exit', (code) => (exited = code ?? -1));
  /** The next message that has `key`. @param {string} key @param {number} [ms] */
  const reply = async (key, ms = 60_000) => {
    await eventually(() => inbox.some((m) => key in m) || exited !== null, ms, `a "${key}" reply from ${env.NAME}`);
    const i = inbox.findIndex((m) => key in m);
    assert.ok(i >= 0, `${env.NAME} exited (${exited}) before its "${key}" reply`);
    return inbox.splice(i, 1)[0];
  };
  return {
    p,
    brokerErrors,
    exited: () => exited,
    reply,
    /** @param {any} msg @param {string} key */
    request(msg, key) {
      p.send(msg);
      return reply(key);
    },
    stop() {
      if (exited !== null) return Promise.resolve();
      return new Promise((resolve) => {
        p.once('exit', resolve);
        p.send({ cmd: 'exit' });
        setTimeout(() => p.kill('SIGKILL'), 10_000).unref();
      });
    },
  };
}

module.exports = { SERVER, child, drive };
