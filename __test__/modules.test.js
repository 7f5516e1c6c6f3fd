'use strict';
// The shape of the JS: index.js only re-exports lib/, and no module of index.js and lib/
// requires itself back through others (a cycle makes a module see another half-built).
// The walk reads every `require('./…')` / `require('../…')`, also those inside functions.
const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');

const ROOT = path.join(__dirname, '..');
const LIB = path.join(ROOT, 'lib');

/** The local modules `file` requires (resolved paths). @param {string} file */
function localRequires(file) {
  const text = fs.readFileSync(file, 'utf8');
  const out = [];
  for (const m of text.matchAll(/require\(\s*(['"])(\.{1,2}\/[^'"]*)\1\s*\)/g)) {
    let target = path.resolve(path.dirname(file), m[2]);
    if (fs.existsSync(target) && fs.statSync(target).isDirectory()) target = path.join(target, 'index.js');
    else if (!target.endsWith('.js')) target += '.js';
    out.push(target);
  }
  return out;
}

/** Every cycle reachable from `entry`, as lists of paths relative to the package. @param {string} entry */
function cycles(entry) {
  const found = [];
  const state = new Map(); // file → 'active' | 'done'
  const stack = [];
  const visit = (file) => {
    state.set(file, 'active');
    stack.push(file);
    for (const next of localRequires(file)) {
      if (state.get(next) === 'active') found.push([...stack.slice(stack.indexOf(next)), next].map((f) => path.relative(ROOT, f)));
      else if (!state.has(next) && fs.existsSync(next)) visit(next);
    }
    stack.pop();
    state.set(file, 'done');
  };
  visit(entry);
  return { found, reached: [...state.keys()] };
}

test('no require cycle among index.js and lib/, and every lib/ module is in use', () => {
  const { found, reached } = cycles(path.join(ROOT, 'index.js'));
  assert.deepEqual(found, [], `require cycles: ${found.map((c) => c.join(' → ')).join('; ')}`);
  const unused = fs
    .readdirSync(LIB)
    .filter((f) => f.endsWith('.js'))
    .map((f) => path.join(LIB, f))
    .filter((f) => !reached.includes(f));
  assert.deepEqual(unused.map((f) => path.relative(ROOT, f)), [], 'lib/ modules nothing requires');
});

test('index.js re-exports lib/: the same objects, nothing of its own', () => {
  const index = require('..');
  const { listen, TransportServer } = require('../lib/transport.js');
  const { useServer } = require('../lib/use-server.js');
  const { PubSub, createPubSub } = require('../lib/pubsub.js');
  const { publish } = require('../lib/topics.js');
  const broker = require('../lib/broker.js');
  const { registerMetrics, CONTENT_TYPE } = require('../lib/metrics.js');
  assert.deepEqual(Object.keys(index).sort(), ['METRICS_CONTENT_TYPE', 'PubSub', 'TransportServer', 'brokerStats', 'createPubSub', 'listen', 'publish', 'registerMetrics', 'useServer']);
  assert.equal(index.brokerStats, broker.stats);
  assert.equal(index.registerMetrics, registerMetrics);
  assert.equal(index.METRICS_CONTENT_TYPE, CONTENT_TYPE);
  assert.equal(index.listen, listen);
  assert.equal(index.TransportServer, TransportServer);
  assert.equal(index.useServer, useServer);
  assert.equal(index.PubSub, PubSub);
  assert.equal(index.createPubSub, createPubSub);
  assert.equal(index.publish, publish);
});
