/**
 * The serving figures of a session (a tuning session with `--bench serve`, or an `autotune
 * bench serve`), read from the database: `export --csv` and `--json` carry them, `status`
 * prints them as a table.
 */
import type { Store } from '../store/db.js';
import type { SessionRecord } from '../store/records.js';
import { sweepResultsInput } from '../store/results-input.js';
import { formatServeFiguresCsv, serveFigureRows, type ServeFigureRow } from '../tuner/serve-figures.js';

export function isServeSession(session: Pick<SessionRecord, 'options'>): boolean {
  return session.options['bench'] === 'serve';
}

export function serveFigures(store: Store, session: SessionRecord): ServeFigureRow[] {
  const input = sweepResultsInput(store, session);
  return serveFigureRows(input.trials, input.runs);
}

export function serveFiguresCsv(store: Store, session: SessionRecord): string {
  return formatServeFiguresCsv(serveFigures(store, session));
}

const COLUMNS: ReadonlyArray<readonly [string, string, number]> = [
  ['out tok/s', 'output_tokens_per_s', 1],
  ['goodput', 'goodput_requests_per_s', 2],
  ['TTFT mean', 'ttft_mean_ms', 1],
  ['TTFT med', 'ttft_median_ms', 1],
  ['TTFT p99', 'ttft_p99_ms', 1],
  ['TPOT mean', 'tpot_mean_ms', 2],
  ['TPOT med', 'tpot_median_ms', 2],
  ['TPOT p99', 'tpot_p99_ms', 2],
  ['ITL mean', 'itl_mean_ms', 2],
  ['ITL med', 'itl_median_ms', 2],
  ['ITL p99', 'itl_p99_ms', 2],
  ['E2E mean', 'e2el_mean_ms', 1],
  ['E2E med', 'e2el_median_ms', 1],
  ['E2E p99', 'e2el_p99_ms', 1],
];

/** One line per trial with a measured run: means over its measured runs (latencies in ms), output tokens/s with its sd. */
export function serveFiguresTable(rows: readonly ServeFigureRow[]): string[] {
  const measured = rows.filter((r) => r.runs + r.failedRuns > 0);
  if (measured.length === 0) return [];
  const header = ['trial', 'runs', ...COLUMNS.map(([h]) => h)];
  const body = measured.map((r) => [
    r.label,
    r.failedRuns > 0 ? `${r.runs} (+${r.failedRuns} failed)` : String(r.runs),
    ...COLUMNS.map(([, name, digits]) => {
      const f = r.figures[name];
      if (f === undefined) return '-';
      return name === 'output_tokens_per_s' && f.n > 1 ? `${f.mean.toFixed(digits)}±${f.sd.toFixed(digits)}` : f.mean.toFixed(digits);
    }),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((row) => (row[i] ?? '').length)));
  const line = (cells: readonly string[]): string => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i] ?? 0) : c.padStart(widths[i] ?? 0))).join('  ').trimEnd();
  return [line(header), ...body.map(line), '(means over measured runs; latencies in ms; out tok/s ± sd of the runs)'];
}
