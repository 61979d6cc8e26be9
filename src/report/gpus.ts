/** GPUs one benchmark invocation occupies, and GPU-hours, from the session's vLLM arguments. Pure. */
import { gpuCount, parallelismOf } from '../tuner/cost.js';

/** Tensor-parallel x pipeline-parallel x data-parallel size (1 when none is given). */
export function gpusPerRun(args: readonly string[]): number {
  return gpuCount(parallelismOf(args));
}

export function gpuHours(durationMs: number, gpus: number): number {
  return (durationMs * gpus) / 3_600_000;
}
