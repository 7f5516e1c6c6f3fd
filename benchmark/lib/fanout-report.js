'use strict';
/**
 * The fan-out table: per case (connections × subscriptions), one row per server with the
 * medians (and ranges over repetitions) of publish → last delivery, latency p50/p99 and
 * server CPU per 1M delivered messages for R = 1 and R = 20, and each row's ratio to the
 * raw-socket floor on last delivery and CPU. A server that failed a run says so in its row.
 * @module benchmark/lib/fanout-report
 */

const { summarize, cell, table, count } = require('./report');

/** @param {{ key: string, label: string }[]} servers @param {any[]} runs */
function fanoutTable(servers, runs) {
  const fan = runs.filter((r) => r.scenario === 'fanout');
  const cases = [...new Map(fan.map((r) => [`${r.case.conns}×${r.case.subs}`, r.case])).values()];
  const out = [];
  for (const c of cases) {
    const key = `${c.conns}×${c.subs}`;
    const of = (s) => fan.filter((r) => r.server === s.key && `${r.case.conns}×${r.case.subs}` === key);
    const fig = (s, i, f) => summarize(of(s).filter((r) => r.result).map((r) => f(r.result.bursts[i])));
    const floor = servers.find((s) => s.key === 'floor');
    const ratio = (s, i, f) => {
      const a = fig(s, i, f)?.median;
      const b = floor ? fig(floor, i, f)?.median : null;
      return a != null && b ? `${(a / b).toFixed(2)}×` : '—';
    };
    const rows = servers.map((s) => {
      const failed = of(s).filter((r) => r.error);
      if (failed.length && !of(s).some((r) => r.result)) return [s.label, `FAILED: ${failed[0].error.slice(0, 120)}`, '', '', '', '', '', '', ''];
      const i1 = 0;
      const i20 = c.bursts.indexOf(20);
      return [
        s.label + (failed.length ? ` (${failed.length} run(s) failed)` : ''),
        cell(fig(s, i1, (b) => b.lastMs), 1),
        cell(fig(s, i1, (b) => b.latency.p99), 1),
        cell(fig(s, i1, (b) => b.cpuPerM), 1),
        i20 >= 0 ? cell(fig(s, i20, (b) => b.lastMs), 1) : '—',
        i20 >= 0 ? cell(fig(s, i20, (b) => b.cpuPerM), 1) : '—',
        ratio(s, i1, (b) => b.lastMs),
        ratio(s, i1, (b) => b.cpuPerM),
        i20 >= 0 ? ratio(s, i20, (b) => b.cpuPerM) : '—',
      ];
    });
    out.push(`fan-out ${count(c.conns)} connections × ${c.subs} subscription(s) = ${count(c.conns * c.subs)} deliveries per publish, ${c.body}-byte bodies:`);
    out.push(table(['server', 'R=1 last ms', 'R=1 p99 ms', 'R=1 CPU s/1M', 'R=20 last ms', 'R=20 CPU s/1M',
      '÷floor last (R=1)', '÷floor CPU (R=1)', '÷floor CPU (R=20)'], rows));
    out.push('');
  }
  if (cases.length) {
    out.push('last ms: publish → last subscriber\'s delivery (per event, the slowest of the burst); p99 over every delivery;');
    out.push('CPU s/1M: server user+sys seconds per million delivered messages; ÷floor: this row over the raw-socket floor.');
  }
  return out.join('\n');
}

module.exports = { fanoutTable };
