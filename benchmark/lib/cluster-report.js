'use strict';
/**
 * The cluster table (run.js, after `--scenarios cluster`): per total connection count, one
 * row per server × processes P × burst size R with delivered/expected (summed over
 * repetitions), the medians (ranges over repetitions) of publish → last delivery across all
 * processes, p50/p99 latency, the longest event-loop stall in any server process, CPU
 * seconds per 1M delivered of all server processes and of redis-server apart, RSS KiB per
 * connection over all processes, and the row's CPU per 1M ÷ its own P = 1 figure at the same
 * total (servers alone, and with redis-server's). Figures come from clean runs only; a
 * failed run says FAILED in its row with the reason below. Also returns the summaries for
 * the JSON: total → server → P → R → figure → { median, min, max, values }.
 * @module benchmark/lib/cluster-report
 */

const { summarize, cell, table, count } = require('./report');

/** Labels in this table: the rows run with a broker. */
const LABELS = { 'graphql-ws': 'graphql-ws on ws + RedisPubSub' };

/** The figures per burst, each with how it reads from a merged burst and its decimals. */
const FIGURES = [
  { key: 'lastMs', get: (b) => b.lastMs, digits: 1 },
  { key: 'p50', get: (b) => b.latency.p50, digits: 1 },
  { key: 'p99', get: (b) => b.latency.p99, digits: 1 },
  { key: 'stallMs', get: (b) => b.stallMs, digits: 1 },
  // CPU at ns resolution (schedstat): a burst to a few thousand clients is a few 10 ms ticks,
  // and Redis's share of one is far below a tick (the tick figures are in the JSON)
  { key: 'cpuPerM', get: (b) => b.schedCpuPerM, digits: 1 },
  // Redis's over its idle rate (lib/cluster.js)
  { key: 'redisCpuPerM', get: (b) => b.redisNetCpuPerM, digits: 2 },
  { key: 'redisUsPerWrite', get: (b) => b.redisUsPerWrite, digits: 1 },
  { key: 'allCpuPerM', get: (b) => (b.schedCpuPerM != null && b.redisNetCpuPerM != null ? b.schedCpuPerM + b.redisNetCpuPerM : null), digits: 1 },
];

/** @param {{ key: string, label: string }[]} servers @param {any[]} runs */
function clusterTable(servers, runs) {
  const mine = runs.filter((r) => r.scenario === 'cluster');
  const caseKey = (c) => `${c.total}x${c.procs}`;
  const cases = [...new Map(mine.map((r) => [caseKey(r.case), r.case])).values()];
  const totals = [...new Set(cases.map((c) => c.total))];
  /** @type {Record<string, any>} */
  const summary = {};
  const out = [];
  for (const total of totals) {
    const here = cases.filter((c) => c.total === total).sort((a, b) => a.procs - b.procs);
    const of = (s, c) => mine.filter((r) => r.server === s.key && caseKey(r.case) === caseKey(c));
    const clean = (s, c) => of(s, c).filter((r) => r.result && !r.result.failure);
    const fig = (s, c, i, f) => summarize(clean(s, c).map((r) => r.result.bursts[i]).filter(Boolean).map(f.get));
    const one = here.find((c) => c.procs === 1);
    const ratio = (s, c, i, f) => {
      const a = fig(s, c, i, f)?.median;
      const b = one ? fig(s, one, i, f)?.median : null;
      return a != null && b ? `${(a / b).toFixed(2)}×` : '—';
    };
    const byKey = Object.fromEntries(FIGURES.map((f) => [f.key, f]));
    const rows = [];
    const notes = [];
    summary[total] = {};
    for (const s of servers) {
      const any = here.some((c) => of(s, c).length);
      if (!any) continue;
      summary[total][s.key] = {};
      let firstRow = true;
      for (const c of here) {
        const runsHere = of(s, c);
        if (!runsHere.length) continue;
        for (const r of runsHere) {
          const why = r.error || r.result?.failure;
          if (why) notes.push(`${LABELS[s.key] || s.label}, ${count(total)} over ${c.procs}, rep ${r.rep + 1}: ${why}`);
        }
        const failed = runsHere.filter((r) => r.error || r.result?.failure).length;
        const flag = failed ? ` FAILED${runsHere.length > 1 ? ` ${failed}/${runsHere.length}` : ''}` : '';
        const rss = summarize(clean(s, c).map((r) => r.result.rss?.perConnKiB));
        summary[total][s.key][c.procs] = { rssKiB: rss };
        c.bursts.forEach((R, i) => {
          const bs = runsHere.map((r) => r.result?.bursts?.[i]).filter(Boolean);
          const delivered = bs.reduce((a, b) => a + b.delivered, 0);
          const expected = bs.reduce((a, b) => a + b.expected, 0);
          summary[total][s.key][c.procs][`R${R}`] = Object.fromEntries(FIGURES.map((f) => [f.key, fig(s, c, i, f)]));
          rows.push([
            firstRow ? LABELS[s.key] || s.label : '',
            i === 0 ? String(c.procs) : '',
            String(R),
            bs.length ? `${delivered.toLocaleString('en-US')}/${expected.toLocaleString('en-US')}${flag}` : `FAILED${flag.slice(7)}`,
            ...['lastMs', 'p50', 'p99', 'stallMs', 'cpuPerM', 'redisCpuPerM', 'redisUsPerWrite'].map((k) => cell(fig(s, c, i, byKey[k]), byKey[k].digits)),
            i === 0 ? cell(rss, 2) : '',
            ratio(s, c, i, byKey.cpuPerM),
            ratio(s, c, i, byKey.allCpuPerM),
          ]);
          firstRow = false;
        });
      }
    }
    out.push(`cluster: ${count(total)} connections split evenly over P server processes on one redis-server, 1 subscription each on one topic, ` +
      `bursts of R publishes from process 0, ${here[0].body}-byte bodies:`);
    out.push(table(['server', 'P', 'R', 'delivered/expected', 'last ms', 'p50 ms', 'p99 ms', 'loop stall ms', 'CPU s/1M',
      'redis CPU s/1M', 'redis µs/msg out', 'RSS KiB/conn', 'CPU ÷P=1', '+redis ÷P=1'], rows));
    for (const n of notes) out.push(`  FAILED ${n.length > 400 ? `${n.slice(0, 400)}…` : n}`);
    out.push('');
  }
  if (totals.length) {
    out.push('last ms: the burst\'s first publish (sentAt, stamped by process 0) → the last delivery in any process, median over the');
    out.push('samples; p50/p99: delivery − sentAt over all their messages; loop stall: the longest event-loop stall in any server process');
    out.push('during a burst (a 5 ms timer\'s lateness), the worst sample; CPU s/1M: CPU time of all server processes (schedstat,');
    out.push('every thread) from the first publish to the last delivery, all samples, per million delivered; redis CPU s/1M: redis-server\'s');
    out.push('apart, less its idle rate (its timers) over the same time; redis µs/msg out: the same per message it sent (publishes × P: each');
    out.push('goes to every process, the publisher\'s too); RSS KiB/conn: growth of all server processes\' RSS (settled) ÷ connections,');
    out.push('over a baseline before any client; CPU ÷P=1: CPU s/1M over the same row\'s at P = 1 and the same total (+redis: both');
    out.push('with redis-server\'s CPU added). Figures are from clean runs only (every event reached every subscription exactly once, in order).');
  }
  return { text: out.join('\n'), summary };
}

module.exports = { clusterTable };
