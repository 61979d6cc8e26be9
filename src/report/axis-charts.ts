/**
 * The charts of a session over workload or engine points, as inline SVG: the metric against
 * each axis (one line per combination of the other axes) and the Pareto chart of tokens/s per
 * user against tokens/s per GPU. Pure.
 */
import type { Axis, AxesView, AxisPoint, Coordinate } from './axes.js';
import { escapeHtml } from './escape.js';
import { formatNumber, niceTicks, scale } from './svg.js';

const WIDTH = 920;
const HEIGHT = 300;
const LEFT = 74;
const RIGHT = WIDTH - 190;
const TOP = 30;
const BOTTOM = HEIGHT - 42;
/** Series colours, cycled; picked to stay apart for the common colour-vision deficiencies. */
const PALETTE = ['#2f6db5', '#e07b00', '#1a7f37', '#9c4fb8', '#b42318', '#5b6570', '#0e8a8a', '#b07d10'];

const f = (n: number): string => n.toFixed(1);

export function coordText(v: Coordinate): string {
  return typeof v === 'number' ? (Number.isInteger(v) ? String(v) : formatNumber(v)) : v;
}

/** x position of each value of an axis: to scale (log or linear) for numbers, evenly spaced otherwise. */
function xOf(axis: Axis): (v: Coordinate) => number {
  if (axis.numeric) {
    const nums = axis.values as number[];
    const t = axis.log ? Math.log : (v: number) => v;
    const lo = t(nums[0] as number);
    const hi = t(nums.at(-1) as number);
    const pad = (hi - lo) * 0.06 || 1;
    const s = scale(lo - pad, hi + pad, LEFT, RIGHT);
    return (v) => s(t(Number(v)));
  }
  const step = (RIGHT - LEFT) / axis.values.length;
  return (v) => LEFT + step * (axis.values.indexOf(v) + 0.5);
}

function valueScale(values: readonly number[]): { y: (v: number) => number; ticks: number[] } {
  const lo = Math.min(...values);
  const hi = Math.max(...values);
  const pad = (hi - lo) * 0.08 || Math.abs(hi) * 0.05 || 1;
  return { y: scale(lo - pad, hi + pad, BOTTOM, TOP), ticks: niceTicks(lo - pad, hi + pad, 5) };
}

function frame(parts: string[], ticks: readonly number[], y: (v: number) => number, yTitle: string, xTitle: string): void {
  for (const t of ticks) {
    parts.push(`<line class="grid" x1="${LEFT}" x2="${RIGHT}" y1="${f(y(t))}" y2="${f(y(t))}"/>`);
    parts.push(`<text class="tick" x="${LEFT - 6}" y="${f(y(t) + 4)}" text-anchor="end">${escapeHtml(formatNumber(t))}</text>`);
  }
  parts.push(`<line class="axis" x1="${LEFT}" x2="${RIGHT}" y1="${BOTTOM}" y2="${BOTTOM}"/>`);
  parts.push(`<text class="axis-title" x="${LEFT}" y="16">${escapeHtml(yTitle)}</text>`);
  parts.push(`<text class="axis-title" x="${f((LEFT + RIGHT) / 2)}" y="${HEIGHT - 6}" text-anchor="middle">${escapeHtml(xTitle)}</text>`);
}

function svg(cls: string, aria: string, body: string): string {
  return `<svg class="chart ${cls}" role="img" aria-label="${escapeHtml(aria)}" xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${HEIGHT}" viewBox="0 0 ${WIDTH} ${HEIGHT}">${body}</svg>`;
}

function tip(p: AxisPoint, value: string): string {
  return `${p.label}: ${value}, ${p.runs} run(s)`;
}

/** One chart: the metric against `axis`; trials equal on every other axis are joined by a line. */
export function axisChart(view: AxesView, axis: Axis, metricLabel: string, direction: 'maximize' | 'minimize'): string {
  const others = view.axes.filter((a) => a.name !== axis.name);
  const seriesOf = (p: AxisPoint): string => [...others.map((a) => `${a.label} ${coordText(p.coords[a.name] ?? '-')}`), ...(p.variant === 0 ? [] : [`#${p.variant + 1}`])].join(', ');
  const measured = view.points.filter((p): p is AxisPoint & { value: number } => p.value !== null);
  const { y, ticks } = valueScale(measured.length === 0 ? [0, 1] : measured.map((p) => p.value));
  const x = xOf(axis);
  const parts: string[] = [];
  frame(parts, ticks, y, `${metricLabel} (${direction === 'minimize' ? 'lower' : 'higher'} is better)`, `${axis.label}${axis.log ? ' (log scale)' : ''}`);
  for (const v of axis.values) parts.push(`<text class="tick" x="${f(x(v))}" y="${BOTTOM + 16}" text-anchor="middle">${escapeHtml(coordText(v))}</text>`);
  const series = [...new Set(view.points.map(seriesOf))];
  series.forEach((name, i) => {
    const colour = PALETTE[i % PALETTE.length] as string;
    const members = measured.filter((p) => seriesOf(p) === name).sort((a, b) => x(a.coords[axis.name] ?? '') - x(b.coords[axis.name] ?? ''));
    if (members.length > 1) {
      const d = members.map((p, j) => `${j === 0 ? 'M' : 'L'}${f(x(p.coords[axis.name] ?? ''))},${f(y(p.value))}`).join('');
      parts.push(`<path class="series-line" d="${d}" stroke="${colour}"/>`);
    }
    for (const p of members) {
      parts.push(`<circle class="axis-point" cx="${f(x(p.coords[axis.name] ?? ''))}" cy="${f(y(p.value))}" r="4" fill="${colour}"><title>${escapeHtml(tip(p, formatNumber(p.value)))}</title></circle>`);
    }
    if (series.length > 1 || name !== '') {
      const ly = TOP + 4 + i * 16;
      parts.push(`<circle cx="${RIGHT + 16}" cy="${ly}" r="4" fill="${colour}"/><text class="legend" x="${RIGHT + 26}" y="${ly + 4}">${escapeHtml(name === '' ? 'all' : name)}</text>`);
    }
  });
  // A trial without a result still has its place on the axis: a cross on the floor.
  for (const p of view.points.filter((q) => q.value === null)) {
    const cx = x(p.coords[axis.name] ?? '');
    const cy = BOTTOM - 6;
    parts.push(`<path class="axis-missing" d="M${f(cx - 4)},${f(cy - 4)}L${f(cx + 4)},${f(cy + 4)}M${f(cx - 4)},${f(cy + 4)}L${f(cx + 4)},${f(cy - 4)}"><title>${escapeHtml(tip(p, 'no result'))}</title></path>`);
  }
  return svg(`axis-chart axis-${axis.name.replace(/[^a-z0-9]+/gi, '-').replace(/^-+|-+$/g, '')}`, `${metricLabel} against ${axis.label}`, parts.join(''));
}

/** Tokens/s per user against tokens/s per GPU, one point per trial that has both; the front joined and marked. */
export function paretoChart(view: AxesView): string {
  const both = view.points.filter((p): p is AxisPoint & { perUser: number; perGpu: number } => p.perUser !== null && p.perGpu !== null);
  const front = new Set(view.paretoFront ?? []);
  const xs = both.map((p) => p.perUser);
  const xlo = Math.min(...xs);
  const xhi = Math.max(...xs);
  const xpad = (xhi - xlo) * 0.06 || Math.abs(xhi) * 0.05 || 1;
  const x = scale(xlo - xpad, xhi + xpad, LEFT, RIGHT);
  const { y, ticks } = valueScale(both.map((p) => p.perGpu));
  const parts: string[] = [];
  frame(parts, ticks, y, 'output tokens/s per GPU', 'output tokens/s per user (higher is better on both)');
  for (const t of niceTicks(xlo - xpad, xhi + xpad, 6)) parts.push(`<text class="tick" x="${f(x(t))}" y="${BOTTOM + 16}" text-anchor="middle">${escapeHtml(formatNumber(t))}</text>`);
  const onFront = both.filter((p) => front.has(p.trialKey)).sort((a, b) => a.perUser - b.perUser);
  if (onFront.length > 1) parts.push(`<path class="pareto-front" d="${onFront.map((p, j) => `${j === 0 ? 'M' : 'L'}${f(x(p.perUser))},${f(y(p.perGpu))}`).join('')}"/>`);
  for (const p of both) {
    const isFront = front.has(p.trialKey);
    const text = `${p.label}: ${formatNumber(p.perUser)} tokens/s per user (concurrency ${p.concurrency ?? '-'}), ${formatNumber(p.perGpu)} tokens/s per GPU (${p.gpus} GPU${p.gpus === 1 ? '' : 's'})${isFront ? ', on the front' : ''}`;
    parts.push(`<circle class="pareto-point${isFront ? ' front' : ''}" cx="${f(x(p.perUser))}" cy="${f(y(p.perGpu))}" r="${isFront ? 5 : 4}"><title>${escapeHtml(text)}</title></circle>`);
    if (isFront) parts.push(`<text class="legend" x="${f(x(p.perUser) + 7)}" y="${f(y(p.perGpu) - 6)}">${escapeHtml(p.label)}</text>`);
  }
  parts.push(`<circle class="pareto-legend front" cx="${RIGHT + 16}" cy="${TOP + 4}" r="5"/><text class="legend" x="${RIGHT + 26}" y="${TOP + 8}">Pareto front</text>`);
  parts.push(`<circle class="pareto-legend" cx="${RIGHT + 16}" cy="${TOP + 20}" r="4"/><text class="legend" x="${RIGHT + 26}" y="${TOP + 24}">dominated</text>`);
  return svg('pareto', 'tokens/s per user against tokens/s per GPU', parts.join(''));
}
