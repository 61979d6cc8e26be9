/** Plain data shared by the tuner, the runners and the store. No behaviour lives here. */

export type Backend = 'flagos' | 'vendor' | 'reference';
export const BACKEND_ORDER: readonly Backend[] = ['flagos', 'vendor', 'reference'];

export type AttentionBackend = 'FLASH_ATTN' | 'FLASHINFER';
export const ATTENTION_BACKENDS: readonly AttentionBackend[] = ['FLASH_ATTN', 'FLASHINFER'];

/** What a session maximises. */
export type Metric = 'total' | 'output' | 'requests';

export type PolicyName = 'reference' | 'noise-aware' | 'screening';
/** What a session runs without --policy. */
export const DEFAULT_POLICY: PolicyName = 'noise-aware';

/** Rounds of the reference workflow; the noise-aware policy adds anchors and subset checks. */
export type RoundId = '1a' | '1b' | '1c' | '2' | '3';

/**
 * Which reference row a trial belongs to. Decides its history.csv row and its file prefix.
 * - baseline / fake_gems / gems_enable: rounds 1a / 1b / 1c
 * - op: one operator on one backend (and, for reference, one attention backend)
 * - combined: a set of operators measured together (round 3 and its subsets)
 */
export type TrialKind = 'baseline' | 'fake_gems' | 'gems_enable' | 'op' | 'combined';

/**
 * Everything that defines one benchmark configuration. General on purpose: a trial is an
 * environment delta, extra vLLM arguments and a VLLM_FL_CONFIG payload; the FlagGems
 * fields only describe it for humans, reports and history.csv.
 */
export interface TrialSpec {
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
  readonly throughput: Throughput | null;
  /** Operators the enable-oplist log named, for trials with recordOplist; else null. */
  readonly executedOps: readonly string[] | null;
  readonly durationMs: number;
}

export function metricValue(t: Throughput | null, metric: Metric): number | null {
  if (t === null) return null;
  switch (metric) {
    case 'total':
      return t.totalTokensPerSec;
    case 'output':
      return t.outputTokensPerSec;
    case 'requests':
      return t.requestsPerSec;
  }
}
