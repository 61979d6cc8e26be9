/**
 * Reads `vllm bench serve`'s result from its console summary and its --save-result JSON. Pure.
 * Formats: vllm-project/vllm:vllm/benchmarks/serve.py@009e6d4 (`benchmark`, `process_one_metric`):
 *
 *     ============ Serving Benchmark Result ============
 *     Successful requests:                     1000
 *     Failed requests:                         0                  (absent from older releases)
 *     Maximum request concurrency:             64                 (only with --max-concurrency)
 *     Benchmark duration (s):                  52.31
 *     Total input tokens:                      1024000
 *     Total generated tokens:                  128000
 *     Request throughput (req/s):              19.12
 *     Output token throughput (tok/s):         2447.01
 *     Total token throughput (tok/s):          22022.99          (older: "Total Token throughput")
 *     ---------------Time to First Token----------------
 *     Mean TTFT (ms):                          183.22
 *     Median TTFT (ms):                        170.01
 *     P99 TTFT (ms):                           412.50             (one line per --metric-percentiles)
 *     ... TPOT, ITL, E2EL blocks alike ...
 *     ==================================================
 *
 * Every value is `{:<10.2f}`, so the console has 2 decimals; the JSON has full precision and
 * `std_*_ms`, which the console lacks.
 */
import type { LatencyMetric, LatencyStats, ServeSummary } from '../../../tuner/serve-metrics.js';
import { LATENCY_METRICS } from '../../../tuner/serve-metrics.js';
import { splitLogLines } from '../../log-text.js';

const BLOCK_START = /=+ Serving Benchmark Result =+/;
const BLOCK_END = /^={50}\s*$/;
const NUMBER = String.raw`(-?\d+(?:\.\d*)?(?:[eE][-+]?\d+)?|nan|inf)`;
const FIELD = new RegExp(String.raw`^([A-Za-z][A-Za-z0-9 ()/.%-]*?):\s+${NUMBER}\s*$`);
const METRIC_NAME: Readonly<Record<string, LatencyMetric>> = { TTFT: 'ttft', TPOT: 'tpot', ITL: 'itl', E2EL: 'e2el' };
const STAT_LINE = /^(Mean|Median|P(\d+(?:\.\d+)?)) (TTFT|TPOT|ITL|E2EL) \(ms\)$/;

interface MutableStats {
  mean?: number;
  median?: number;
  std?: number;
  percentiles: Record<string, number>;
}

function finish(stats: Partial<Record<LatencyMetric, MutableStats>>): Partial<Record<LatencyMetric, LatencyStats>> {
  const out: Partial<Record<LatencyMetric, LatencyStats>> = {};
  for (const metric of LATENCY_METRICS) {
    const s = stats[metric];
    if (s?.mean === undefined || s.median === undefined) continue;
    out[metric] = { meanMs: s.mean, medianMs: s.median, stdMs: s.std ?? null, percentilesMs: s.percentiles };
  }
  return out;
}

/** Strips wrappers in front of a printed line (srun labels, container log prefixes). */
function payload(line: string): string {
  return line.replace(/^\d+:\s+/, '').replace(/^\([^)]*\)\s*/, '').trimEnd();
}

/**
 * The last complete summary block of the log, or null when there is none (or it lacks the
 * request count, duration or request throughput: then it is no measurement).
 */
export function parseServeLog(log: string): ServeSummary | null {
  const lines = splitLogLines(log).map(payload);
  let last: ServeSummary | null = null;
  for (let i = 0; i < lines.length; i++) {
    if (!BLOCK_START.test(lines[i] as string)) continue;
    const fields = new Map<string, number>();
    const stats: Partial<Record<LatencyMetric, MutableStats>> = {};
    let j = i + 1;
    for (; j < lines.length; j++) {
      const line = lines[j] as string;
      if (BLOCK_END.test(line) || BLOCK_START.test(line)) break;
      const m = FIELD.exec(line);
      if (m === null) continue;
      const label = m[1] as string;
      const value = Number(m[2]);
      const stat = STAT_LINE.exec(label);
      if (stat !== null) {
        const metric = METRIC_NAME[stat[3] as string] as LatencyMetric;
        const s = (stats[metric] ??= { percentiles: {} });
        if (stat[1] === 'Mean') s.mean = value;
        else if (stat[1] === 'Median') s.median = value;
        else s.percentiles[stat[2] as string] = value;
        continue;
      }
      fields.set(label.toLowerCase(), value);
    }
    const summary = toSummary(fields, finish(stats));
    if (summary !== null) last = summary;
    i = j - 1;
  }
  return last;
}

function toSummary(fields: ReadonlyMap<string, number>, latency: Partial<Record<LatencyMetric, LatencyStats>>): ServeSummary | null {
  const get = (label: string): number | null => {
    const v = fields.get(label);
    return v === undefined || !Number.isFinite(v) ? null : v;
  };
  const completed = get('successful requests');
  const durationS = get('benchmark duration (s)');
  const requestThroughput = get('request throughput (req/s)');
  if (completed === null || durationS === null || requestThroughput === null) return null;
  return {
    completed,
    failed: get('failed requests'),
    durationS,
    totalInputTokens: get('total input tokens'),
    totalOutputTokens: get('total generated tokens'),
    requestThroughput,
    outputThroughput: get('output token throughput (tok/s)'),
    // vLLM renamed "Total Token throughput" to "Total token throughput"; the labels are lower-cased above.
    totalTokenThroughput: get('total token throughput (tok/s)'),
    latency,
  };
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function finite(value: unknown): value is number {
  return typeof value === 'number' && Number.isFinite(value);
}

/**
 * The --save-result file. `completed`, `duration` and `request_throughput` are required.
 * Python's json writes NaN for an empty statistic, which is not JSON: such a file is read after
 * replacing the bare NaN/Infinity tokens by null, so one empty metric does not lose the run.
 * Older files lack `failed`; it is then counted from `errors` (one entry per request, "" when ok).
 */
export function parseServeJson(text: string): ServeSummary | null {
  let data: unknown;
  try {
    data = JSON.parse(text.replace(/(?<=[:\[,]\s*)-?(?:NaN|Infinity)(?=\s*[,\]}])/g, 'null'));
  } catch {
    return null;
  }
  if (!isRecord(data)) return null;
  const num = (key: string): number | null => (finite(data[key]) ? (data[key] as number) : null);
  const completed = num('completed');
  const durationS = num('duration');
  const requestThroughput = num('request_throughput');
  if (completed === null || durationS === null || requestThroughput === null) return null;
  const errors = data['errors'];
  const failed = num('failed') ?? (Array.isArray(errors) ? errors.filter((e) => typeof e === 'string' && e !== '').length : null);
  const latency: Partial<Record<LatencyMetric, LatencyStats>> = {};
  for (const metric of LATENCY_METRICS) {
    const meanMs = num(`mean_${metric}_ms`);
    const medianMs = num(`median_${metric}_ms`);
    if (meanMs === null || medianMs === null) continue;
    const percentilesMs: Record<string, number> = {};
    const suffix = `_${metric}_ms`;
    for (const [key, value] of Object.entries(data)) {
      const m = /^p(\d+(?:\.\d+)?)_/.exec(key);
      if (m !== null && key.endsWith(suffix) && key === `p${m[1] as string}${suffix}` && finite(value)) percentilesMs[m[1] as string] = value;
    }
    latency[metric] = { meanMs, medianMs, stdMs: num(`std_${metric}_ms`), percentilesMs };
  }
  return {
    completed,
    failed,
    durationS,
    totalInputTokens: num('total_input_tokens'),
    totalOutputTokens: num('total_output_tokens'),
    requestThroughput,
    outputThroughput: num('output_throughput'),
    totalTokenThroughput: num('total_token_throughput'),
    latency,
  };
}

/** The JSON file has full precision and std; the console fills what it lacks. */
export function mergeServeResults(json: ServeSummary | null, log: ServeSummary | null): ServeSummary | null {
  if (json === null) return log;
  if (log === null) return json;
  const latency: Partial<Record<LatencyMetric, LatencyStats>> = { ...log.latency };
  for (const metric of LATENCY_METRICS) {
    const j = json.latency[metric];
    const l = log.latency[metric];
    if (j !== undefined) latency[metric] = { ...j, percentilesMs: { ...(l?.percentilesMs ?? {}), ...j.percentilesMs } };
  }
  return {
    completed: json.completed,
    failed: json.failed ?? log.failed,
    durationS: json.durationS,
    totalInputTokens: json.totalInputTokens ?? log.totalInputTokens,
    totalOutputTokens: json.totalOutputTokens ?? log.totalOutputTokens,
    requestThroughput: json.requestThroughput,
    outputThroughput: json.outputThroughput ?? log.outputThroughput,
    totalTokenThroughput: json.totalTokenThroughput ?? log.totalTokenThroughput,
    latency,
  };
}
