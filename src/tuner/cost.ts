/**
 * What a configuration costs in GPUs, from its output tokens/s and the GPUs one engine
 * occupies: the sweep analyser's per-GPU throughput, GPU-days to generate 1B output tokens
 * and GPUs needed to generate 1B output tokens per hour. Pure.
 */
import type { MetricInfo } from './metrics.js';
import { lastFlagValue } from './vllm-flags.js';

export interface Parallelism {
  readonly tp: number;
  readonly pp: number;
  readonly dp: number;
}

/** A positive whole count, else 1 (vLLM's default for every parallel size). */
function countOf(args: readonly string[], flags: readonly string[]): number {
  const n = Number(lastFlagValue(args, flags));
  return Number.isSafeInteger(n) && n > 0 ? n : 1;
}

/** Tensor-, pipeline- and data-parallel sizes of vLLM arguments (1 where not given). */
export function parallelismOf(args: readonly string[]): Parallelism {
  return {
    tp: countOf(args, ['--tensor-parallel-size', '-tp']),
    pp: countOf(args, ['--pipeline-parallel-size', '-pp']),
    dp: countOf(args, ['--data-parallel-size', '-dp']),
  };
}

export const gpuCount = (p: Parallelism): number => p.tp * p.pp * p.dp;

/** GPUs one engine of a point occupies: its slot's devices when the session gave GPU groups, else tp x pp x dp. */
export const pointGpus = (p: Parallelism, slotDevices: number | null): number => slotDevices ?? gpuCount(p);

const OUTPUT_TPS_PER_GPU = 'output_tps_per_gpu';
const GPU_DAYS_PER_1B = 'gpu_days_to_process_1b_tokens';
const GPUS_FOR_1B_PER_HOUR = 'gpus_for_1b_tokens_per_hour';

/** The derived figures, named as the sweep analyser's columns. */
export const COST_METRICS: readonly MetricInfo[] = [
  { name: OUTPUT_TPS_PER_GPU, unit: 'tokens/s/GPU', direction: 'maximize', label: 'output tokens/s per GPU' },
  { name: GPU_DAYS_PER_1B, unit: 'GPU-days', direction: 'minimize', label: 'GPU-days to generate 1B output tokens' },
  { name: GPUS_FOR_1B_PER_HOUR, unit: 'GPUs', direction: 'minimize', label: 'GPUs to generate 1B output tokens per hour' },
];

export interface Cost {
  readonly outputTpsPerGpu: number;
  readonly gpuDaysPer1B: number;
  readonly gpusFor1BPerHour: number;
}

const BILLION = 1e9;

/** Null without a positive throughput (a failed point costs nothing it could be compared by). */
export function costOf(outputTokensPerS: number | null | undefined, gpus: number): Cost | null {
  if (outputTokensPerS === null || outputTokensPerS === undefined || !(outputTokensPerS > 0) || !(gpus > 0)) return null;
  const perGpu = outputTokensPerS / gpus;
  return { outputTpsPerGpu: perGpu, gpuDaysPer1B: BILLION / perGpu / 86_400, gpusFor1BPerHour: BILLION / 3_600 / perGpu };
}

export function costMetrics(c: Cost): Record<string, number> {
  return { [OUTPUT_TPS_PER_GPU]: c.outputTpsPerGpu, [GPU_DAYS_PER_1B]: c.gpuDaysPer1B, [GPUS_FOR_1B_PER_HOUR]: c.gpusFor1BPerHour };
}
