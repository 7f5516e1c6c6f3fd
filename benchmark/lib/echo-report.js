'use strict';
/**
 * The echo transport's section of the output (`idle` and `storm` on subwire's bare
 * listener and on ws): per server the medians of RSS and kernel socket memory per idle
 * connection and of upgrades/s, the ws ÷ subwire ratio row, and a details table (smaps,
 * V8 heap, slab, storm p99 and server CPU, failed connections).
 * @module benchmark/lib/echo-report
 */

const { summarize, mainTable, table, num, count } = require('./report');

/**
 * @param {{ key: string, label: string }[]} servers the servers that ran idle/storm
 * @param {any[]} runs every run @param {{ idle: number[], storm: number, concurrency: number }} opts
 * @returns {{ text: string, summary: Record<string, Record<string, any>>, errors: any[] }}
 */
function echoReport(servers, runs, opts) {
  /** @type {Record<string, Record<string, any>>} */
  const summary = {};
  const lastStep = (r, n) => r.result?.steps?.find((s) => s.target === n);
  const top = opts.idle[opts.idle.length - 1];
  for (const s of servers) {
    const mine = runs.filter((r) => r.server === s.key && r.result);
    const idles = mine.filter((r) => r.scenario === 'idle');
    const storms = mine.filter((r) => r.scenario === 'storm');
    summary[s.key] = {
      ...Object.fromEntries(opts.idle.map((n) => [`rss@${n}`, summarize(idles.map((r) => lastStep(r, n)?.perConn.rssKiB))])),
      kernel: summarize(idles.map((r) => lastStep(r, top)?.perConn.kernelSockKiB)),
      rate: summarize(storms.map((r) => r.result.rate)),
      anonTop: summarize(idles.map((r) => lastStep(r, top)?.perConn.anonKiB)),
      pssTop: summarize(idles.map((r) => lastStep(r, top)?.perConn.pssKiB)),
      heapTop: summarize(idles.map((r) => lastStep(r, top)?.perConn.heapKiB)),
      slabTop: summarize(idles.map((r) => lastStep(r, top)?.perConn.kernelSlabKiB)),
      p99: summarize(storms.map((r) => r.result.handshakeP99Ms)),
      serverCpu: summarize(storms.map((r) => (100 * r.result.serverCpuS) / (r.result.ms / 1000))),
      failed: idles.reduce((a, r) => a + r.result.steps.reduce((x, st) => x + st.failed, 0), 0) +
        storms.reduce((a, r) => a + r.result.failed, 0),
    };
  }
  const t = count(top);
  const detail = table(
    ['server', `smaps Anonymous KiB/conn @${t}`, `smaps Pss KiB/conn @${t}`, `V8 heapUsed KiB/conn @${t}`,
      `slab KiB/conn @${t} (both ends)`, 'storm handshake p99 ms', 'storm server CPU %', 'failed conns'],
    servers.map((s) => {
      const m = summary[s.key];
      const f = (x, d) => (x ? num(x.median, d) : '—');
      return [s.label, f(m.anonTop, 2), f(m.pssTop, 2), f(m.heapTop, 2), f(m.slabTop, 2), f(m.p99, 1), f(m.serverCpu, 0), String(m.failed)];
    }),
  );
  const errors = runs.filter((r) => ['idle', 'storm'].includes(r.scenario) && (r.error || r.result?.failure));
  const text = [
    'idle connections + connect storm (echo transport):',
    mainTable(servers, summary, opts.idle),
    '',
    'details (medians):',
    detail,
    '',
    'RSS: server VmRSS growth over a warmed-up baseline, divided by connections held (userland + V8).',
    'kernel sock: /proc/net/sockstat TCP mem pages growth × page size / connections (system-wide: both ends are on this box).',
    `upgrades/s: ${opts.storm} connections from 2 loadgen processes, ${opts.concurrency} handshakes in flight each.`,
    ...errors.map((e) => `ERROR ${e.server} ${e.scenario} rep ${e.rep + 1}: ${e.error || e.result.failure}`),
  ];
  return { text: text.join('\n'), summary, errors };
}

module.exports = { echoReport };
