'use strict';
/**
 * The results chart (benchmark/results/latest.svg), hand-written SVG, no dependencies:
 * horizontal bar panels, one row per server, from the run's medians over clean repetitions:
 * fan-out publish → last delivery and server CPU per delivered message as ratios to the
 * raw-socket floor (R = 1 and R = 20 side by side, the largest fan-out case run), RSS KiB per
 * idle subscribed connection, many-topics CPU per delivered message ÷ floor, and the
 * GraphQL storm's subscribed/s. Ratio and memory panels use a log scale (the values span
 * two orders of magnitude); a server whose runs all failed shows FAILED instead of a bar.
 * The caption names the machine, the date and the command.
 * @module benchmark/lib/chart
 */

const { summarize } = require('./report');

const W = 1040;
const LABEL_X = 262; // server labels end here
const BAR_X = 272; // bars start here
const BAR_W = 560; // longest bar
const ROW = 16; // one bar's height + gap
const COLORS = { floor: ['#2f855a', '#9ae6b4'], subwire: ['#2b6cb0', '#90cdf4'], peer: ['#c05621', '#fbd38d'] };

const esc = (s) => String(s).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
const kindOf = (key) => (key === 'floor' ? 'floor' : key.startsWith('subwire') ? 'subwire' : 'peer');
const TICKS = [0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000, 20000, 50000, 100000];

/** An axis label: no trailing zeros. */
const tick = (t) => (t >= 1000 ? Math.round(t).toLocaleString('en-US') : String(Number(t.toPrecision(3))));

function fmt(v) {
  if (v >= 1000) return Math.round(v).toLocaleString('en-US');
  if (v >= 100) return v.toFixed(0);
  if (v >= 10) return v.toFixed(1);
  return v.toFixed(2);
}

/**
 * One panel. rows: { label, key, values: (number | null)[], failed: boolean }; series: the
 * legend of each value. Returns { svg, height }.
 * @param {{ title: string, rows: any[], series: string[], log: boolean, unit: string, refLine?: number }} p
 */
function panel(p, y0) {
  const vals = p.rows.flatMap((r) => r.values).filter((v) => v != null && v > 0);
  const out = [`<text x="20" y="${y0 + 16}" class="h">${esc(p.title)}</text>`];
  let y = y0 + (p.series.length > 1 ? 44 : 28);
  if (!vals.length) {
    out.push(`<text x="${BAR_X}" y="${y + 12}" class="n">no data in this run</text>`);
    return { svg: out.join('\n'), height: 50 };
  }
  let lo;
  let hi;
  if (p.log) {
    // one step below the smallest value, so that the smallest bar (the floor's 1×) shows
    lo = [...TICKS].reverse().find((t) => t <= Math.min(...vals, p.refLine ?? Infinity) / 1.4) ?? TICKS[0];
    hi = TICKS.find((t) => t >= Math.max(...vals)) ?? Math.max(...vals);
    if (hi <= lo) hi = lo * 10;
  } else {
    lo = 0;
    const mx = Math.max(...vals);
    const mag = 10 ** Math.floor(Math.log10(mx));
    hi = Math.ceil(mx / mag) * mag;
  }
  const x = (v) => BAR_X + (p.log ? (Math.log(v / lo) / Math.log(hi / lo)) : v / hi) * BAR_W;
  // legend
  if (p.series.length > 1) {
    p.series.forEach((s, i) => {
      const lx = BAR_X + i * 130;
      out.push(`<rect x="${lx}" y="${y0 + 24}" width="10" height="10" fill="${COLORS.subwire[i]}"/><text x="${lx + 14}" y="${y0 + 33}" class="n">${esc(s)}</text>`);
    });
  }
  const top = y;
  const rowH = ROW * Math.max(1, p.series.length);
  const bottom = top + p.rows.length * (rowH + 6);
  // grid first (ticks, and the reference line: 1× = the floor), bars over it
  let ticks = p.log ? TICKS.filter((t) => t >= lo && t <= hi) : Array.from({ length: 6 }, (_, i) => (hi * i) / 5);
  if (ticks.length > 9) ticks = ticks.filter((t) => /^1(0*|\.0*)$|^0\.0*1$/.test(String(t)));
  for (const t of ticks) {
    const tx = x(t).toFixed(1);
    out.push(`<line x1="${tx}" y1="${top - 2}" x2="${tx}" y2="${bottom}" class="g"/><text x="${tx}" y="${bottom + 12}" class="t" text-anchor="middle">${tick(t)}${p.unit}</text>`);
  }
  if (p.refLine != null && p.refLine >= lo && p.refLine <= hi) {
    const rx = x(p.refLine).toFixed(1);
    out.push(`<line x1="${rx}" y1="${top - 2}" x2="${rx}" y2="${bottom}" class="r"/>`);
  }
  for (const r of p.rows) {
    const c = COLORS[kindOf(r.key)];
    const h = rowH;
    out.push(`<text x="${LABEL_X}" y="${y + h / 2 + 4}" class="l" text-anchor="end">${esc(r.label)}</text>`);
    if (r.failed && r.values.every((v) => v == null)) {
      out.push(`<text x="${BAR_X + 4}" y="${y + h / 2 + 4}" class="f">FAILED${r.why ? ` (${esc(r.why.slice(0, 70))})` : ''}</text>`);
    } else {
      r.values.forEach((v, i) => {
        const by = y + i * ROW;
        if (v == null || !(v > 0)) {
          out.push(`<text x="${BAR_X + 4}" y="${by + 11}" class="n">—</text>`);
          return;
        }
        const w = Math.max(1, x(v) - BAR_X);
        out.push(`<rect x="${BAR_X}" y="${by + 1}" width="${w.toFixed(1)}" height="${ROW - 3}" fill="${c[i] || c[0]}"/>`);
        const note = r.failed && i === r.values.length - 1 ? `  <tspan class="fs">${r.failedRuns} runs FAILED</tspan>` : '';
        out.push(`<text x="${(BAR_X + w + 4).toFixed(1)}" y="${by + 11}" class="v">${fmt(v)}${p.unit}${note}</text>`);
      });
    }
    y += h + 6;
  }
  return { svg: out.join('\n'), height: y - y0 + 24 };
}

/** Median of figure `f` over a server's clean runs of one scenario/case. */
function med(runs, key, f) {
  return summarize(runs.filter((r) => r.server === key && r.result && !r.result.failure).map((r) => f(r.result)))?.median ?? null;
}

/** Rows for one scenario: per server the values from `fs` (each run → number), FAILED when no clean run. */
function rowsOf(servers, runs, fs) {
  return servers.filter((s) => runs.some((r) => r.server === s.key)).map((s) => {
    const mine = runs.filter((r) => r.server === s.key);
    const bad = mine.filter((r) => r.error || r.result?.failure);
    return { key: s.key, label: s.label, values: fs.map((f) => med(runs, s.key, f)), failed: bad.length > 0,
      failedRuns: `${bad.length}/${mine.length}`, why: bad.length ? bad[0].error || bad[0].result.failure : null };
  });
}

/** Divides each row's values by the floor row's (same index); the floor row becomes 1×. */
function overFloor(rows) {
  const floor = rows.find((r) => r.key === 'floor');
  if (!floor) return null;
  return rows.map((r) => ({ ...r, values: r.values.map((v, i) => (v != null && floor.values[i] ? v / floor.values[i] : null)) }));
}

/**
 * @param {{ servers: any[], runs: any[], machine: any, command: string, date: string, idleTop: number }} d
 * @returns {string} the SVG document
 */
function chart(d) {
  const panels = [];
  const fan = d.runs.filter((r) => r.scenario === 'fanout' && r.case);
  if (fan.length) {
    const big = fan.map((r) => r.case).sort((a, b) => b.conns * b.subs - a.conns * a.subs || b.conns - a.conns)[0];
    const runs = fan.filter((r) => r.case.conns === big.conns && r.case.subs === big.subs);
    const caseName = `${big.conns.toLocaleString('en-US')} connections × ${big.subs}`;
    const series = big.bursts.map((R) => `burst R = ${R}`);
    const last = overFloor(rowsOf(d.servers, runs, big.bursts.map((_, i) => (res) => res.bursts[i]?.lastMs)));
    const cpu = overFloor(rowsOf(d.servers, runs, big.bursts.map((_, i) => (res) => res.bursts[i]?.cpuPerM)));
    if (last) panels.push({ title: `Fan-out, ${caseName}: publish → last delivery, × the floor (lower is better)`, rows: last, series, log: true, unit: '×', refLine: 1 });
    if (cpu) panels.push({ title: `Fan-out, ${caseName}: server CPU per delivered message, × the floor (lower is better)`, rows: cpu, series, log: true, unit: '×', refLine: 1 });
  }
  const idle = d.runs.filter((r) => r.scenario === 'idle-gql');
  if (idle.length) {
    const rows = rowsOf(d.servers, idle, [(res) => res.steps?.find((s) => s.target === d.idleTop)?.perConn.rssKiB]);
    panels.push({ title: `Idle subscribed connections (${d.idleTop.toLocaleString('en-US')} held): server RSS KiB per connection, incl. V8 heap (lower is better)`,
      rows, series: ['RSS'], log: true, unit: ' KiB' });
  }
  const topics = d.runs.filter((r) => r.scenario === 'topics');
  if (topics.length) {
    const c = topics[0].case;
    const rows = overFloor(rowsOf(d.servers, topics.filter((r) => JSON.stringify(r.case) === JSON.stringify(c)), [(res) => res.cpuPerM]));
    if (rows) panels.push({ title: `Many topics (${c.conns.toLocaleString('en-US')} subscribers / ${c.topics} topics, ${c.rate}/s): CPU per delivered message, × the floor`, rows, series: ['CPU'], log: true, unit: '×', refLine: 1 });
  }
  const storm = d.runs.filter((r) => r.scenario === 'storm-gql');
  if (storm.length) {
    panels.push({ title: 'Connect storm with connection_init + subscribe: subscribed clients per second (higher is better)',
      rows: rowsOf(d.servers, storm, [(res) => res.rate]), series: ['subscribed/s'], log: false, unit: '' });
  }
  const m = d.machine;
  const head = `<text x="20" y="28" class="T">subwire benchmark: GraphQL subscriptions over WebSocket, side by side</text>` +
    `<text x="20" y="46" class="n">bars: medians over clean repetitions (a failed run is left out and counted in red); blue = subwire, orange = graphql-ws / subscriptions-transport-ws on ws, green = raw-socket floor (Rust, epoll + writev)</text>`;
  const body = [];
  let y = 60;
  for (const p of panels) {
    const r = panel(p, y);
    body.push(r.svg);
    y += r.height + 8;
  }
  const caption = [
    `machine: ${m.cores} cores (${m.cpuModel}), ${(m.ramMiB / 1024).toFixed(1)} GiB RAM, ${m.kernel}; Node ${m.node}; ws ${m.packages?.ws}, graphql-ws ${m.packages?.['graphql-ws']}, graphql ${m.packages?.graphql}; git ${m.git}`,
    `date: ${d.date}; command: ${d.command}`,
    'loopback only: server, load generators and the kernel share the cores. Details and method: benchmark/README.md',
  ];
  caption.forEach((c, i) => body.push(`<text x="20" y="${y + 14 + i * 15}" class="c">${esc(c)}</text>`));
  const h = y + 14 + caption.length * 15 + 10;
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${h}" viewBox="0 0 ${W} ${h}" font-family="Helvetica, Arial, sans-serif">
<style>
.T{font-size:17px;font-weight:bold;fill:#1a202c}.h{font-size:13px;font-weight:bold;fill:#1a202c}.l{font-size:12px;fill:#2d3748}
.v{font-size:11px;fill:#2d3748}.t{font-size:10px;fill:#718096}.n{font-size:11px;fill:#4a5568}.c{font-size:11px;fill:#4a5568}
.f{font-size:12px;font-weight:bold;fill:#c53030}.fs{font-size:11px;font-weight:bold;fill:#c53030}.g{stroke:#e2e8f0;stroke-width:1}.r{stroke:#2f855a;stroke-width:1.5;stroke-dasharray:4 3}
</style>
<rect width="100%" height="100%" fill="#ffffff"/>
${head}
${body.join('\n')}
</svg>
`;
}

module.exports = { chart };
