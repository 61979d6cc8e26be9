/** The report's charts as inline SVG strings, drawn from the view model. Pure. */
import { escapeHtml } from './escape.js';
import type { EffectRow, TimelinePoint, TimelineRole } from './model.js';

const WIDTH = 920;

/** About `count` round tick values covering [lo, hi]. */
export function niceTicks(lo: number, hi: number, count = 5): number[] {
  if (!(hi > lo)) return [lo];
  const raw = (hi - lo) / count;
  const magnitude = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * magnitude).find((s) => s >= raw) ?? raw;
  const ticks: number[] = [];
  for (let v = Math.ceil(lo / step) * step; v <= hi + step * 1e-9; v += step) ticks.push(Number(v.toPrecision(12)));
  return ticks;
}

export function scale(d0: number, d1: number, r0: number, r1: number): (v: number) => number {
  const span = d1 - d0 || 1;
  return (v) => r0 + ((v - d0) / span) * (r1 - r0);
}

const f = (n: number): string => n.toFixed(1);

export function pct(x: number, digits = 2): string {
  return `${x >= 0 ? '+' : ''}${(x * 100).toFixed(digits)}%`;
}

export function formatNumber(x: number): string {
  return Math.abs(x) >= 100 ? x.toFixed(0) : Math.abs(x) >= 1 ? x.toFixed(2) : x.toPrecision(3);
}

function interval(row: EffectRow): string {
  return row.low !== null && row.high !== null ? ` [${pct(row.low)}, ${pct(row.high)}]` : '';
}

/**
 * One horizontal bar per operator trial (effect vs baseline), with whiskers where the
 * policy stored an interval and the baseline's run-to-run band (±2 s.d.) shaded around zero.
 */
export function effectChart(rows: readonly EffectRow[], baselineRelSd: number | null): string {
  const rowH = 20;
  const top = 28;
  // Room for the longest label (12px text, about 7.5px a character; bold for chosen rows).
  const longest = Math.max(0, ...rows.map((r) => r.label.length + (r.chosen ? 2 : 0)));
  const left = Math.round(Math.min(460, Math.max(140, 16 + longest * 7.5)));
  const right = WIDTH - 24;
  const height = top + rows.length * rowH + 30;
  const band = baselineRelSd === null ? null : 2 * baselineRelSd;
  const values = rows.flatMap((r) => [r.estimate, r.low, r.high]).filter((v): v is number => v !== null);
  const lo = Math.min(0, ...values, band === null ? 0 : -band);
  const hi = Math.max(0, ...values, band === null ? 0 : band);
  const pad = (hi - lo) * 0.05 || 0.01;
  const x = scale(lo - pad, hi + pad, left, right);
  const parts: string[] = [];
  const ticks = niceTicks(lo - pad, hi + pad, 6);
  for (const t of ticks) {
    parts.push(`<line class="grid" x1="${f(x(t))}" x2="${f(x(t))}" y1="${top - 6}" y2="${height - 24}"/>`);
    parts.push(`<text class="tick" x="${f(x(t))}" y="${height - 8}" text-anchor="middle">${escapeHtml(pct(t, 1))}</text>`);
  }
  if (band !== null) {
    parts.push(
      `<rect class="noise-band" x="${f(x(-band))}" y="${top - 6}" width="${f(x(band) - x(-band))}" height="${rows.length * rowH + 6}"><title>baseline run-to-run band: ±${escapeHtml(pct(band).slice(1))} (2 s.d.)</title></rect>`,
    );
  }
  parts.push(`<line class="zero" x1="${f(x(0))}" x2="${f(x(0))}" y1="${top - 10}" y2="${height - 24}"/>`);
  parts.push(`<text class="axis-title" x="${left}" y="14">effect vs baseline</text>`);
  rows.forEach((row, i) => {
    const y = top + i * rowH;
    const mid = y + rowH / 2;
    const name = `${row.label}${row.chosen ? ' ✓' : ''}`;
    parts.push(`<text class="label${row.chosen ? ' chosen' : ''}" x="${left - 8}" y="${f(mid + 4)}" text-anchor="end">${escapeHtml(name)}</text>`);
    if (row.estimate === null) {
      parts.push(`<text class="effect-missing" x="${f(x(0) + 6)}" y="${f(mid + 4)}">no result<title>${escapeHtml(`${row.label}: no result in ${row.runs} run(s)`)}</title></text>`);
      return;
    }
    const x0 = Math.min(x(0), x(row.estimate));
    const w = Math.max(1, Math.abs(x(row.estimate) - x(0)));
    const cls = `effect-bar ${row.chosen ? 'chosen' : row.estimate >= 0 ? 'up' : 'down'}`;
    const tip = `${row.label}: ${pct(row.estimate)}${interval(row)}, ${row.runs} run(s)${row.verdict === null ? '' : `, ${row.verdict}`}`;
    parts.push(`<rect class="${cls}" x="${f(x0)}" y="${f(y + 4)}" width="${f(w)}" height="${rowH - 8}"><title>${escapeHtml(tip)}</title></rect>`);
    if (row.low !== null && row.high !== null) {
      const [a, b] = [x(row.low), x(row.high)];
      parts.push(`<g class="whisker"><line x1="${f(a)}" x2="${f(b)}" y1="${f(mid)}" y2="${f(mid)}"/><line x1="${f(a)}" x2="${f(a)}" y1="${f(mid - 5)}" y2="${f(mid + 5)}"/><line x1="${f(b)}" x2="${f(b)}" y1="${f(mid - 5)}" y2="${f(mid + 5)}"/></g>`);
    }
  });
  return `<svg class="chart effects" role="img" aria-label="operator effects" xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${height}" viewBox="0 0 ${WIDTH} ${height}">${parts.join('')}</svg>`;
}

const ROLE_NAMES: Readonly<Record<TimelineRole, string>> = {
  baseline: 'baseline / anchor',
  gems: 'FlagGems baselines',
  operator: 'operator trial',
  combined: 'combined set',
  configuration: 'configuration',
};

/**
 * Every finished run: the metric against time since the session started. Warm-ups are hollow,
 * failed runs are crosses on the floor, slow runs (over 2x the median) are ringed.
 */
export function timelineChart(points: readonly TimelinePoint[], baseline: number | null, metricLabel: string): string {
  const height = 320;
  const left = 70;
  const right = WIDTH - 20;
  const top = 34;
  const bottom = height - 40;
  const shown = points.filter((p) => p.outcome !== 'running');
  const values = shown.map((p) => p.value).filter((v): v is number => v !== null);
  const vlo = values.length === 0 ? 0 : Math.min(...values, baseline ?? Infinity);
  const vhi = values.length === 0 ? 1 : Math.max(...values, baseline ?? -Infinity);
  const vpad = (vhi - vlo) * 0.08 || Math.abs(vhi) * 0.01 || 1;
  const tMax = Math.max(1e-3, ...shown.map((p) => p.atSec + (p.durationSec ?? 0)));
  const x = scale(0, tMax, left, right);
  const y = scale(vlo - vpad, vhi + vpad, bottom, top);
  const parts: string[] = [];
  for (const t of niceTicks(vlo - vpad, vhi + vpad, 5)) {
    parts.push(`<line class="grid" x1="${left}" x2="${right}" y1="${f(y(t))}" y2="${f(y(t))}"/>`);
    parts.push(`<text class="tick" x="${left - 6}" y="${f(y(t) + 4)}" text-anchor="end">${escapeHtml(formatNumber(t))}</text>`);
  }
  const minutes = tMax >= 180;
  for (const t of niceTicks(0, minutes ? tMax / 60 : tMax, 8)) {
    const at = minutes ? t * 60 : t;
    parts.push(`<text class="tick" x="${f(x(at))}" y="${bottom + 16}" text-anchor="middle">${escapeHtml(formatNumber(t))}</text>`);
  }
  parts.push(`<line class="axis" x1="${left}" x2="${right}" y1="${bottom}" y2="${bottom}"/>`);
  parts.push(`<text class="axis-title" x="${f((left + right) / 2)}" y="${height - 6}" text-anchor="middle">${minutes ? 'minutes' : 'seconds'} since start</text>`);
  parts.push(`<text class="axis-title" x="${left}" y="16">${escapeHtml(metricLabel)}</text>`);
  if (baseline !== null) {
    parts.push(`<line class="baseline-line" x1="${left}" x2="${right}" y1="${f(y(baseline))}" y2="${f(y(baseline))}"><title>baseline ${escapeHtml(formatNumber(baseline))}</title></line>`);
  }
  for (const p of shown) {
    const cx = x(p.atSec);
    const tip = `#${p.seq} ${p.label} ${p.kind}: ${p.value === null ? p.outcome : formatNumber(p.value)}${p.durationSec === null ? '' : `, ${p.durationSec.toFixed(1)} s`}`;
    if (p.value === null) {
      const cy = bottom - 6;
      parts.push(`<path class="run-failed" d="M${f(cx - 4)},${f(cy - 4)}L${f(cx + 4)},${f(cy + 4)}M${f(cx - 4)},${f(cy + 4)}L${f(cx + 4)},${f(cy - 4)}"><title>${escapeHtml(tip)}</title></path>`);
      continue;
    }
    const cls = `run-point role-${p.role}${p.kind === 'warmup' ? ' warmup' : ''}`;
    if (p.slow) parts.push(`<circle class="slow-ring" cx="${f(cx)}" cy="${f(y(p.value))}" r="7"/>`);
    parts.push(`<circle class="${cls}" cx="${f(cx)}" cy="${f(y(p.value))}" r="3.5"><title>${escapeHtml(tip)}</title></circle>`);
  }
  // Only the roles this session's trials have: a grid's points are no FlagGems stage.
  const roles = new Set(points.map((p) => p.role));
  const legend = (Object.keys(ROLE_NAMES) as TimelineRole[]).filter((role) => roles.has(role)).map((role, i) => {
    const lx = left + 10 + i * 150;
    return `<circle class="run-legend role-${role}" cx="${lx}" cy="26" r="4"/><text class="legend" x="${lx + 8}" y="30">${escapeHtml(ROLE_NAMES[role])}</text>`;
  });
  legend.push(`<text class="legend" x="${left + 610}" y="30">○ warm-up  × failed  ◎ slow</text>`);
  return `<svg class="chart timeline" role="img" aria-label="run timeline" xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${height}" viewBox="0 0 ${WIDTH} ${height}">${parts.join('')}${legend.join('')}</svg>`;
}
