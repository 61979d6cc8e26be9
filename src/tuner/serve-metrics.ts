/**
 * What one serving-benchmark run measured, whichever load generator produced it (vLLM's
 * `bench serve` or the built-in one). Pure data; all latencies in milliseconds.
 */

export const LATENCY_METRICS = ['ttft', 'tpot', 'itl', 'e2el'] as const;
/** Time to first token, time per output token (after the first), inter-token latency, end-to-end latency. */
export type LatencyMetric = (typeof LATENCY_METRICS)[number];

export interface LatencyStats {
  readonly meanMs: number;
  readonly medianMs: number;
  /** Population standard deviation (numpy's default); null where the source does not give it. */
  readonly stdMs: number | null;
  /** By percentile as vLLM names it: `"99"`, `"90"`, `"99.9"`. */
  readonly percentilesMs: Readonly<Record<string, number>>;
}

export interface ServeSummary {
  /** Successful requests. */
  readonly completed: number;
  /** Failed requests; null where an older vLLM did not report them. */
  readonly failed: number | null;
  readonly durationS: number;
  readonly totalInputTokens: number | null;
  readonly totalOutputTokens: number | null;
  readonly requestThroughput: number;
  readonly outputThroughput: number | null;
  readonly totalTokenThroughput: number | null;
  readonly latency: Readonly<Partial<Record<LatencyMetric, LatencyStats>>>;
}

/** One request as the built-in generator saw it. */
export interface RequestRecord {
  readonly ok: boolean;
  /** `http 500`, `timeout`, `connection reset`, ...; null when ok. */
  readonly error: string | null;
  readonly inputTokens: number;
  /** Tokens received (SSE content chunks, or the server's usage count when it sends one). */
  readonly outputTokens: number;
  readonly ttftMs: number | null;
  /** (e2el - ttft) / (outputTokens - 1); null with fewer than 2 tokens. */
  readonly tpotMs: number | null;
  /** Gaps between consecutive tokens after the first. */
  readonly itlMs: readonly number[];
  readonly e2elMs: number | null;
}

/** numpy.percentile's default linear interpolation. Empty input gives 0, as vLLM's `np.percentile(values or 0, p)`. */
export function percentileOf(values: readonly number[], p: number): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  const position = ((sorted.length - 1) * p) / 100;
  const lo = Math.floor(position);
  const hi = Math.min(lo + 1, sorted.length - 1);
  const a = sorted[lo] as number;
  const b = sorted[hi] as number;
  return a + (b - a) * (position - lo);
}

/** Percentiles every summary carries, matching what autotune asks `vllm bench serve` for. */
export const SUMMARY_PERCENTILES = ['50', '90', '99'] as const;

export function latencyStatsOf(values: readonly number[], percentiles: readonly string[] = SUMMARY_PERCENTILES): LatencyStats {
  const n = values.length;
  const mean = n === 0 ? 0 : values.reduce((x, y) => x + y, 0) / n;
  const std = n === 0 ? 0 : Math.sqrt(values.reduce((x, y) => x + (y - mean) ** 2, 0) / n);
  const percentilesMs: Record<string, number> = {};
  for (const p of percentiles) percentilesMs[p] = percentileOf(values, Number(p));
  return { meanMs: mean, medianMs: percentileOf(values, 50), stdMs: std, percentilesMs };
}

/**
 * The summary of per-request records over `durationS`, computed as vLLM's `calculate_metrics`
 * does: only successful requests count; TPOT over requests with at least 2 tokens; ITL over
 * every gap of every request.
 */
export function summarizeRequests(records: readonly RequestRecord[], durationS: number): ServeSummary {
  const ok = records.filter((r) => r.ok);
  const inputTokens = ok.reduce((x, r) => x + r.inputTokens, 0);
  const outputTokens = ok.reduce((x, r) => x + r.outputTokens, 0);
  const numbers = (pick: (r: RequestRecord) => number | null): number[] =>
    ok.map(pick).filter((v): v is number => v !== null);
  const seconds = durationS > 0 ? durationS : Number.POSITIVE_INFINITY;
  return {
    completed: ok.length,
    failed: records.length - ok.length,
    durationS,
    totalInputTokens: inputTokens,
    totalOutputTokens: outputTokens,
    requestThroughput: ok.length / seconds,
    outputThroughput: outputTokens / seconds,
    totalTokenThroughput: (inputTokens + outputTokens) / seconds,
    latency: {
      ttft: latencyStatsOf(numbers((r) => r.ttftMs)),
      tpot: latencyStatsOf(numbers((r) => r.tpotMs)),
      itl: latencyStatsOf(ok.flatMap((r) => r.itlMs)),
      e2el: latencyStatsOf(numbers((r) => r.e2elMs)),
    },
  };
}

/** Decode tokens/s of one stream: output tokens after the first over the time after the first. */
export function decodeTokensPerSec(summary: ServeSummary): number | null {
  const tpot = summary.latency.tpot?.meanMs;
  return tpot === undefined || tpot <= 0 ? null : 1000 / tpot;
}
