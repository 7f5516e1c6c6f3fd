'use strict';
/**
 * The tables of the idle-subscribed (`idle-gql`), GraphQL storm (`storm-gql`) and
 * many-topics (`topics`) scenarios: one row per server, each figure the median over clean
 * repetitions (with the range when there were several), then each row's ratio to the subwire
 * baseline row (peers ÷ subwire) and to the raw-socket floor (÷floor) where those rows ran.
 * A run that failed (set-up, loss, stall, crash) is marked FAILED in its row with the reason
 * below the table and its figures are left out; the row is never dropped. Also returns the
 * summaries (server → figure → { median, min, max, values }) for the JSON and the chart.
 * @module benchmark/lib/gql-report
 */

const { summarize, cell, table, count, num } = require('./report');

const FLOOR = 'floor';

/**
 * @typedef {{ key: string, header: string, get: (result: any) => number | null | undefined, digits: number }} Column
 * @typedef {{ header: string, key: string, vs: 'subwire' | 'floor' }} Ratio
 */

/**
 * One scenario table.
 * @param {{ key: string, label: string }[]} servers
 * @param {any[]} runs this scenario's runs (one case)
 * @param {{ title: string, columns: Column[], ratios: Ratio[], baseline: string, status?: (r: any[]) => string }} o
 */
function scenarioTable(servers, runs, o) {
  /** @type {Record<string, Record<string, ReturnType<typeof summarize>>>} */
  const summary = {};
  const notes = [];
  const present = servers.filter((s) => runs.some((r) => r.server === s.key));
  for (const s of present) {
    const clean = runs.filter((r) => r.server === s.key && r.result && !r.result.failure);
    summary[s.key] = Object.fromEntries(o.columns.map((c) => [c.key, summarize(clean.map((r) => c.get(r.result)))]));
  }
  const ratio = (s, rt) => {
    const other = rt.vs === 'floor' ? FLOOR : o.baseline;
    const a = summary[s.key]?.[rt.key]?.median;
    const b = summary[other]?.[rt.key]?.median;
    return a != null && b ? `${(a / b).toFixed(2)}×` : '—';
  };
  const rows = present.map((s) => {
    const mine = runs.filter((r) => r.server === s.key);
    const failed = mine.filter((r) => r.error || r.result?.failure);
    for (const r of failed) notes.push(`${s.label}, rep ${r.rep + 1}: ${r.error || r.result.failure}`);
    const flag = failed.length ? `FAILED${mine.length > 1 ? ` ${failed.length}/${mine.length}` : ''}` : 'ok';
    return [s.label, o.status ? `${o.status(mine)} ${flag}`.trim() : flag,
      ...o.columns.map((c) => cell(summary[s.key][c.key], c.digits)), ...o.ratios.map((rt) => ratio(s, rt))];
  });
  const out = [o.title, table(['server', 'status', ...o.columns.map((c) => c.header), ...o.ratios.map((r) => r.header)], rows)];
  for (const n of notes) out.push(`  FAILED ${n.length > 400 ? `${n.slice(0, 400)}…` : n}`);
  return { text: out.join('\n'), summary };
}

const sum = (xs) => xs.reduce((a, b) => a + b, 0);

/** The idle-subscribed table. @param {number[]} steps */
function idleGqlTable(servers, runs, steps, baseline, baseLabel) {
  const top = steps[steps.length - 1];
  const at = (res, n) => res.steps?.find((s) => s.target === n)?.perConn;
  const columns = [
    ...steps.map((n) => ({ key: `rss@${n}`, header: `RSS KiB/conn @${count(n)}`, digits: 2, get: (r) => at(r, n)?.rssKiB })),
    { key: 'heap', header: `V8 heap KiB/conn @${count(top)}`, digits: 2, get: (r) => at(r, top)?.heapKiB },
    { key: 'kernel', header: `kernel sock KiB/conn @${count(top)}`, digits: 2, get: (r) => at(r, top)?.kernelSockKiB },
    { key: 'slab', header: `slab KiB/conn @${count(top)} (both ends)`, digits: 1, get: (r) => at(r, top)?.kernelSlabKiB },
    { key: 'baseMiB', header: 'base RSS MiB', digits: 1, get: (r) => r.projection?.baseRssMiB },
    { key: 'projGiB', header: '1M conns: userland GiB', digits: 1, get: (r) => r.projection?.userlandGiB },
  ];
  const t = scenarioTable(servers, runs, {
    title: `idle subscribed: connections acknowledged with one live tick subscription each, held; per connection over a warmed-up baseline at ${steps.map(count).join(' and ')}:`,
    columns, baseline,
    ratios: [{ header: `RSS ÷${baseLabel}`, key: `rss@${top}`, vs: 'subwire' }, { header: 'RSS ÷floor', key: `rss@${top}`, vs: 'floor' }],
  });
  const procs = runs.find((r) => r.result?.projection)?.result.projection.processes;
  const text = [t.text,
    `1M projection, from the @${count(top)} figures: processes = ⌈1,000,000 ÷ 19,000⌉ = ${procs ?? 53} (a process holds 19k sockets here:`,
    'open-file limit 20,000); userland GiB = (processes × base RSS + 1M × RSS KiB/conn) ÷ 1024²; V8 heap is part of RSS. Kernel memory',
    'is apart: socket buffers (kernel sock KiB/conn × 1M, ~0 when idle) and the socket objects (~slab/2 per connection × 1M, in the JSON).'];
  return { text: text.join('\n'), summary: t.summary };
}

/** The GraphQL storm table. */
function stormGqlTable(servers, runs, n, baseline, baseLabel) {
  const columns = [
    { key: 'rate', header: 'subscribed/s', digits: 0, get: (r) => r.rate },
    { key: 'ackRate', header: 'acked/s', digits: 0, get: (r) => r.ackRate },
    { key: 'p99', header: 'connect→ack p99 ms', digits: 1, get: (r) => r.ackP99Ms },
    { key: 'cpu', header: 'server CPU %', digits: 0, get: (r) => r.serverCpuPct },
  ];
  const t = scenarioTable(servers, runs, {
    title: `connect storm with init + subscribe: ${count(n)} clients from ${Math.max(2, Math.ceil(n / 9500))} loadgen processes started together:`,
    columns, baseline,
    status: (mine) => `${sum(mine.map((r) => r.result?.connected || 0)).toLocaleString('en-US')}/${(n * mine.length).toLocaleString('en-US')}`,
    ratios: [{ header: `subscribed/s ÷${baseLabel}`, key: 'rate', vs: 'subwire' }, { header: 'subscribed/s ÷floor', key: 'rate', vs: 'floor' }],
  });
  const text = [t.text,
    'subscribed/s: clients ÷ (the server\'s stats counting all of them subscribed − first connect); acked/s: the clients\' view (last',
    'connection_ack − first connect); connect→ack p99: TCP connect start → connection_ack (the subscribe leaves then), highest of the',
    'processes\' p99s; server CPU %: user+sys over the storm\'s wall time, 100 % = one core. One check event must then reach everyone.'];
  return { text: text.join('\n'), summary: t.summary };
}

/** The many-topics table for one case. */
function topicsTable(servers, runs, c, baseline, baseLabel) {
  const columns = [
    { key: 'perSec', header: 'delivered msgs/s', digits: 0, get: (r) => r.deliveredPerSec },
    { key: 'p50', header: 'p50 ms', digits: 1, get: (r) => r.latency.p50 },
    { key: 'p99', header: 'p99 ms', digits: 1, get: (r) => r.latency.p99 },
    { key: 'max', header: 'max ms', digits: 1, get: (r) => r.latency.max },
    { key: 'cpuPerM', header: 'CPU s/1M', digits: 1, get: (r) => r.cpuPerM },
    { key: 'late', header: 'publisher late ms', digits: 0, get: (r) => r.publisherLateMs },
  ];
  const offered = (c.rate * c.conns) / c.topics;
  const t = scenarioTable(servers, runs, {
    title: `many topics: ${count(c.conns)} subscribers over ${count(c.topics)} topics, ${num(c.rate, 0)} publishes/s to random topics for ${c.secs} s ` +
      `(${num(offered, 0)} msgs/s offered), ${c.body}-byte bodies:`,
    columns, baseline,
    status: (mine) => {
      const rs = mine.map((r) => r.result).filter(Boolean);
      return rs.length ? `${sum(rs.map((r) => r.delivered)).toLocaleString('en-US')}/${sum(rs.map((r) => r.expected)).toLocaleString('en-US')}` : '';
    },
    ratios: [{ header: `CPU ÷${baseLabel}`, key: 'cpuPerM', vs: 'subwire' }, { header: 'CPU ÷floor', key: 'cpuPerM', vs: 'floor' },
      { header: 'p99 ÷floor', key: 'p99', vs: 'floor' }],
  });
  const text = [t.text,
    'status: delivered/expected (expected = Σ publishes per topic × its subscribers); delivered msgs/s: deliveries ÷ (last delivery − first',
    'publish); p50/p99/max: delivery − sentAt; CPU s/1M: server user+sys from the rate command to the last delivery per 1M delivered;',
    'publisher late: how far the server\'s own paced publisher fell behind its schedule at worst (a busy event loop publishes late).'];
  return { text: text.join('\n'), summary: t.summary };
}

module.exports = { scenarioTable, idleGqlTable, stormGqlTable, topicsTable, FLOOR };
