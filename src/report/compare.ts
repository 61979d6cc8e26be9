/** Two sessions' choices and gains side by side, from their report models. Pure. */
import type { EffectRow, ReportModel } from './model.js';
import { pct } from './svg.js';

export interface CompareSide {
  readonly id: string;
  readonly model: string | null;
  readonly state: string;
  readonly policy: string;
  readonly host: string | null;
  readonly gpus: string | null;
  readonly software: string | null;
  readonly gpuHours: number;
  readonly baseline: number | null;
  readonly speedup: number | null;
  readonly low: number | null;
  readonly high: number | null;
  readonly validated: boolean | null;
  readonly kept: number;
}

export interface CompareCell {
  /** The backend in the final choice, or null when the operator is not kept. */
  readonly chosen: string | null;
  /** The effect shown: the chosen backend's, else the best measured backend's. */
  readonly backend: string;
  readonly estimate: number | null;
  readonly low: number | null;
  readonly high: number | null;
}

export interface CompareRow {
  readonly op: string;
  readonly a: CompareCell | null;
  readonly b: CompareCell | null;
}

export interface Comparison {
  readonly metric: string;
  readonly a: CompareSide;
  readonly b: CompareSide;
  readonly ops: readonly CompareRow[];
}

function side(m: ReportModel): CompareSide {
  const hw = m.hardware;
  const names = hw === null ? [] : [...new Set(hw.gpus.map((g) => g.name))];
  const sw = hw?.software ?? null;
  const software = sw === null ? null : [sw.vllm === null ? null : `vllm ${sw.vllm}`, sw.plugin === null ? null : `plugin ${sw.plugin}`, sw.flagGems === null ? null : `flag_gems ${sw.flagGems}`].filter((s) => s !== null).join(', ');
  const c = m.choice;
  return {
    id: m.session.id,
    model: m.session.model,
    state: m.session.state,
    policy: m.session.policy,
    host: hw?.host ?? null,
    gpus: names.length === 0 || hw === null ? null : `${hw.gpus.length}x ${names.join(' + ')}`,
    software: software === '' ? null : software,
    gpuHours: m.totals.gpuHours,
    baseline: m.baseline.value,
    speedup: c?.speedup ?? null,
    low: c?.low ?? null,
    high: c?.high ?? null,
    validated: c?.validated ?? null,
    kept: c === null ? 0 : Object.keys(c.opBackends).length,
  };
}

function cell(m: ReportModel, op: string): CompareCell | null {
  const rows = m.effects.filter((e) => e.op === op);
  const chosen = m.choice?.opBackends[op] ?? null;
  const pick = (rows.find((e) => e.chosen) ?? [...rows].sort((x, y) => (y.estimate ?? -Infinity) - (x.estimate ?? -Infinity))[0]) as EffectRow | undefined;
  if (pick === undefined) return chosen === null ? null : { chosen, backend: chosen, estimate: null, low: null, high: null };
  return { chosen, backend: pick.backend, estimate: pick.estimate, low: pick.low, high: pick.high };
}

export function compareReports(a: ReportModel, b: ReportModel): Comparison {
  const ops = [...new Set([...a.effects.map((e) => e.op), ...b.effects.map((e) => e.op), ...Object.keys(a.choice?.opBackends ?? {}), ...Object.keys(b.choice?.opBackends ?? {})])];
  const rows = ops.map((op) => ({ op, a: cell(a, op), b: cell(b, op) }));
  // Kept in both first, then kept in one, then the rest; by name within each group.
  const rank = (r: CompareRow): number => -((r.a?.chosen != null ? 1 : 0) + (r.b?.chosen != null ? 1 : 0));
  rows.sort((x, y) => rank(x) - rank(y) || x.op.localeCompare(y.op));
  return { metric: a.metric.label === b.metric.label ? a.metric.label : `${a.metric.label} / ${b.metric.label}`, a: side(a), b: side(b), ops: rows };
}

function gain(speedup: number | null, low: number | null, high: number | null): string {
  if (speedup === null) return '-';
  return `${pct(speedup)}${low !== null && high !== null ? ` [${pct(low)}, ${pct(high)}]` : ''}`;
}

function cellText(c: CompareCell | null): string {
  if (c === null) return '-';
  const mark = c.chosen !== null ? `kept ${c.chosen}` : `not kept (${c.backend})`;
  return `${mark} ${gain(c.estimate, c.low, c.high)}`;
}

/** A plain-text table: the sessions, then one line per operator. */
export function formatComparison(c: Comparison): string {
  const head = [
    ['', 'A', 'B'],
    ['session', c.a.id, c.b.id],
    ['model', c.a.model ?? '-', c.b.model ?? '-'],
    ['state', `${c.a.state} (${c.a.policy})`, `${c.b.state} (${c.b.policy})`],
    ['host', c.a.host ?? '-', c.b.host ?? '-'],
    ['gpus', c.a.gpus ?? '-', c.b.gpus ?? '-'],
    ['software', c.a.software ?? '-', c.b.software ?? '-'],
    ['baseline', c.a.baseline === null ? '-' : c.a.baseline.toFixed(2), c.b.baseline === null ? '-' : c.b.baseline.toFixed(2)],
    ['gain', `${gain(c.a.speedup, c.a.low, c.a.high)}${c.a.validated ? ' validated' : ''}`, `${gain(c.b.speedup, c.b.low, c.b.high)}${c.b.validated ? ' validated' : ''}`],
    ['kept ops', String(c.a.kept), String(c.b.kept)],
    ['GPU-hours', c.a.gpuHours.toFixed(3), c.b.gpuHours.toFixed(3)],
  ];
  const table = [...head, ['', '', ''], ['OPERATOR', 'A', 'B'], ...c.ops.map((r) => [r.op, cellText(r.a), cellText(r.b)])];
  const widths = [0, 1].map((i) => Math.max(...table.map((row) => (row[i] ?? '').length)));
  const lines = table.map((row) => `${(row[0] ?? '').padEnd(widths[0] ?? 0)}  ${(row[1] ?? '').padEnd(widths[1] ?? 0)}  ${row[2] ?? ''}`.trimEnd());
  return `metric: ${c.metric}\n${lines.join('\n')}\n`;
}
