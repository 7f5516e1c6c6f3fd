'use strict';
/**
 * The fan-out table: per case (connections × subscriptions), one row per server and burst
 * size R with delivered/expected (summed over repetitions), the medians (with ranges over
 * repetitions) of publish → last delivery, per-message latency p50/p99/max and server CPU
 * per 1M delivered messages, and the ratio of each median to the raw-socket floor's.
 *
 * Figures come from clean runs only (everything delivered exactly once, in order). A server
 * whose run failed (set-up, loss, stall, timeout, crash) says FAILED in its row and the
 * reason below the table; it is never left out.
 * @module benchmark/lib/fanout-report
 */

const { summarize, cell, table, count } = require('./report');

const FLOOR = 'floor';
const CHAT_REF = 'chat-graphql-ws';

/**
 * @param {{ key: string, label: string }[]} servers @param {any[]} runs
 * @param {'fanout' | 'chat'} [scenario] chat: the ratios are to graphql-ws's row, and the
 *   database's batch calls per event are shown
 */
function fanoutTable(servers, runs, scenario = 'fanout') {
  const REF = scenario === 'chat' ? CHAT_REF : FLOOR;
  const refName = scenario === 'chat' ? 'graphql-ws' : 'floor';
  const fan = runs.filter((r) => r.scenario === scenario);
  const caseKey = (c) => `${c.conns}×${c.subs}`;
  const cases = [...new Map(fan.map((r) => [caseKey(r.case), r.case])).values()];
  const out = [];
  for (const c of cases) {
    const of = (s) => fan.filter((r) => r.server === s.key && caseKey(r.case) === caseKey(c));
    const clean = (s) => of(s).filter((r) => r.result && !r.result.failure);
    /** Summary of figure `f` of burst `i` over the clean runs of server `s`. */
    const fig = (s, i, f) => summarize(clean(s).map((r) => r.result.bursts[i]).filter(Boolean).map(f));
    const floor = servers.find((s) => s.key === REF);
    const ratio = (s, i, f) => {
      const a = fig(s, i, f)?.median;
      const b = floor ? fig(floor, i, f)?.median : null;
      return a != null && b ? `${(a / b).toFixed(2)}×` : '—';
    };
    const rows = [];
    const notes = [];
    for (const s of servers) {
      const mine = of(s);
      if (!mine.length) continue;
      for (const r of mine) {
        const why = r.error || r.result?.failure;
        if (why) notes.push(`${s.label}, rep ${r.rep + 1}: ${why}`);
      }
      const failed = mine.filter((r) => r.error || r.result?.failure).length;
      const flag = failed ? ` FAILED${mine.length > 1 ? ` ${failed}/${mine.length}` : ''}` : '';
      c.bursts.forEach((R, i) => {
        const bs = mine.map((r) => r.result?.bursts?.[i]).filter(Boolean);
        const delivered = bs.reduce((a, b) => a + b.delivered, 0);
        const expected = bs.reduce((a, b) => a + b.expected, 0);
        rows.push([
          i === 0 ? s.label : '',
          String(R),
          bs.length ? `${delivered.toLocaleString('en-US')}/${expected.toLocaleString('en-US')}${flag}` : `FAILED${flag.slice(7)}`,
          cell(fig(s, i, (b) => b.lastMs), 1),
          cell(fig(s, i, (b) => b.latency.p50), 1),
          cell(fig(s, i, (b) => b.latency.p99), 1),
          cell(fig(s, i, (b) => b.latency.max), 1),
          cell(fig(s, i, (b) => b.cpuPerM), 1),
          ratio(s, i, (b) => b.lastMs),
          ratio(s, i, (b) => b.cpuPerM),
          ...(scenario === 'chat' ? [i === 0 ? cell(summarize(clean(s).map((r) => r.result.dbCallsPerEvent).filter((x) => x != null)), 2) : ''] : []),
        ]);
      });
    }
    out.push(`${scenario === 'chat' ? 'chat (author through a DataLoader over a 1 ms database, viewerCanEdit per subscriber)' : 'fan-out'} ` +
      `${count(c.conns)} connections × ${c.subs} subscription(s) = ${count(c.conns * c.subs)} deliveries per publish, ` +
      `${c.body}-byte bodies, bursts of R publishes:`);
    out.push(table(['server', 'R', 'delivered/expected', 'last ms', 'p50 ms', 'p99 ms', 'max ms', 'CPU s/1M', `÷${refName} last`, `÷${refName} CPU`,
      ...(scenario === 'chat' ? ['DB calls/event'] : [])], rows));
    for (const n of notes) out.push(`  FAILED ${n.length > 400 ? `${n.slice(0, 400)}…` : n}`);
    out.push('');
  }
  if (cases.length) {
    out.push('Each burst size is measured several times (--samples). last ms: the burst\'s first publish (sentAt) → the last delivery');
    out.push('of any of its events, median over the samples; p50/p99: per-message latency (delivery − sentAt) over all their messages;');
    out.push('max: median over the samples; CPU s/1M: server user+sys seconds (/proc/<pid>/stat) of all samples per million delivered;');
    out.push(`÷${refName}: this row's median over the ${scenario === 'chat' ? 'graphql-ws row\'s' : 'raw-socket floor\'s'}. Figures are from clean runs only (all delivered exactly once, in order).`);
    if (scenario === 'chat') out.push('DB calls/event: the fake database\'s batch calls over every publish of the run (warm-ups included).');
  }
  return out.join('\n');
}

module.exports = { fanoutTable };
