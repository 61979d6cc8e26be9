/** Plain data shared by the tuner, the runners and the store. No behaviour lives here. */

export type Backend = 'flagos' | 'vendor' | 'reference';
export const BACKEND_ORDER: readonly Backend[] = ['flagos', 'vendor', 'reference'];

export type AttentionBackend = 'FLASH_ATTN' | 'FLASHINFER';
export const ATTENTION_BACKENDS: readonly AttentionBackend[] = ['FLASH_ATTN', 'FLASHINFER'];

import type { Measurement } from './metrics.js';

/** `--autotune-metric` shorthands (objective.ts maps them onto metric names). */
export type Metric = 'total' | 'output' | 'requests';

/** `sweep` is the policy of `autotune sweep` and `tiers` that of engine studies, never chosen with --policy. */
export type PolicyName = 'reference' | 'noise-aware' | 'screening' | 'sweep' | 'tiers';
/** What a session runs without --policy. */
export const DEFAULT_POLICY: PolicyName = 'screening';

/**
 * A stage of a study, as open data: a search space names its own (the FlagGems rounds are
 * `1a`, `1b`, `1c`, `2`, `3`; a latency grid has `grid`).
 */
export type RoundId = string;

/**
 * What a trial is within its search space, as open data. The FlagGems space's kinds decide
 * history.csv rows: baseline / fake_gems / gems_enable (rounds 1a / 1b / 1c), op (one operator
 * on one backend), combined (operators together); other spaces add their own.
 */
export type TrialKind = string;

/** A workload point: the benchmark arguments that shape the load (batch size, lengths...). */
export type WorkloadPoint = Readonly<Record<string, string | number>>;

/**
 * Everything that defines one benchmark configuration. General on purpose: a trial is an
 * environment delta, extra vLLM arguments and a VLLM_FL_CONFIG payload; the FlagGems
 * fields only describe it for humans, reports and history.csv.
 */
export interface TrialSpec {
  // Base engine arguments are the session's pass-through arguments plus `extraArgs`; the
  // workload point and the operator set (env + config) complete the configuration.
  /** Stable identity across a session and its resumes, e.g. `op:rms_norm:flagos`. */
  readonly key: string;
  /** File-name prefix of its logs and configs, e.g. `op_rms_norm_flagos` (filesystem safe). */
  readonly prefix: string;
  readonly kind: TrialKind;
  readonly round: RoundId;
  readonly op: string | null;
  readonly backend: Backend | null;
  readonly attention: AttentionBackend | null;
  /** Operators and their backends that this configuration turns on (empty for baselines). */
  readonly opBackends: Readonly<Record<string, Backend>>;
  /** Environment changes: a string sets the variable, null removes it. */
  readonly env: Readonly<Record<string, string | null>>;
  /** Arguments appended after the user's pass-through arguments. */
  readonly extraArgs: readonly string[];
  /** Written to this run's VLLM_FL_CONFIG file; `{}` for the baselines. */
  readonly config: Readonly<Record<string, unknown>>;
  /** Whether the executed-op list (FLAGGEMS_ENABLE_OPLIST_PATH) must be read after the run. */
  readonly recordOplist: boolean;
  /** The benchmark kind that measures it; absent: `throughput`. */
  readonly benchmark?: string;
  /** Its workload point, turned into arguments by the benchmark kind; absent: the user's arguments alone. */
  readonly workload?: WorkloadPoint;
  /** Key of the trial this one is compared with (each stage has its own baseline); absent: none. */
  readonly baseline?: string;
  /** A readable name for reports; absent: the key. */
  readonly label?: string;
}

/** How a benchmark invocation ended. `interrupted` is a stop or crash, never a measurement. */
export type RunOutcome =
  | 'ok'
  | 'nonzero_exit'
  | 'oom'
  | 'engine_failure'
  | 'timeout'
  | 'no_result'
  | 'spawn_error'
  | 'interrupted';

export interface Throughput {
  readonly requestsPerSec: number | null;
  readonly totalTokensPerSec: number;
  /** Unknown for the older single-number formats. */
  readonly outputTokensPerSec: number | null;
}

export type RunKind = 'warmup' | 'measure';

/** One finished invocation as the policy sees it. */
export interface Observation {
  readonly trialKey: string;
  readonly kind: RunKind;
  readonly outcome: Exclude<RunOutcome, 'interrupted'>;
  /** Named metrics (metrics.ts); null when the run produced no result. */
  readonly metrics: Measurement | null;
  /** Operators the enable-oplist log named, for trials with recordOplist; else null. */
  readonly executedOps: readonly string[] | null;
  readonly durationMs: number;
  /** The run's one-line root cause when it failed (the runner's classification); absent where nothing said why. */
  readonly failure?: string | null;
  /** The slot (GPU group, job slot) it ran on, set by the engine when the session has several; absent: 0. */
  readonly slot?: number;
}

/**
 * How the failure of a run whose KV cache could not be sized starts (vLLM's "No available memory
 * for the cache blocks", "KV cache is needed, which is larger than the available KV cache memory"):
 * unlike a CUDA OOM, more gpu-memory-utilization gives the cache more room.
 */
export const KV_CACHE_SHORTAGE = 'insufficient KV cache memory';
