'use strict';
/**
 * Turning runs into figures: medians with ranges over repetitions, the server × figure table
 * (plain text, pipe-separated so it pastes into Markdown) and the ws/subwire ratio row.
 * @module benchmark/lib/report
 */

/** @param {number[]} xs */
function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** { median, min, max, values } of the finite numbers in `xs`, or null if there are none. */
function summarize(xs) {
  const v = xs.filter((x) => typeof x === 'number' && Number.isFinite(x));
  if (!v.length) return null;
  return { median: median(v), min: Math.min(...v), max: Math.max(...v), values: v };
}

/** Formats a number with `digits` decimals (thousands separators for large ones). */
function num(x, digits) {
  if (x == null || !Number.isFinite(x)) return '—';
  if (Math.abs(x) >= 1000) return Math.round(x).toLocaleString('en-US');
  return x.toFixed(digits);
}

/** A summary cell: the median, and the range when there were several runs. */
function cell(s, digits) {
  if (!s) return '—';
  if (s.values.length < 2) return num(s.median, digits);
  return `${num(s.median, digits)} (${num(s.min, digits)}–${num(s.max, digits)})`;
}

/** Renders rows (arrays of strings) under headers as an aligned pipe table. */
function table(headers, rows) {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => String(r[i]).length)));
  const line = (r) => `| ${r.map((c, i) => (i === 0 ? String(c).padEnd(widths[i]) : String(c).padStart(widths[i]))).join(' | ')} |`;
  const sep = `|${widths.map((w, i) => (i === 0 ? `:${'-'.repeat(w + 1)}` : `${'-'.repeat(w + 1)}:`)).join('|')}|`;
  return [line(headers), sep, ...rows.map(line)].join('\n');
}

/** `10000` → `10k`. */
const count = (n) => (n % 1000 === 0 ? `${n / 1000}k` : String(n));

/** The figures of the main table for these idle steps, each with its decimals. */
function figures(idleSteps) {
  return [
    ...idleSteps.map((n) => ({ key: `rss@${n}`, header: `RSS KiB/conn @${count(n)}`, digits: 2 })),
    // Near zero for idle sockets and quantized by the kernel: a ratio would be noise.
    { key: 'kernel', header: `kernel sock KiB/conn @${count(idleSteps[idleSteps.length - 1])}`, digits: 2, noRatio: true },
    { key: 'rate', header: 'upgrades/s', digits: 0 },
  ];
}

/**
 * @param {{ key: string, label: string }[]} servers
 * @param {Record<string, Record<string, ReturnType<typeof summarize>>>} summary server → figure → summary
 * @param {number[]} idleSteps
 * @param {string} [baseline] the subwire row the ratio divides by
 */
function mainTable(servers, summary, idleSteps, baseline = 'subwire-reuseport') {
  const figs = figures(idleSteps);
  const rows = servers.map((s) => [s.label, ...figs.map((f) => cell(summary[s.key]?.[f.key], f.digits))]);
  const base = summary[baseline];
  const ws = summary.ws;
  if (base && ws) {
    rows.push([`ratio ws / ${baseline}`, ...figs.map((f) => {
      const a = ws[f.key]?.median;
      const b = base[f.key]?.median;
      return !f.noRatio && a != null && b ? `${(a / b).toFixed(2)}×` : '—';
    })]);
  }
  return table(['server', ...figs.map((f) => f.header)], rows);
}

module.exports = { median, summarize, num, cell, table, mainTable, figures, count };
