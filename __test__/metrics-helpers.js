'use strict';
// Helpers of the metrics tests: a scrape parsed by a real Prometheus text parser
// (parse-prometheus-text-format), values read from it by name and labels, and a raw
// graphql-transport-ws client (ws) that records what it receives.
const assert = require('node:assert/strict');
const parse = require('parse-prometheus-text-format');
const WebSocket = require('ws');

/**
 * Parses Prometheus text and checks what the format requires of it: each family's HELP and
 * TYPE once, before its samples, every sample named after its family. Returns the families
 * by name. @param {string} text
 */
function parseScrape(text) {
  assert.ok(text.endsWith('\n'), 'the text ends with a newline');
  const seen = new Set();
  let current = null;
  for (const line of text.split('\n')) {
    const meta = /^# (HELP|TYPE) (\S+)/.exec(line);
    if (meta) {
      const key = `${meta[1]} ${meta[2]}`;
      assert.ok(!seen.has(key), `${key} appears once`);
      seen.add(key);
      current = meta[2];
      continue;
    }
    if (!line) continue;
    const name = /^[a-zA-Z_:][a-zA-Z0-9_:]*/.exec(line)?.[0];
    assert.ok(name && current && (name === current || /^(.*)_(bucket|sum|count)$/.exec(name)?.[1] === current), `sample ${line} belongs to family ${current}`);
  }
  /** @type {Map<string, any>} */
  const byName = new Map();
  for (const f of parse(text)) byName.set(f.name, f);
  return byName;
}

/**
 * A counter's or gauge's value: the sample whose labels include `labels` (all of them summed
 * when several match). @param {Map<string, any>} fams @param {string} name @param {Record<string, string>} [labels]
 */
function value(fams, name, labels = {}) {
  const f = fams.get(name);
  assert.ok(f, `family ${name} is there`);
  const matching = f.metrics.filter((m) => Object.entries(labels).every(([k, v]) => m.labels?.[k] === v));
  assert.ok(matching.length > 0, `${name}${JSON.stringify(labels)} has a sample`);
  return matching.reduce((a, m) => a + Number(m.value), 0);
}

/** An unlabelled histogram: { count, sum, buckets: Map<le, cumulative> }. @param {Map<string, any>} fams @param {string} name */
function histogram(fams, name) {
  const f = fams.get(name);
  assert.ok(f, `family ${name} is there`);
  assert.equal(f.type, 'HISTOGRAM');
  const [m] = f.metrics;
  return { count: Number(m.count), sum: Number(m.sum), buckets: new Map(Object.entries(m.buckets).map(([le, n]) => [le, Number(n)])) };
}

/**
 * A graphql-transport-ws client over ws that subscribes to `query` with `variables` once
 * acknowledged and records each `next` payload's data, its errors, and how it closed.
 * @param {string} url @param {string} query @param {Record<string, unknown>} [variables]
 */
function subscriber(url, query, variables = {}) {
  const ws = new WebSocket(url, 'graphql-transport-ws');
  const c = { ws, data: /** @type {any[]} */ ([]), errors: /** @type {any[]} */ ([]), acked: false, close: /** @type {{ code: number, reason: string } | null} */ (null) };
  ws.on('open', () => ws.send(JSON.stringify({ type: 'connection_init' })));
  ws.on('message', (raw) => {
    const msg = JSON.parse(String(raw));
    if (msg.type === 'connection_ack') {
      c.acked = true;
      ws.send(JSON.stringify({ id: '1', type: 'subscribe', payload: { query, variables } }));
    }
    if (msg.type === 'next') c.data.push(msg.payload.data);
    if (msg.type === 'error') c.errors.push(msg.payload);
  });
  ws.on('close', (code, reason) => (c.close = { code, reason: String(reason) }));
  ws.on('error', () => {});
  return c;
}

module.exports = { parseScrape, value, histogram, subscriber };
