/**
 * The serving figures of a session, per trial (a tuning session's configurations, a bench's
 * cases): each named serving metric over the trial's measured runs that ended ok, as a mean
 * with the runs' spread; and the change of a case against a baseline's runs. Pure.
 */
import type { ResultRun } from './results.js';

/** What `export --csv`, `export --json` and `status` show of a serving session, in this order. */
const SERVE_FIGURE_METRICS = [
  'output_tokens_per_s',
  'total_tokens_per_s',
  'requests_per_s',
  'goodput_requests_per_s',
  ...['ttft', 'tpot', 'itl', 'e2el'].flatMap((m) => ['mean', 'median', 'p99'].map((s) => `${m}_${s}_ms`)),
  'max_concurrency_under_slo',
  'model_memory_gib',
  'kv_cache_gib',
  'kv_cache_tokens',
] as const;

export interface Spread {
  readonly mean: number;
  /** Sample standard deviation (n - 1); 0 for one run. */
  readonly sd: number;
  readonly min: number;
  readonly max: number;
  readonly n: number;
}

export interface ServeFigureRow {
  readonly trialKey: string;
  readonly label: string;
  /** Measured runs that ended ok, and those that did not. */
  readonly runs: number;
  readonly failedRuns: number;
  /** By metric name (SERVE_FIGURE_METRICS), only those some ok run reported. */
  readonly figures: Readonly<Record<string, Spread>>;
}

export function spreadOf(values: readonly number[]): Spread | null {
  const n = values.length;
  if (n === 0) return null;
  const mean = values.reduce((x, y) => x + y, 0) / n;
  const sd = n < 2 ? 0 : Math.sqrt(values.reduce((x, y) => x + (y - mean) ** 2, 0) / (n - 1));
  return { mean, sd, min: Math.min(...values), max: Math.max(...values), n };
}

/** One row per trial in the order given; warm-ups never count. */
export function serveFigureRows(trials: ReadonlyArray<{ readonly key: string; readonly label?: string }>, runs: readonly ResultRun[]): ServeFigureRow[] {
  return trials.map((t) => {
    const measured = runs.filter((r) => r.trialKey === t.key && r.kind === 'measure');
    const ok = measured.filter((r) => r.outcome === 'ok' && r.metrics !== null);
    const figures: Record<string, Spread> = {};
    for (const name of SERVE_FIGURE_METRICS) {
      const s = spreadOf(ok.flatMap((r) => (typeof r.metrics?.[name] === 'number' ? [r.metrics[name]] : [])));
      if (s !== null) figures[name] = s;
    }
    return { trialKey: t.key, label: t.label ?? t.key, runs: ok.length, failedRuns: measured.length - ok.length, figures };
  });
}

/** Python csv.writer's QUOTE_MINIMAL, as the session's other tables. */
function csvField(field: string): string {
  return /[",\r\n]/.test(field) ? `"${field.replace(/"/g, '""')}"` : field;
}

/**
 * `export --csv` of a serving session: one row per trial, the mean of every figure any row has
 * (full precision) and the standard deviation of output tokens/s over the runs.
 */
export function formatServeFiguresCsv(rows: readonly ServeFigureRow[]): string {
  const seen = new Set(rows.flatMap((r) => Object.keys(r.figures)));
  const names = SERVE_FIGURE_METRICS.filter((n) => seen.has(n));
  const header = ['trial', 'label', 'runs', 'failed_runs', ...names, ...(seen.has('output_tokens_per_s') ? ['output_tokens_per_s_sd'] : [])];
  const body = rows.map((r) => [
    r.trialKey,
    r.label,
    String(r.runs),
    String(r.failedRuns),
    ...names.map((n) => (r.figures[n] === undefined ? '' : String(r.figures[n].mean))),
    ...(seen.has('output_tokens_per_s') ? [r.figures['output_tokens_per_s'] === undefined ? '' : String(r.figures['output_tokens_per_s'].sd)] : []),
  ]);
  return [header, ...body].map((fields) => `${fields.map(csvField).join(',')}\r\n`).join('');
}

/**
 * The relative change of the mean against a baseline's mean (0.05 = 5% more), with the range
 * the runs allow: the lowest run against the baseline's highest, the highest against its lowest.
 */
export interface RunsDelta {
  readonly delta: number;
  readonly low: number;
  readonly high: number;
}

export function runsDelta(current: Spread | null | undefined, baseline: Spread | null | undefined): RunsDelta | null {
  if (current == null || baseline == null || baseline.mean === 0 || baseline.min <= 0) return null;
  return { delta: current.mean / baseline.mean - 1, low: current.min / baseline.max - 1, high: current.max / baseline.min - 1 };
}
