/** Objectives as a job file writes them: a named metric, a direction, constraints. Pure. */

/** Metric names a job may optimise or constrain (configs/job.schema.json `$defs/metric`). */
export const METRICS: readonly string[] = [
  'total_tokens_per_s',
  'output_tokens_per_s',
  'requests_per_s',
  'latency_avg_s',
  'latency_p50_s',
  'latency_p90_s',
  'latency_p99_s',
  'ttft_mean_ms',
  'ttft_median_ms',
  'ttft_p99_ms',
  'tpot_mean_ms',
  'tpot_median_ms',
  'tpot_p99_ms',
  'itl_mean_ms',
  'itl_median_ms',
  'itl_p99_ms',
  'ttft_p90_ms',
  'tpot_p90_ms',
  'itl_p90_ms',
  'e2el_mean_ms',
  'e2el_median_ms',
  'e2el_p90_ms',
  'e2el_p99_ms',
  'goodput_requests_per_s',
  'requests_completed',
  'requests_failed',
  'duration_s',
  'max_concurrency_under_slo',
  'model_memory_gib',
  'kv_cache_gib',
  'kv_cache_tokens',
  'cuda_graph_capture_s',
];

/** `--metric` values, and what they stand for. */
export const METRIC_SHORTHANDS: Readonly<Record<'total' | 'output' | 'requests', string>> = {
  total: 'total_tokens_per_s',
  output: 'output_tokens_per_s',
  requests: 'requests_per_s',
};

export type Direction = 'maximize' | 'minimize';
export type ConstraintOp = '<=' | '>=' | '<' | '>';

export interface Constraint {
  readonly metric: string;
  readonly op: ConstraintOp;
  readonly value: number;
}

export interface Objective {
  readonly metric: string;
  readonly direction: Direction;
  readonly constraints: readonly Constraint[];
}

/** Rates and capacities are better bigger; times and memory smaller. */
export function defaultDirection(metric: string): Direction {
  return /_per_s$|^kv_cache_|^requests_completed$|^max_concurrency_/.test(metric) ? 'maximize' : 'minimize';
}

export function fullMetricName(metric: string): string {
  return metric in METRIC_SHORTHANDS ? METRIC_SHORTHANDS[metric as keyof typeof METRIC_SHORTHANDS] : metric;
}

/** `"tpot_mean_ms <= 50"` -> its parts; null when the text is not of that form. */
export function parseConstraint(text: string): Constraint | null {
  const m = /^\s*([a-z0-9_]+)\s*(<=|>=|<|>)\s*(-?[0-9]+(?:\.[0-9]+)?)\s*$/.exec(text);
  if (m === null) return null;
  return { metric: fullMetricName(m[1] as string), op: m[2] as ConstraintOp, value: Number(m[3]) };
}

export function formatObjective(o: Objective): string {
  const head = `${o.direction} ${o.metric}`;
  return o.constraints.length === 0 ? head : `${head} subject to ${o.constraints.map((c) => `${c.metric} ${c.op} ${c.value}`).join(', ')}`;
}
