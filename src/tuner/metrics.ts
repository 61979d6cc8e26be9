/**
 * The named metrics a benchmark run can report: each with its unit and whether bigger or
 * smaller is better. A run's measurement is a map from these names to numbers; a benchmark
 * kind reports the ones it knows and the store keeps every one of them per run.
 */
import type { Throughput } from './types.js';

/** As job files and stored session options write it (src/tuner/objective.ts). */
export type Direction = 'maximize' | 'minimize';

export interface MetricInfo {
  readonly name: string;
  readonly unit: string;
  readonly direction: Direction;
  /** How people call it, for summaries and status. */
  readonly label: string;
}

/** A run's measurement: named metrics (see METRICS) to their values. */
export type Measurement = Readonly<Record<string, number>>;

export const TOTAL_TOKENS_PER_S = 'total_tokens_per_s';
export const OUTPUT_TOKENS_PER_S = 'output_tokens_per_s';
export const REQUESTS_PER_S = 'requests_per_s';
export const MODEL_MEMORY_GIB = 'model_memory_gib';
export const KV_CACHE_GIB = 'kv_cache_gib';
export const KV_CACHE_TOKENS = 'kv_cache_tokens';
export const MAX_CONCURRENCY = 'max_concurrency';
export const CUDA_GRAPH_CAPTURE_S = 'cuda_graph_capture_s';
export const CUDA_GRAPH_MEMORY_GIB = 'cuda_graph_memory_gib';

const m = (name: string, unit: string, direction: Direction, label: string): MetricInfo => ({ name, unit, direction, label });

function percentiles(prefix: string, what: string, unit: string, stats: readonly string[]): MetricInfo[] {
  return stats.map((s) => m(`${prefix}_${s}_${unit}`, unit, 'minimize', `${what} ${s}`));
}

export const METRICS: readonly MetricInfo[] = [
  m(TOTAL_TOKENS_PER_S, 'tokens/s', 'maximize', 'total tokens/s'),
  m(OUTPUT_TOKENS_PER_S, 'tokens/s', 'maximize', 'output tokens/s'),
  m(REQUESTS_PER_S, 'requests/s', 'maximize', 'requests/s'),
  ...percentiles('latency', 'latency', 's', ['avg', 'p50', 'p90', 'p99']),
  ...percentiles('ttft', 'TTFT', 'ms', ['mean', 'median', 'p90', 'p99']),
  ...percentiles('tpot', 'TPOT', 'ms', ['mean', 'median', 'p90', 'p99']),
  ...percentiles('itl', 'ITL', 'ms', ['mean', 'median', 'p90', 'p99']),
  ...percentiles('e2el', 'end-to-end latency', 'ms', ['mean', 'median', 'p90', 'p99']),
  // A serving run: requests that met every SLO, counts, and the adaptive concurrency search's answer.
  m('goodput_requests_per_s', 'requests/s', 'maximize', 'goodput'),
  m('requests_completed', 'requests', 'maximize', 'completed requests'),
  m('requests_failed', 'requests', 'minimize', 'failed requests'),
  m('duration_s', 's', 'minimize', 'benchmark duration'),
  m('max_concurrency_under_slo', 'requests', 'maximize', 'max concurrency under the SLOs'),
  m('mfu', 'ratio', 'maximize', 'model FLOPs utilisation'),
  // The engine's start-up memory lines (src/runners/log-memory.ts), per GPU.
  m(MODEL_MEMORY_GIB, 'GiB', 'minimize', 'model memory'),
  m(KV_CACHE_GIB, 'GiB', 'maximize', 'KV-cache memory'),
  m(KV_CACHE_TOKENS, 'tokens', 'maximize', 'KV-cache tokens'),
  // Requests of max-model-len tokens the KV cache holds at once.
  m(MAX_CONCURRENCY, 'x', 'maximize', 'maximum concurrency'),
  m(CUDA_GRAPH_CAPTURE_S, 's', 'minimize', 'CUDA-graph capture time'),
  m(CUDA_GRAPH_MEMORY_GIB, 'GiB', 'minimize', 'CUDA-graph memory'),
];

const BY_NAME: ReadonlyMap<string, MetricInfo> = new Map(METRICS.map((info) => [info.name, info]));

export function metricInfo(name: string): MetricInfo | undefined {
  return BY_NAME.get(name);
}

export function isMetricName(name: string): boolean {
  return BY_NAME.has(name);
}

/** The throughput benchmark's three numbers as named metrics; null stays null (no result). */
export function fromThroughput(t: Throughput | null): Measurement | null {
  if (t === null) return null;
  const out: Record<string, number> = { [TOTAL_TOKENS_PER_S]: t.totalTokensPerSec };
  if (t.outputTokensPerSec !== null) out[OUTPUT_TOKENS_PER_S] = t.outputTokensPerSec;
  if (t.requestsPerSec !== null) out[REQUESTS_PER_S] = t.requestsPerSec;
  return out;
}
