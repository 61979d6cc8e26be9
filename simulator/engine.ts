/**
 * Engine-argument effects of a scenario with an `engine` section: the memory plan vLLM makes
 * per GPU (weights over tp x pp, the profile run's activations, the KV cache inside
 * gpu-memory-utilization, CUDA graphs outside it), the failures past its ceiling, and the
 * throughput the batching, parallelism, speculative decoding and KV-cache arguments give. Pure:
 * the bin, the serve and latency modes, tests and benchmarks all call the same functions, so a
 * scenario's optimum over an engine grid is exact.
 */
import { readEngineArgs, type EngineArgs } from './engine-args.js';
import type { Metric } from './effects.js';
import { baselineOf } from './effects.js';
import type { Scenario } from './scenario.js';

export interface SpeculativeGain {
  /** Throughput factor at `bestTokens` speculative tokens; below 1 when speculation costs more than it saves. */
  readonly gain: number;
  readonly bestTokens: number;
}

/** A scenario's engine, every field defaulted (an 8 B dense bf16 model on 80 GB H100s). */
export interface EngineModel {
  readonly weightsGiB: number;
  /** Mixture of experts: only the default tp efficiencies differ (expert weights shard without extra all-reduce). */
  readonly moe: boolean;
  readonly layers: number;
  readonly attentionHeads: number;
  readonly kvHeads: number;
  readonly headDim: number;
  /** What torch reports as a GPU's total memory. */
  readonly gpuMemoryGiB: number;
  /** GPUs visible when CUDA_VISIBLE_DEVICES is unset. */
  readonly gpus: number;
  /** Per GPU, outside PyTorch's allocator (CUDA context, NCCL buffers). */
  readonly nonTorchGiB: number;
  /** Peak activation memory of the profile run per 1024 batched tokens. */
  readonly activationGiBPerKToken: number;
  /** CUDA graph memory: a base plus a share per captured batch size, up to 512 sequences. */
  readonly graphBaseGiB: number;
  readonly graphGiBPerSeq: number;
  /** Per-GPU efficiency of tensor parallelism, by tp (1 is 1). */
  readonly tpEfficiency: Readonly<Record<string, number>>;
  /** Per-GPU efficiency of each doubling of pipeline stages. */
  readonly ppEfficiency: number;
  /** Concurrency at which the decode batch is half as efficient as an infinite one. */
  readonly seqKnee: number;
  /** Batched tokens at which a step is half as efficient as an unbounded one; past `tokensPeak` each doubling loses `declinePerDoubling`. */
  readonly tokensKnee: number;
  readonly tokensPeak: number;
  readonly declinePerDoubling: number;
  /** Throughput lost when max-num-seqs asks for far more sequences than the KV cache holds (preemption). */
  readonly preemptionPenalty: number;
  readonly speculative: Readonly<Record<string, SpeculativeGain>>;
  /** Gain of a speculative method the scenario does not list. */
  readonly speculativeOther: number;
  /** Speed of fp8 KV-cache attention relative to the model dtype (its capacity doubles). */
  readonly fp8KvSpeed: number;
  readonly blockSizeEffect: Readonly<Record<string, number>>;
  /** Relative effect of turning chunked prefill off. */
  readonly chunkedPrefillOff: number;
  /** What vLLM picks when max-num-seqs / max-num-batched-tokens are not given. */
  readonly defaults: { readonly maxNumSeqs: number; readonly maxNumBatchedTokens: number };
  /** The tensor-parallel size the scenario's baseline throughput was measured at (other arguments at defaults). */
  readonly baselineTp: number;
}

export type RawEngine = Partial<Omit<EngineModel, 'speculative' | 'defaults'>> & {
  speculative?: Record<string, number | { gain: number; bestTokens?: number }>;
  defaults?: Partial<EngineModel['defaults']>;
};

const DENSE_TP_EFFICIENCY = { '2': 0.9, '4': 0.8, '8': 0.7 };
const MOE_TP_EFFICIENCY = { '2': 0.96, '4': 0.92, '8': 0.88 };

export function normaliseEngine(raw: RawEngine): EngineModel {
  const moe = raw.moe ?? false;
  const speculative: Record<string, SpeculativeGain> = {};
  for (const [method, v] of Object.entries(raw.speculative ?? {})) {
    const bestTokens = typeof v === 'number' ? undefined : v.bestTokens;
    speculative[method] = { gain: typeof v === 'number' ? v : v.gain, bestTokens: bestTokens ?? (method === 'suffix' ? 32 : 5) };
  }
  return {
    weightsGiB: raw.weightsGiB ?? 14.96,
    moe,
    layers: raw.layers ?? 32,
    attentionHeads: raw.attentionHeads ?? 32,
    kvHeads: raw.kvHeads ?? 8,
    headDim: raw.headDim ?? 128,
    gpuMemoryGiB: raw.gpuMemoryGiB ?? 79.19,
    gpus: raw.gpus ?? 8,
    nonTorchGiB: raw.nonTorchGiB ?? 0.6,
    activationGiBPerKToken: raw.activationGiBPerKToken ?? 0.2,
    graphBaseGiB: raw.graphBaseGiB ?? 0.3,
    graphGiBPerSeq: raw.graphGiBPerSeq ?? 0.002,
    tpEfficiency: { '1': 1, ...(moe ? MOE_TP_EFFICIENCY : DENSE_TP_EFFICIENCY), ...raw.tpEfficiency },
    ppEfficiency: raw.ppEfficiency ?? 0.85,
    seqKnee: raw.seqKnee ?? 128,
    tokensKnee: raw.tokensKnee ?? 2048,
    tokensPeak: raw.tokensPeak ?? 32768,
    declinePerDoubling: raw.declinePerDoubling ?? 0.03,
    preemptionPenalty: raw.preemptionPenalty ?? 0.15,
    speculative,
    speculativeOther: raw.speculativeOther ?? 0.9,
    fp8KvSpeed: raw.fp8KvSpeed ?? 0.99,
    blockSizeEffect: { '16': 0, ...raw.blockSizeEffect },
    chunkedPrefillOff: raw.chunkedPrefillOff ?? -0.03,
    defaults: { maxNumSeqs: raw.defaults?.maxNumSeqs ?? 1024, maxNumBatchedTokens: raw.defaults?.maxNumBatchedTokens ?? 16384 },
    baselineTp: raw.baselineTp ?? 1,
  };
}

/** An engine configuration with every default filled in: what the engine actually runs. */
export interface EnginePoint {
  readonly tp: number;
  readonly pp: number;
  readonly dp: number;
  readonly maxNumSeqs: number;
  readonly maxNumBatchedTokens: number;
  readonly gpuMemoryUtilization: number;
  readonly speculative: EngineArgs['speculative'];
  readonly kvCacheDtype: EngineArgs['kvCacheDtype'];
  readonly blockSize: number;
  readonly maxModelLen: number;
  readonly chunkedPrefill: boolean;
  /** Tokens of one request (prompt + output), the benchmark's or the scenario's shape. */
  readonly requestTokens: { readonly input: number; readonly output: number };
}

export const gpusOf = (p: Pick<EnginePoint, 'tp' | 'pp' | 'dp'>): number => p.tp * p.pp * p.dp;

/** Per-request prompt and output tokens of the scenario's baseline. */
export function requestShape(s: Scenario): { input: number; output: number } {
  const total = s.baseline.totalTokensPerSec / s.baseline.requestsPerSec;
  const output = s.baseline.outputTokensPerSec / s.baseline.requestsPerSec;
  return { input: Math.round(total - output), output: Math.round(output) };
}

export function resolvePoint(s: Scenario, e: EngineModel, a: EngineArgs): EnginePoint {
  const shape = requestShape(s);
  return {
    tp: a.tp,
    pp: a.pp,
    dp: a.dp,
    maxNumSeqs: a.maxNumSeqs ?? e.defaults.maxNumSeqs,
    maxNumBatchedTokens: a.maxNumBatchedTokens ?? e.defaults.maxNumBatchedTokens,
    gpuMemoryUtilization: a.gpuMemoryUtilization,
    speculative: a.speculative,
    kvCacheDtype: a.kvCacheDtype,
    blockSize: a.blockSize,
    maxModelLen: a.maxModelLen ?? s.latency.maxModelLen,
    chunkedPrefill: a.chunkedPrefill ?? true,
    requestTokens: { input: a.inputLen ?? shape.input, output: a.outputLen ?? shape.output },
  };
}

/** The configuration part of a run's signature: equal for equal engines, whichever defaults were spelled out. */
export function pointKey(p: EnginePoint): string {
  const spec = p.speculative === null ? 'none' : `${p.speculative.method}_${p.speculative.numSpeculativeTokens}`;
  return (
    `tp=${p.tp},pp=${p.pp},dp=${p.dp},mns=${p.maxNumSeqs},mnbt=${p.maxNumBatchedTokens},gmu=${p.gpuMemoryUtilization},` +
    `spec=${spec},kvc=${p.kvCacheDtype},bs=${p.blockSize},mml=${p.maxModelLen},cp=${p.chunkedPrefill ? 'on' : 'off'}`
  );
}

/** Per-GPU memory of one engine rank, in GiB, and what it leaves for the KV cache. */
export interface EngineMemory {
  readonly weightsGiB: number;
  readonly activationGiB: number;
  /** gpu-memory-utilization x total, less weights and activations: may be negative. */
  readonly kvCacheGiB: number;
  readonly kvBytesPerToken: number;
  /** Tokens the KV cache holds (0 when it has no memory). */
  readonly kvCacheTokens: number;
  /** kvCacheTokens / max-model-len, as vLLM reports it. */
  readonly maxConcurrency: number;
  readonly graphGiB: number;
  /** Batch sizes CUDA graphs are captured for. */
  readonly graphCaptures: number;
  readonly graphSeconds: number;
}

const GIB = 1024 ** 3;

export function memoryOf(e: EngineModel, p: EnginePoint): EngineMemory {
  const weightsGiB = e.weightsGiB / (p.tp * p.pp);
  const activationGiB = e.nonTorchGiB + (e.activationGiBPerKToken * p.maxNumBatchedTokens) / 1024;
  const kvCacheGiB = p.gpuMemoryUtilization * e.gpuMemoryGiB - weightsGiB - activationGiB;
  const dtypeBytes = p.kvCacheDtype === 'auto' ? 2 : 1;
  const kvBytesPerToken = 2 * Math.ceil(e.layers / p.pp) * Math.max(1, e.kvHeads / p.tp) * e.headDim * dtypeBytes;
  const kvCacheTokens = kvCacheGiB <= 0 ? 0 : Math.floor((kvCacheGiB * GIB) / kvBytesPerToken / p.blockSize) * p.blockSize;
  const captured = Math.min(p.maxNumSeqs, 512);
  const graphCaptures = 3 + Math.floor(captured / 8);
  return {
    weightsGiB,
    activationGiB,
    kvCacheGiB,
    kvBytesPerToken,
    kvCacheTokens,
    maxConcurrency: kvCacheTokens / p.maxModelLen,
    graphGiB: e.graphBaseGiB + e.graphGiBPerSeq * captured,
    graphCaptures,
    graphSeconds: Math.max(1, Math.round(1 + graphCaptures * 0.045)),
  };
}

/**
 * Why an engine configuration fails, in the order vLLM finds out: argument validation before
 * anything starts, the executor's device count, loading the weights, the profile run, the KV
 * cache check, CUDA graph capture, and last the benchmark's own request-length assertion.
 */
export type EngineFailure =
  | { readonly stage: 'config'; readonly kind: 'max_model_len_too_large'; readonly derived: number }
  | { readonly stage: 'config'; readonly kind: 'heads_not_divisible'; readonly heads: number }
  | { readonly stage: 'config'; readonly kind: 'batched_tokens_below_model_len' }
  | { readonly stage: 'config'; readonly kind: 'batched_tokens_below_seqs' }
  | { readonly stage: 'config'; readonly kind: 'gpu_memory_utilization' }
  | { readonly stage: 'devices'; readonly kind: 'too_many_gpus'; readonly visible: number }
  | { readonly stage: 'load' | 'profile' | 'graphs'; readonly kind: 'cuda_oom'; readonly triedGiB: number; readonly freeMiB: number }
  | { readonly stage: 'kv_cache'; readonly kind: 'no_kv_memory' }
  | { readonly stage: 'kv_cache'; readonly kind: 'kv_too_small'; readonly neededGiB: number }
  | { readonly stage: 'generate'; readonly kind: 'request_too_long' };

/** The part of `engineFailure` decided before the engine loads anything. */
export function configFailure(s: Scenario, e: EngineModel, p: EnginePoint, visibleGpus: number): EngineFailure | null {
  if (p.maxModelLen > s.latency.maxModelLen) return { stage: 'config', kind: 'max_model_len_too_large', derived: s.latency.maxModelLen };
  if (p.gpuMemoryUtilization <= 0 || p.gpuMemoryUtilization > 1) return { stage: 'config', kind: 'gpu_memory_utilization' };
  if (e.attentionHeads % p.tp !== 0) return { stage: 'config', kind: 'heads_not_divisible', heads: e.attentionHeads };
  if (!p.chunkedPrefill && p.maxNumBatchedTokens < p.maxModelLen) return { stage: 'config', kind: 'batched_tokens_below_model_len' };
  if (p.maxNumBatchedTokens < p.maxNumSeqs) return { stage: 'config', kind: 'batched_tokens_below_seqs' };
  if (gpusOf(p) > visibleGpus) return { stage: 'devices', kind: 'too_many_gpus', visible: visibleGpus };
  return null;
}

export function memoryFailure(e: EngineModel, p: EnginePoint, m: EngineMemory): EngineFailure | null {
  const total = e.gpuMemoryGiB;
  const freeMiB = (usedGiB: number): number => Math.max(0, Math.round((total - usedGiB) * 1024 * 0.02));
  if (m.weightsGiB + e.nonTorchGiB > total) {
    return { stage: 'load', kind: 'cuda_oom', triedGiB: Math.min(m.weightsGiB, 1.96), freeMiB: freeMiB(total - 0.01) };
  }
  if (m.weightsGiB + m.activationGiB > total) {
    return { stage: 'profile', kind: 'cuda_oom', triedGiB: m.activationGiB - e.nonTorchGiB, freeMiB: freeMiB(m.weightsGiB + e.nonTorchGiB) };
  }
  if (m.kvCacheTokens < p.blockSize) return { stage: 'kv_cache', kind: 'no_kv_memory' };
  if (m.kvCacheTokens < p.maxModelLen) return { stage: 'kv_cache', kind: 'kv_too_small', neededGiB: (p.maxModelLen * m.kvBytesPerToken) / GIB };
  if (m.graphGiB > total * (1 - p.gpuMemoryUtilization)) {
    return { stage: 'graphs', kind: 'cuda_oom', triedGiB: m.graphGiB / 4, freeMiB: freeMiB(total - 0.05) };
  }
  if (p.requestTokens.input + p.requestTokens.output > p.maxModelLen) return { stage: 'generate', kind: 'request_too_long' };
  return null;
}

/** Relative capacity of one configuration (any unit; only ratios between points mean anything). */
function capacity(e: EngineModel, p: EnginePoint, m: EngineMemory): number {
  const tpEff = e.tpEfficiency[String(p.tp)] ?? (e.tpEfficiency['8'] ?? 0.7) * 0.9 ** Math.log2(p.tp / 8);
  const compute = p.tp * tpEff * p.pp * e.ppEfficiency ** Math.log2(p.pp);
  // A request holds its prompt and, on average, half its output in the KV cache while it runs.
  const footprint = p.requestTokens.input + p.requestTokens.output / 2;
  const kvSeqs = m.kvCacheTokens / footprint;
  const running = Math.min(p.maxNumSeqs, kvSeqs);
  const preemption = p.maxNumSeqs > kvSeqs ? 1 - e.preemptionPenalty * (1 - kvSeqs / p.maxNumSeqs) : 1;
  const decode = (running / (running + e.seqKnee)) * preemption;
  const t = p.maxNumBatchedTokens;
  const step = (t / (t + e.tokensKnee)) * (1 - e.declinePerDoubling) ** Math.max(0, Math.log2(t / e.tokensPeak));
  return p.dp * compute * decode * step * speculativeFactor(e, p) * kvDtypeFactor(e, p) * (1 + (e.blockSizeEffect[String(p.blockSize)] ?? 0)) * (p.chunkedPrefill ? 1 : 1 + e.chunkedPrefillOff);
}

function speculativeFactor(e: EngineModel, p: EnginePoint): number {
  if (p.speculative === null) return 1;
  const known = e.speculative[p.speculative.method];
  const gain = known?.gain ?? e.speculativeOther;
  const best = known?.bestTokens ?? 5;
  const k = p.speculative.numSpeculativeTokens;
  // Fewer tokens than the best give part of the gain; more waste verification on rejected drafts.
  const shape = k <= best ? k / best : Math.sqrt(best / k);
  return 1 + (gain - 1) * shape;
}

const kvDtypeFactor = (e: EngineModel, p: EnginePoint): number => (p.kvCacheDtype === 'auto' ? 1 : e.fp8KvSpeed);

/** What an engine configuration does on a scenario: its memory, its failure or its log throughput effect. */
export interface EnginePlan {
  readonly point: EnginePoint;
  readonly memory: EngineMemory;
  readonly failure: EngineFailure | null;
  /** ln(throughput / baseline) when it runs; 0 with a failure. */
  readonly logEffect: number;
}

export function planEngine(s: Scenario, e: EngineModel, args: EngineArgs, visibleGpus: number = e.gpus): EnginePlan {
  const point = resolvePoint(s, e, args);
  const memory = memoryOf(e, point);
  const failure = configFailure(s, e, point, visibleGpus) ?? memoryFailure(e, point, memory);
  if (failure !== null) return { point, memory, failure, logEffect: 0 };
  const reference = { ...resolvePoint(s, e, { ...args, ...REFERENCE_ARGS, tp: e.baselineTp }), requestTokens: point.requestTokens };
  return { point, memory, failure: null, logEffect: Math.log(capacity(e, point, memory) / capacity(e, reference, memoryOf(e, reference))) };
}

/** The arguments of the configuration a scenario's baseline describes (besides its tp). */
const REFERENCE_ARGS = {
  pp: 1,
  dp: 1,
  maxNumSeqs: null,
  maxNumBatchedTokens: null,
  gpuMemoryUtilization: 0.9,
  speculative: null,
  kvCacheDtype: 'auto',
  blockSize: 16,
  maxModelLen: null,
  chunkedPrefill: null,
} as const;

/** GPUs CUDA_VISIBLE_DEVICES leaves visible, or the scenario's count when it is unset. */
export function visibleGpus(e: EngineModel, cudaVisibleDevices: string | undefined): number {
  if (cudaVisibleDevices === undefined) return e.gpus;
  return cudaVisibleDevices.split(',').filter((d) => d.trim() !== '').length;
}

/** One point of an engine grid: vLLM long flag names (without `--`) to values; null leaves the flag out. */
export type GridPoint = Readonly<Record<string, string | number | boolean | null>>;

export function pointArgv(point: GridPoint): string[] {
  const argv: string[] = [];
  for (const [flag, value] of Object.entries(point)) {
    if (value === null || value === false) continue;
    argv.push(`--${flag}`);
    if (value !== true) argv.push(String(value));
  }
  return argv;
}

export interface EngineTruth {
  readonly point: GridPoint;
  readonly gpus: number;
  /** Noise-free, warm throughput in `metric` (ops off); 0 when the configuration fails. */
  readonly throughput: number;
  readonly perGpu: number;
  readonly failure: EngineFailure | null;
}

/** The true throughput of one engine configuration (the bin's parsing, no noise, no op effects). */
export function engineTruth(s: Scenario, point: GridPoint, metric: Metric = 'output'): EngineTruth {
  const e = s.engine;
  if (e === null) throw new Error(`Scenario ${s.name} has no engine section`);
  const read = readEngineArgs(pointArgv(point));
  if ('problem' in read) throw new Error(`Engine point ${JSON.stringify(point)}: ${read.problem}`);
  const plan = planEngine(s, e, read.args);
  const gpus = gpusOf(plan.point);
  const throughput = plan.failure === null ? baselineOf(s, metric) * Math.exp(plan.logEffect) : 0;
  return { point, gpus, throughput, perGpu: throughput / gpus, failure: plan.failure };
}

/** Every point of the cartesian product of `axes` (flag name -> values), in order, the first axis slowest. */
export function expandGrid(axes: Readonly<Record<string, ReadonlyArray<string | number | boolean | null>>>): GridPoint[] {
  let points: Array<Record<string, string | number | boolean | null>> = [{}];
  for (const [flag, values] of Object.entries(axes)) {
    points = points.flatMap((p) => values.map((v) => ({ ...p, [flag]: v })));
  }
  return points;
}

export interface EngineOptimum {
  readonly best: EngineTruth;
  readonly points: readonly EngineTruth[];
}

/** The ground-truth best point of a grid by output tokens/s per GPU (or total, `perGpu: false`). */
export function engineOptimum(
  s: Scenario,
  axes: Readonly<Record<string, ReadonlyArray<string | number | boolean | null>>>,
  options: { readonly metric?: Metric; readonly perGpu?: boolean } = {},
): EngineOptimum {
  const points = expandGrid(axes).map((p) => engineTruth(s, p, options.metric ?? 'output'));
  const score = (t: EngineTruth): number => (options.perGpu === false ? t.throughput : t.perGpu);
  let best = points[0];
  if (best === undefined) throw new Error('An engine grid needs at least one point');
  for (const t of points) if (score(t) > score(best)) best = t;
  return { best, points };
}
