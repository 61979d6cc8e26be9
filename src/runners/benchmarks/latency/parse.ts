/**
 * Reads `vllm bench latency`'s result from its console log and its --output-json file. Pure.
 * Formats (vllm-project/vllm:vllm/benchmarks/latency.py@00cae07, `main`), printed with Python's
 * float repr, so full precision and sometimes an exponent (`9.5e-05`):
 *
 *     Avg latency: 1.2345678 seconds
 *     Std latency: 0.0123 seconds                       (absent from older releases)
 *     10% percentile latency: 1.21 seconds              (10, 25, 50, 75, 90, 99)
 *
 * and `{"avg_latency", "std_latency", "latencies": [...], "percentiles": {"10": ..., ...}}`.
 */
import { splitLogLines } from '../../log-text.js';

export const LATENCY_PERCENTILES = [10, 25, 50, 75, 90, 99] as const;
export type LatencyPercentile = (typeof LATENCY_PERCENTILES)[number];

/** One run's figures, in seconds per batch (one `llm.generate` of the whole batch). */
export interface LatencyMeasurement {
  readonly avgS: number;
  /** Population standard deviation (numpy's default); null when the run did not report it. */
  readonly stdS: number | null;
  /** vLLM's percentiles (numpy's linear interpolation); a missing one is absent. */
  readonly percentilesS: Readonly<Partial<Record<LatencyPercentile, number>>>;
  /** Every measured iteration, warm-ups excluded; only the JSON file has them. */
  readonly latenciesS: readonly number[] | null;
}

/** Python float repr, `nan`/`inf` excluded: those are no measurement. */
const FLOAT = String.raw`(\d+(?:\.\d*)?(?:[eE][-+]?\d+)?)`;
const AVG_LINE = new RegExp(String.raw`Avg latency:\s*${FLOAT}\s*seconds`);
const STD_LINE = new RegExp(String.raw`Std latency:\s*${FLOAT}\s*seconds`);
const PERCENTILE_LINE = new RegExp(String.raw`(\d+)% percentile latency:\s*${FLOAT}\s*seconds`);

function isPercentile(value: number): value is LatencyPercentile {
  return (LATENCY_PERCENTILES as readonly number[]).includes(value);
}

/**
 * The last result block of the log, or null when there is none. A block starts at an
 * `Avg latency:` line; the std and percentile lines that follow belong to it.
 */
export function parseLatencyLog(log: string): LatencyMeasurement | null {
  let last: LatencyMeasurement | null = null;
  let avg: number | null = null;
  let std: number | null = null;
  let percentiles: Partial<Record<LatencyPercentile, number>> = {};
  const close = (): void => {
    if (avg !== null) last = { avgS: avg, stdS: std, percentilesS: percentiles, latenciesS: null };
  };
  for (const line of splitLogLines(log)) {
    // Cheap filter first: a multi-MB log is mostly lines without the word.
    if (!line.includes('latency:')) continue;
    const a = AVG_LINE.exec(line);
    if (a !== null) {
      close();
      avg = Number(a[1]);
      std = null;
      percentiles = {};
      continue;
    }
    if (avg === null) continue;
    const s = STD_LINE.exec(line);
    if (s !== null) {
      std = Number(s[1]);
      continue;
    }
    const p = PERCENTILE_LINE.exec(line);
    const at = p === null ? Number.NaN : Number(p[1]);
    if (p !== null && isPercentile(at)) percentiles[at] = Number(p[2]);
  }
  close();
  return last;
}

function finite(value: unknown): value is number {
  return typeof value === 'number' && Number.isFinite(value);
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * vLLM's --output-json file. `avg_latency` is required; anything malformed (including the
 * `NaN` Python writes for an empty run, which is not JSON) gives null.
 */
export function parseLatencyJson(text: string): LatencyMeasurement | null {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch {
    return null;
  }
  if (!isRecord(data) || !finite(data['avg_latency'])) return null;
  const latencies = data['latencies'];
  const list = Array.isArray(latencies) && latencies.length > 0 && latencies.every(finite) ? latencies : null;
  const percentiles: Partial<Record<LatencyPercentile, number>> = {};
  const raw = data['percentiles'];
  if (isRecord(raw)) {
    for (const at of LATENCY_PERCENTILES) {
      const value = raw[String(at)];
      if (finite(value)) percentiles[at] = value;
    }
  }
  const std = data['std_latency'];
  return { avgS: data['avg_latency'], stdS: finite(std) ? std : null, percentilesS: percentiles, latenciesS: list };
}

/**
 * The JSON file is the richer source (it alone has the iterations); the console fills what an
 * older file lacks. Both print the same Python floats, so they agree where both exist.
 */
export function mergeLatencyResults(json: LatencyMeasurement | null, log: LatencyMeasurement | null): LatencyMeasurement | null {
  if (json === null) return log;
  if (log === null) return json;
  return {
    avgS: json.avgS,
    stdS: json.stdS ?? log.stdS,
    percentilesS: { ...log.percentilesS, ...json.percentilesS },
    latenciesS: json.latenciesS,
  };
}
