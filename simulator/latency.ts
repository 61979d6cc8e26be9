/**
 * The simulated `vllm bench latency`: its arguments, the time of each iteration of one batch,
 * and the statistics and JSON it prints (vllm-project/vllm:vllm/benchmarks/latency.py@00cae07).
 * Pure and deterministic: iteration noise is keyed like the throughput noise (scenario seed,
 * configuration signature, trial key, trial ordinal) plus the point and the iteration.
 */
import { argFlag, argValue } from './argv.js';
import type { SimResult } from './model.js';
import { standardNormal } from './prng.js';
import type { LatencyModel, Scenario } from './scenario.js';

export interface LatencyArgs {
  readonly batchSize: number;
  readonly inputLen: number;
  readonly outputLen: number;
  readonly warmup: number;
  readonly measured: number;
  readonly n: number;
  readonly profile: boolean;
  readonly outputJson: string | null;
  /** `--max-model-len` as given, or null. */
  readonly maxModelLen: number | null;
}

/** vLLM's `add_cli_args` defaults. */
const DEFAULTS = { batchSize: 8, inputLen: 32, outputLen: 128, warmup: 10, measured: 30, n: 1 } as const;

const INT_FLAGS = [
  ['--batch-size', 'batchSize'],
  ['--input-len', 'inputLen'],
  ['--output-len', 'outputLen'],
  ['--num-iters-warmup', 'warmup'],
  ['--num-iters', 'measured'],
  ['--n', 'n'],
] as const;

/** The arguments, or argparse's complaint (`argument --batch-size: invalid int value: 'x'`). */
export function readLatencyArgs(args: readonly string[]): LatencyArgs | { readonly problem: string } {
  const values: Record<(typeof INT_FLAGS)[number][1], number> = { ...DEFAULTS };
  for (const [flag, field] of INT_FLAGS) {
    const text = argValue(args, flag);
    if (text === null) continue;
    if (!/^-?\d+$/.test(text)) return { problem: `argument ${flag}: invalid int value: '${text}'` };
    values[field] = Number(text);
  }
  const maxLen = argValue(args, '--max-model-len');
  return {
    ...values,
    profile: argFlag(args, '--profile'),
    outputJson: argValue(args, '--output-json'),
    maxModelLen: maxLen !== null && /^\d+$/.test(maxLen) ? Number(maxLen) : null,
  };
}

/** Noise-free seconds of one batch of `sequences` prompts on the baseline configuration. */
export function batchSeconds(m: LatencyModel, sequences: number, inputLen: number, outputLen: number): number {
  const prefillMs = (m.prefillMsPerKToken * sequences * inputLen) / 1000;
  const averageContext = inputLen + outputLen / 2;
  const stepMs = m.decodeStepMs + m.decodeMsPerSequence * sequences + (m.decodeMsPerKContext * sequences * averageContext) / 1000;
  return (prefillMs + Math.max(0, outputLen - 1) * stepMs) / 1000;
}

/** The first iterations pay compilation and autotuning: +30 %, +6 %, +1.2 %, ... (why warm-ups exist). */
const FIRST_ITERATION_PENALTY = 0.3;
const PENALTY_DECAY = 0.2;

export type LatencyOutcome = 'ok' | 'oom' | 'too_long';

export interface LatencyRun {
  readonly outcome: LatencyOutcome;
  readonly warmupS: readonly number[];
  readonly measuredS: readonly number[];
}

/**
 * Iteration times of a run whose engine started (`result.outcome` ok): each iteration is the
 * batch time divided by the configuration's throughput factor (op effects, interactions,
 * FlagGems overhead, cold start, drift, outlier, device speed), times its own log-normal noise.
 */
export function simulateLatency(s: Scenario, result: SimResult, a: LatencyArgs, noiseKey: string): LatencyRun {
  const maxModelLen = a.maxModelLen ?? s.latency.maxModelLen;
  if (a.inputLen + a.outputLen > maxModelLen) return { outcome: 'too_long', warmupS: [], measuredS: [] };
  const sequences = a.batchSize * a.n;
  if (sequences * (a.inputLen + a.outputLen) > s.latency.oomTokens) return { outcome: 'oom', warmupS: [], measuredS: [] };
  const b = result.breakdown;
  const runLog = b === null ? 0 : b.ops + b.interactions + b.overhead + b.cold + b.drift + b.outlier + b.device;
  const anyFlagos = Object.values(result.active).includes('flagos');
  const sigma = s.noise.cv + (anyFlagos ? s.noise.flaggemsExtraCv : 0);
  const base = batchSeconds(s.latency, sequences, a.inputLen, a.outputLen) / Math.exp(runLog);
  const point = `${a.batchSize}x${a.inputLen}x${a.outputLen}x${a.n}`;
  const iteration = (k: number): number =>
    base * (1 + FIRST_ITERATION_PENALTY * PENALTY_DECAY ** k) * Math.exp(sigma * standardNormal(`${noiseKey}|latency|${point}|${k}`));
  const all = Array.from({ length: Math.max(0, a.warmup) + Math.max(0, a.measured) }, (_, k) => iteration(k));
  return { outcome: 'ok', warmupS: all.slice(0, Math.max(0, a.warmup)), measuredS: all.slice(Math.max(0, a.warmup)) };
}

export const PERCENTAGES = [10, 25, 50, 75, 90, 99] as const;

/** numpy.percentile's default (linear) method, including its lerp that is exact at both ends. */
export function percentile(values: readonly number[], q: number): number {
  const sorted = [...values].sort((x, y) => x - y);
  const position = ((sorted.length - 1) * q) / 100;
  const lo = Math.floor(position);
  const hi = Math.min(lo + 1, sorted.length - 1);
  const t = position - lo;
  const a = sorted[lo] as number;
  const b = sorted[hi] as number;
  const diff = b - a;
  return t >= 0.5 ? b - diff * (1 - t) : a + diff * t;
}

export interface LatencyStats {
  readonly avg: number;
  /** Population standard deviation, numpy's default. */
  readonly std: number;
  readonly percentiles: ReadonlyArray<readonly [number, number]>;
}

export function latencyStats(values: readonly number[]): LatencyStats {
  const avg = values.reduce((x, y) => x + y, 0) / values.length;
  const std = Math.sqrt(values.reduce((x, y) => x + (y - avg) ** 2, 0) / values.length);
  return { avg, std, percentiles: PERCENTAGES.map((p) => [p, percentile(values, p)] as const) };
}

/** Python's float repr: shortest round trip, an exponent below 1e-4 and from 1e16, `.0` on integers. */
export function pyFloat(x: number): string {
  if (Number.isNaN(x)) return 'nan';
  if (!Number.isFinite(x)) return x > 0 ? 'inf' : '-inf';
  const abs = Math.abs(x);
  if (abs !== 0 && (abs < 1e-4 || abs >= 1e16)) {
    const [mantissa, exponent] = x.toExponential().split('e') as [string, string];
    const sign = exponent.startsWith('-') ? '-' : '+';
    return `${mantissa}e${sign}${exponent.replace(/^[-+]/, '').padStart(2, '0')}`;
  }
  const text = String(x);
  return /[.e]/.test(text) ? text : `${text}.0`;
}

/** The lines `main` prints after the measured iterations. */
export function resultLines(stats: LatencyStats): string[] {
  return [
    `Avg latency: ${pyFloat(stats.avg)} seconds`,
    `Std latency: ${pyFloat(stats.std)} seconds`,
    ...stats.percentiles.map(([p, v]) => `${p}% percentile latency: ${pyFloat(v)} seconds`),
  ];
}

/** `json.dump(results, f, indent=4)` of vLLM's results dict, Python float reprs included. */
export function outputJsonText(stats: LatencyStats, latencies: readonly number[]): string {
  const list = latencies.map((v) => `        ${pyFloat(v)}`).join(',\n');
  const percentiles = stats.percentiles.map(([p, v]) => `        "${p}": ${pyFloat(v)}`).join(',\n');
  return [
    '{',
    `    "avg_latency": ${pyFloat(stats.avg)},`,
    `    "std_latency": ${pyFloat(stats.std)},`,
    `    "latencies": [\n${list}\n    ],`,
    `    "percentiles": {\n${percentiles}\n    }`,
    '}',
  ].join('\n');
}
