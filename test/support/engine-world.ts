/**
 * A synthetic engine world for the tiers policy's unit tests: per-GPU throughput with a knee
 * over max-num-seqs and batched tokens, tensor-parallel efficiency, and a memory ceiling past
 * which a run is an OOM. Seeded noise; pure.
 */
import { fromThroughput } from '../../src/tuner/metrics.js';
import type { Policy, PolicyContext, PolicyEvent, RunStep } from '../../src/tuner/policy.js';
import type { FinalResult } from '../../src/tuner/policy.js';
import { seededRandom } from '../../src/tuner/policies/noise/schedule.js';
import { KV_CACHE_SHORTAGE, type Observation } from '../../src/tuner/types.js';

export interface EngineWorld {
  /** Per-GPU output tokens/s at the ideal batch. */
  readonly peak: number;
  readonly seqKnee: number;
  /** Relative loss per doubling of max-num-seqs past `seqPeak`. */
  readonly seqPeak: number;
  readonly tokensKnee: number;
  readonly tokensPeak: number;
  /** Per-GPU efficiency by tensor-parallel size. */
  readonly tpEfficiency: Readonly<Record<number, number>>;
  /** GiB per GPU: weights / tp + per sequence + per 1k batched tokens, against `memory`. */
  readonly weightsGiB: number;
  readonly perSeqGiB: number;
  readonly perKTokenGiB: number;
  readonly memory: number;
  /**
   * Past the ceiling the KV cache cannot hold a request (vLLM's ValueError) rather than a CUDA
   * OOM: then gpu-memory-utilization scales the memory there is (`memory` at 0.9).
   */
  readonly kvCacheCeiling?: boolean;
  /** Throughput factor of each --speculative-config value (none: 1). */
  readonly speculative?: Readonly<Record<string, number>>;
  readonly sigma: number;
  readonly seed: number;
}

export const DENSE_SMALL: EngineWorld = {
  peak: 10000, seqKnee: 300, seqPeak: 1024, tokensKnee: 6000, tokensPeak: 32768,
  tpEfficiency: { 1: 1, 2: 0.85, 4: 0.7 }, weightsGiB: 8, perSeqGiB: 0.02, perKTokenGiB: 0.5, memory: 70, sigma: 0.01, seed: 1,
};

/** A point's arguments as numbers (`--max-num-seqs 512` -> max-num-seqs: 512). */
export function argsOf(args: readonly string[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (let i = 0; i < args.length; i++) {
    const a = args[i] as string;
    if (a.startsWith('--') && args[i + 1] !== undefined && !String(args[i + 1]).startsWith('--')) out[a.slice(2)] = Number(args[++i]);
  }
  return out;
}

export function settings(args: readonly string[]): { tp: number; mns: number; mnbt: number; gmu: number } {
  const a = argsOf(args);
  return { tp: a['tensor-parallel-size'] ?? 1, mns: a['max-num-seqs'] ?? 256, mnbt: a['max-num-batched-tokens'] ?? 8192, gmu: a['gpu-memory-utilization'] ?? 0.9 };
}

/** The memory a configuration may use: a KV-cache ceiling moves with gpu-memory-utilization. */
export function memoryOf(w: EngineWorld, args: readonly string[]): number {
  return w.kvCacheCeiling === true ? (w.memory * settings(args).gmu) / 0.9 : w.memory;
}

export function memoryNeeded(w: EngineWorld, args: readonly string[]): number {
  const { tp, mns, mnbt } = settings(args);
  return w.weightsGiB / tp + w.perSeqGiB * mns + (w.perKTokenGiB * mnbt) / 1024;
}

/** Noise-free per-GPU throughput, or null past the memory ceiling. */
export function truth(w: EngineWorld, args: readonly string[]): number | null {
  if (memoryNeeded(w, args) > memoryOf(w, args)) return null;
  const { tp, mns, mnbt } = settings(args);
  const seq = (mns / (mns + w.seqKnee)) * (mns > w.seqPeak ? Math.pow(0.97, Math.log2(mns / w.seqPeak)) : 1);
  const tok = (mnbt / (mnbt + w.tokensKnee)) * (mnbt > w.tokensPeak ? Math.pow(0.97, Math.log2(mnbt / w.tokensPeak)) : 1);
  const spec = args[args.indexOf('--speculative-config') + 1];
  const speculation = args.includes('--speculative-config') && spec !== undefined ? (w.speculative?.[spec] ?? 1) : 1;
  return w.peak * seq * tok * (w.tpEfficiency[tp] ?? 0.5) * speculation;
}

export interface Driven {
  readonly result: FinalResult | null;
  readonly failed: string | null;
  readonly steps: RunStep[];
  /** Every event, those of the last step included. */
  readonly events: PolicyEvent[];
}

/** Drives a policy against the world; the benchmark reports total throughput (per-GPU x GPUs). */
export function drive(policy: Policy, ctx: PolicyContext, w: EngineWorld, limit = 2000): Driven {
  const random = seededRandom(w.seed);
  const cursor = policy.start(ctx);
  const steps: RunStep[] = [];
  let step = cursor.next();
  while (step.type === 'run') {
    if (steps.length >= limit) throw new Error('policy did not finish');
    steps.push(step);
    const t = truth(w, step.trial.extraArgs);
    const gpus = settings(step.trial.extraArgs).tp;
    const noise = Math.exp(w.sigma * Math.sqrt(-2 * Math.log(random() + 1e-12)) * Math.cos(2 * Math.PI * random()));
    const value = t === null ? null : t * gpus * noise * (step.kind === 'warmup' ? 0.97 : 1);
    const o: Observation = {
      trialKey: step.trial.key,
      kind: step.kind,
      outcome: value === null ? 'oom' : 'ok',
      metrics: value === null ? null : fromThroughput({ requestsPerSec: value / 200, totalTokensPerSec: value * 1.5, outputTokensPerSec: value }),
      executedOps: null,
      durationMs: 1000,
      failure: value !== null ? null : w.kvCacheCeiling === true ? `${KV_CACHE_SHORTAGE}: ValueError: No available memory for the cache blocks.` : 'CUDA out of memory: torch.OutOfMemoryError: CUDA out of memory.',
    };
    step = cursor.next(o);
  }
  const events = [...steps.flatMap((s) => s.events), ...step.events];
  return { result: step.type === 'done' ? step.result : null, failed: step.type === 'fail' ? step.message : null, steps, events };
}
