/** The throughput triple back from named metrics, for assertions written against release 0.1.0's shape. */
import { OUTPUT_TOKENS_PER_S, REQUESTS_PER_S, TOTAL_TOKENS_PER_S, type Measurement } from '../../src/tuner/metrics.js';
import type { Throughput } from '../../src/tuner/types.js';

/** Null without a total, as release 0.1.0 stored no throughput then. */
export function toThroughput(m: Measurement | null): Throughput | null {
  const total = m?.[TOTAL_TOKENS_PER_S];
  if (m === null || total === undefined) return null;
  return { totalTokensPerSec: total, outputTokensPerSec: m[OUTPUT_TOKENS_PER_S] ?? null, requestsPerSec: m[REQUESTS_PER_S] ?? null };
}
