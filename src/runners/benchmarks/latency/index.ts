/**
 * `vllm bench latency` for one grid point: the trial's workload names the point
 * (`batch_size`, `input_len`, `output_len`) and the iterations (`num_iters_warmup`,
 * `num_iters`, vLLM's defaults when absent); vLLM discards the warm-up iterations itself.
 * Metrics: latency avg/p50/p90/p99 in seconds per batch, tokens/s of the batch, and MFU when
 * the workload carries the point's `flops` and the GPUs' `peak_flops` (FLOP/s, all GPUs), and the
 * engine's memory lines (log-memory.ts).
 */
import { AutotuneError } from '../../../errors.js';
import type { Measurement } from '../../../tuner/metrics.js';
import type { RunRequest } from '../../../tuner/ports.js';
import { memoryMetrics, parseLogMemory } from '../../log-memory.js';
import type { BenchmarkKind } from '../kind.js';
import { buildLatencyArgv, splitLatencyArgs, VLLM_LATENCY_DEFAULTS, type LatencyIterations, type LatencyPoint } from './args.js';
import { classifyLatencyRun } from './classify.js';
import { mergeLatencyResults, parseLatencyJson, parseLatencyLog } from './parse.js';

function count(request: RunRequest, name: string, fallback: number | null): number {
  const v = request.trial.workload?.[name];
  const n = typeof v === 'number' ? v : typeof v === 'string' ? Number(v) : fallback;
  if (n === null || !Number.isSafeInteger(n)) throw new AutotuneError('E_CONFIG', `latency trial ${request.trial.key} has no whole-number ${name}`);
  return n;
}

export function latencyPointOf(request: RunRequest): { point: LatencyPoint; iterations: LatencyIterations } {
  return {
    point: { batchSize: count(request, 'batch_size', null), inputLen: count(request, 'input_len', null), outputLen: count(request, 'output_len', null) },
    iterations: {
      warmup: count(request, 'num_iters_warmup', VLLM_LATENCY_DEFAULTS.warmup),
      measured: count(request, 'num_iters', VLLM_LATENCY_DEFAULTS.measured),
    },
  };
}

export const latencyBenchmark: BenchmarkKind = {
  name: 'latency',
  argv(request) {
    const { rest, given } = splitLatencyArgs([...request.passthrough, ...request.trial.extraArgs]);
    const json = request.outputJsonPath ?? given.outputJson;
    if (json === null) throw new AutotuneError('E_CONFIG', 'a latency run needs an --output-json path');
    const { point, iterations } = latencyPointOf(request);
    return buildLatencyArgv(rest, point, iterations, json);
  },
  measure(log, json, request): Measurement | null {
    const m = mergeLatencyResults(json === null ? null : parseLatencyJson(json), parseLatencyLog(log));
    if (m === null) return null;
    const { point } = latencyPointOf(request);
    const out: Record<string, number> = {
      ...memoryMetrics(parseLogMemory(log)),
      latency_avg_s: m.avgS,
      output_tokens_per_s: (point.batchSize * point.outputLen) / m.avgS,
      total_tokens_per_s: (point.batchSize * (point.inputLen + point.outputLen)) / m.avgS,
    };
    // The planner puts the point's FLOPs and the GPUs' summed peak in the workload when it knows the model.
    const flops = request.trial.workload?.['flops'];
    const peak = request.trial.workload?.['peak_flops'];
    if (typeof flops === 'number' && typeof peak === 'number' && peak > 0) out['mfu'] = flops / m.avgS / peak;
    for (const [at, name] of [[50, 'latency_p50_s'], [90, 'latency_p90_s'], [99, 'latency_p99_s']] as const) {
      const v = m.percentilesS[at];
      if (v !== undefined) out[name] = v;
    }
    return out;
  },
  classify: classifyLatencyRun,
};
