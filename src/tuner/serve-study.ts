/**
 * A tuning session measured by a live server: what each run does (the case matrix, the load
 * generator, the SLOs) and how one run over several cases becomes one measurement. Pure.
 *
 * One run is one pass of the load over every case against the trial's server. Its throughput
 * is pooled (every case's rate weighted by its duration: tokens over seconds), and each latency
 * statistic is the worst case's, so a limit on the run holds only when it holds on every case.
 * SLOs become the objective's constraints: a configuration breaking one scores nothing, whatever
 * its throughput.
 */
import { AutotuneError } from '../errors.js';
import type { Constraint } from './objective.js';
import { caseKey, type ServeCase } from './serve-cases.js';
import { LATENCY_METRICS, type ServeSummary } from './serve-metrics.js';
import { DEFAULT_CONCURRENCY_SEARCH, nextConcurrencyStep, type ConcurrencyObservation, type ConcurrencyStep, type SloSample } from './concurrency-search.js';
import { parseSlos, sloValue, statisticName, type Slo } from './slo.js';

export type ServeLoadGenerator = 'builtin' | 'vllm';
export type ServeEndpoint = 'completions' | 'chat';

export const GOODPUT = 'goodput_requests_per_s';
export const MAX_CONCURRENCY_UNDER_SLO = 'max_concurrency_under_slo';

/** The serving part of a session's options, as stored with it. */
export interface ServeStudy {
  readonly cases: readonly ServeCase[];
  /** As written: `ttft_p99_ms<=2000`. */
  readonly slos: readonly string[];
  readonly generator: ServeLoadGenerator;
  readonly endpoint: ServeEndpoint;
  /** The user's `vllm bench serve` arguments (the `vllm` generator only), verbatim. */
  readonly benchArgs: readonly string[];
  readonly readyTimeoutS: number;
  /** Per request (built-in generator), per prompt of a run (`vllm bench serve`). */
  readonly requestTimeoutS: number;
}

export const DEFAULT_REQUEST_TIMEOUT_S = 600;

/** Statistics that have a metric name of their own (src/tuner/metrics.ts). */
const NAMED_STATISTICS = ['mean', 'median', 'p90', 'p99'];

/** `ttft_p99_ms` for an SLO on TTFT's 99th percentile; p50 is the median. */
export function sloMetricName(slo: Slo): string {
  const stat = statisticName(slo.statistic) === 'p50' ? 'median' : statisticName(slo.statistic);
  if (!NAMED_STATISTICS.includes(stat)) {
    throw new AutotuneError('E_USAGE', `--slo: ${slo.text} cannot be tuned against: a session limits ${NAMED_STATISTICS.join(', ')} (p50 = median) of ${LATENCY_METRICS.join(', ')}`);
  }
  return `${slo.metric}_${stat}_ms`;
}

export function studySlos(study: Pick<ServeStudy, 'slos'>): Slo[] {
  return study.slos.length === 0 ? [] : parseSlos(study.slos.join(','));
}

/** The objective's constraints the SLOs stand for. */
export function sloConstraints(slos: readonly Slo[]): Constraint[] {
  return slos.map((slo) => ({ metric: sloMetricName(slo), op: slo.strict ? '<' : '<=', value: slo.limitMs }));
}

/** One case of one run as measured: its summary (null when it produced none) and its goodput. */
export interface CaseMeasurement {
  readonly case: ServeCase;
  readonly summary: ServeSummary | null;
  /** Requests/s meeting the SLOs; null without SLOs. */
  readonly goodput: number | null;
  /** The highest concurrency found to meet the SLOs (the search objective only). */
  readonly maxConcurrency?: number | null;
}

const STAT_KEYS: ReadonlyArray<readonly [string, (s: NonNullable<ServeSummary['latency']['ttft']>) => number | undefined]> = [
  ['mean', (s) => s.meanMs],
  ['median', (s) => s.medianMs],
  ['p90', (s) => s.percentilesMs['90']],
  ['p99', (s) => s.percentilesMs['99']],
];

/** The run's named metrics from its cases (see the module comment), plus the server's memory figures (named metrics from its log). */
export function runMeasurement(cases: readonly CaseMeasurement[], memory: Readonly<Record<string, number>> | null): Record<string, number> {
  const out: Record<string, number> = {};
  const measured = cases.filter((c): c is CaseMeasurement & { summary: ServeSummary } => c.summary !== null);
  const seconds = measured.reduce((x, c) => x + c.summary.durationS, 0);
  const pooled = (pick: (c: CaseMeasurement & { summary: ServeSummary }) => number | null): number | null => {
    if (seconds <= 0) return null;
    let sum = 0;
    for (const c of measured) {
      const v = pick(c);
      if (v === null || !Number.isFinite(v)) return null;
      sum += v * c.summary.durationS;
    }
    return sum / seconds;
  };
  const put = (name: string, v: number | null | undefined): void => {
    if (v !== null && v !== undefined && Number.isFinite(v)) out[name] = v;
  };
  if (measured.length > 0) {
    put('requests_completed', measured.reduce((x, c) => x + c.summary.completed, 0));
    put('requests_failed', measured.reduce((x, c) => x + (c.summary.failed ?? 0), 0));
    put('duration_s', seconds);
    put('requests_per_s', pooled((c) => c.summary.requestThroughput));
    put('output_tokens_per_s', pooled((c) => c.summary.outputThroughput));
    put('total_tokens_per_s', pooled((c) => c.summary.totalTokenThroughput));
    if (measured.every((c) => c.goodput !== null)) put(GOODPUT, pooled((c) => c.goodput));
    for (const metric of LATENCY_METRICS) {
      for (const [stat, pick] of STAT_KEYS) {
        const values = measured.map((c) => {
          const s = c.summary.latency[metric];
          return s === undefined ? undefined : pick(s);
        });
        if (values.every((v): v is number => v !== undefined)) put(`${metric}_${stat}_ms`, Math.max(...values));
      }
    }
  }
  if (cases.length > 0 && cases.every((c) => c.maxConcurrency !== undefined)) {
    put(MAX_CONCURRENCY_UNDER_SLO, Math.min(...cases.map((c) => c.maxConcurrency ?? 0)));
  }
  for (const [name, value] of Object.entries(memory ?? {})) put(name, value);
  return out;
}

/** What one probe of the concurrency search measured, for the SLOs in order; a failed probe breaks them all. */
export function sloSample(slos: readonly Slo[], summary: ServeSummary | null, ok: boolean): SloSample {
  return slos.map((slo) => (ok && summary !== null ? sloValue(summary, slo) : null));
}

/**
 * The next probe of a case's "max concurrency under the SLO" search: up to the case's own
 * concurrency (its upper bound), with the module's noise rules (concurrency-search.ts).
 */
export function nextProbe(slos: readonly Slo[], c: ServeCase, observations: readonly ConcurrencyObservation[]): ConcurrencyStep {
  if (c.load.kind !== 'concurrency') throw new AutotuneError('E_USAGE', `the concurrency search needs cases with a concurrency, not a request rate (${caseKey(c)})`);
  return nextConcurrencyStep(slos, { ...DEFAULT_CONCURRENCY_SEARCH, max: c.load.concurrency }, observations);
}

/** A probe's case: the case's lengths at concurrency `k`, with enough prompts to keep k in flight. */
export function probeCase(c: ServeCase, k: number): ServeCase {
  return { inputLen: c.inputLen, outputLen: c.outputLen, load: { kind: 'concurrency', concurrency: k }, prompts: Math.max(16, 2 * k) };
}
