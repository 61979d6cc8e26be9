/**
 * Service-level objectives of the serving benchmark. Pure.
 *
 * `--slo ttft_p99_ms<=2000,tpot_mean_ms<=50` is a list of upper limits on a latency statistic
 * of a run. A run meets its SLOs when every limit holds; goodput is the requests/s that met
 * every limit one by one (vLLM's `--goodput` rule: a request's own TTFT, TPOT, E2EL against the
 * limit, whatever statistic names it), computed from per-request data when there is some.
 */
import { AutotuneError } from '../errors.js';
import { LATENCY_METRICS, type LatencyMetric, type RequestRecord, type ServeSummary } from './serve-metrics.js';

/** `mean`, `median`, or a percentile such as `p99`, `p90`, `p99.9`. */
export type SloStatistic = { readonly kind: 'mean' } | { readonly kind: 'median' } | { readonly kind: 'percentile'; readonly p: string };

export interface Slo {
  /** As written, for messages: `ttft_p99_ms<=2000`. */
  readonly text: string;
  readonly metric: LatencyMetric;
  readonly statistic: SloStatistic;
  readonly limitMs: number;
  /** `<` rather than `<=`. */
  readonly strict: boolean;
}

const SLO = /^([a-z][a-z0-9]*)_(mean|median|p\d+(?:\.\d+)?)_ms\s*(<=|<)\s*(\d+(?:\.\d+)?)$/;

function isMetric(name: string): name is LatencyMetric {
  return (LATENCY_METRICS as readonly string[]).includes(name);
}

export function parseSlo(item: string): Slo {
  const text = item.trim();
  const m = SLO.exec(text);
  if (m === null) {
    throw new AutotuneError('E_USAGE', `--slo: '${text}' is not METRIC_STAT_ms<=LIMIT (METRIC: ${LATENCY_METRICS.join(', ')}; STAT: mean, median, p90, p99, ...), e.g. ttft_p99_ms<=2000`);
  }
  const metric = m[1] as string;
  if (!isMetric(metric)) throw new AutotuneError('E_USAGE', `--slo: unknown metric '${metric}' in '${text}' (known: ${LATENCY_METRICS.join(', ')})`);
  const stat = m[2] as string;
  const statistic: SloStatistic = stat === 'mean' ? { kind: 'mean' } : stat === 'median' ? { kind: 'median' } : { kind: 'percentile', p: stat.slice(1) };
  if (statistic.kind === 'percentile' && !(Number(statistic.p) > 0 && Number(statistic.p) < 100)) {
    throw new AutotuneError('E_USAGE', `--slo: percentile ${statistic.p} in '${text}' must be between 0 and 100`);
  }
  const limitMs = Number(m[4]);
  if (!(limitMs > 0)) throw new AutotuneError('E_USAGE', `--slo: the limit in '${text}' must be above 0`);
  return { text: `${metric}_${stat}_ms${m[3] as string}${m[4] as string}`, metric, statistic, limitMs, strict: m[3] === '<' };
}

/** A comma list; one limit per metric and statistic. */
export function parseSlos(text: string): Slo[] {
  const items = text.split(',').map((s) => s.trim()).filter((s) => s !== '');
  if (items.length === 0) throw new AutotuneError('E_USAGE', '--slo needs at least one limit, e.g. ttft_p99_ms<=2000');
  const slos = items.map(parseSlo);
  const seen = new Set<string>();
  for (const s of slos) {
    const key = `${s.metric}_${statisticName(s.statistic)}`;
    if (seen.has(key)) throw new AutotuneError('E_USAGE', `--slo: ${key} is limited twice`);
    seen.add(key);
  }
  return slos;
}

export function statisticName(s: SloStatistic): string {
  return s.kind === 'percentile' ? `p${s.p}` : s.kind;
}

/** Percentiles a run must report for these SLOs to be judged (passed to `vllm bench serve --metric-percentiles`). */
export function requiredPercentiles(slos: readonly Slo[]): string[] {
  return [...new Set(slos.flatMap((s) => (s.statistic.kind === 'percentile' ? [s.statistic.p] : [])))];
}

/** The statistic of a summary, or null when the run did not report it. */
export function sloValue(summary: ServeSummary, slo: Slo): number | null {
  const stats = summary.latency[slo.metric];
  if (stats === undefined) return null;
  switch (slo.statistic.kind) {
    case 'mean':
      return stats.meanMs;
    case 'median':
      return stats.medianMs;
    case 'percentile':
      return stats.percentilesMs[slo.statistic.p] ?? stats.percentilesMs[String(Number(slo.statistic.p))] ?? null;
  }
}

export function holds(slo: Slo, valueMs: number): boolean {
  return slo.strict ? valueMs < slo.limitMs : valueMs <= slo.limitMs;
}

export interface SloCheck {
  readonly slo: Slo;
  /** Null when the run lacks the statistic: that counts as a breach, never as a pass. */
  readonly valueMs: number | null;
  readonly met: boolean;
}

export function checkSlos(summary: ServeSummary, slos: readonly Slo[]): SloCheck[] {
  return slos.map((slo) => {
    const valueMs = sloValue(summary, slo);
    return { slo, valueMs, met: valueMs !== null && holds(slo, valueMs) };
  });
}

/** One line naming the breached limits, or null when all hold. */
export function describeBreaches(checks: readonly SloCheck[]): string | null {
  const broken = checks.filter((c) => !c.met);
  if (broken.length === 0) return null;
  return broken.map((c) => (c.valueMs === null ? `${c.slo.text} (not reported)` : `${c.slo.text} (was ${c.valueMs.toFixed(2)})`)).join(', ');
}

function requestValue(r: RequestRecord, metric: LatencyMetric): number[] {
  switch (metric) {
    case 'ttft':
      return r.ttftMs === null ? [] : [r.ttftMs];
    case 'tpot':
      return r.tpotMs === null ? [] : [r.tpotMs];
    case 'e2el':
      return r.e2elMs === null ? [] : [r.e2elMs];
    case 'itl':
      return [...r.itlMs];
  }
}

/** Whether one request met every limit; a request lacking a value (one token: no TPOT) is judged on the others. */
export function requestMeetsSlos(r: RequestRecord, slos: readonly Slo[]): boolean {
  return r.ok && slos.every((slo) => requestValue(r, slo.metric).every((v) => holds(slo, v)));
}

/**
 * Requests/s meeting the SLOs. With per-request data, each request is judged; with a summary
 * only, the run's throughput counts when every limit holds on the summary and 0 when not
 * (a coarser rule: one slow tail breaks the whole run).
 */
export function goodput(summary: ServeSummary, slos: readonly Slo[], requests: readonly RequestRecord[] | null): number {
  const seconds = summary.durationS;
  if (requests !== null && seconds > 0) return requests.filter((r) => requestMeetsSlos(r, slos)).length / seconds;
  return checkSlos(summary, slos).every((c) => c.met) ? summary.requestThroughput : 0;
}
