/**
 * The decision seam. A policy is a pure, deterministic coroutine: it yields the next run it
 * wants and receives that run's observation. Given the same context and the same observations
 * it yields the same steps, which is what makes a session resumable by replay.
 */
import type { Objective } from './objective.js';
import type { PluginProbe } from './plugin-probe.js';
import type { EngineSpace } from './spaces/engine.js';
import type { AttentionBackend, Backend, Observation, RunKind, TrialSpec } from './types.js';

/** Where the operator list comes from, before round 1c narrows or fills it. */
export interface DiscoveryInput {
  /** From `--ops`, in the user's order; null when not given. */
  readonly explicitOps: readonly string[] | null;
  /** op_backends of a VLLM_FL_CONFIG file whose action is auto_tune; null when none. */
  readonly configOps: Readonly<Record<string, readonly Backend[]>> | null;
  /** The only backends to try (a job file's search.backends); absent or null for all. */
  readonly backends?: readonly Backend[] | null;
  /** What the Python probe found in the installed plugin; absent or null without one. */
  readonly probe?: PluginProbe | null;
}

export interface PolicyContext {
  readonly numRuns: number;
  /** What is optimised; policies score runs only through objective.ts. */
  readonly objective: Objective;
  /** Smallest relative gain worth keeping (0.005 = 0.5%). */
  readonly minGain: number;
  /** Total invocations allowed, or null for the policy's own default. */
  readonly budget: number | null;
  /** Seeds every random choice (e.g. operator order). */
  readonly seed: number;
  readonly discovery: DiscoveryInput;
  /** The trials of a fixed search space (a sweep's grid), for policies that measure a given list. */
  readonly trials?: readonly TrialSpec[];
  /** The engine-parameter tiers of an engine study; absent otherwise. */
  readonly engine?: EngineSpace;
  /** Runs the session may have in flight at once (GPU groups, concurrent jobs); absent: 1. */
  readonly slots?: number;
}

export interface OpsDiscovered {
  readonly type: 'ops';
  /** Contents of autotune_ops.initial.yaml and autotune_ops.yaml. */
  readonly initial: Readonly<Record<string, readonly Backend[]>>;
  readonly final: Readonly<Record<string, readonly Backend[]>>;
  readonly source: 'explicit' | 'config' | 'probe' | 'oplist';
}

export type Verdict = 'kept' | 'dropped' | 'failed' | 'inconclusive';

/** A stored, explained decision about one trial or one operator. */
export interface Decision {
  readonly type: 'decision';
  readonly subject: string;
  readonly op: string | null;
  readonly backend: Backend | null;
  readonly verdict: Verdict;
  /** Relative change vs baseline (0.012 = +1.2%), or null when unmeasured. */
  readonly estimate: number | null;
  readonly low: number | null;
  readonly high: number | null;
  readonly runs: number;
  readonly reason: string;
  /** `model`: the estimate is the screening model's, for an operator never measured alone; else from its own runs. */
  readonly basis?: 'runs' | 'model';
}

/** The current best set, written to best_config_temp.yaml. */
export interface BestSoFar {
  readonly type: 'best';
  readonly opBackends: Readonly<Record<string, Backend>>;
}

export interface Note {
  readonly type: 'note';
  readonly level: 'info' | 'warn';
  readonly message: string;
}

export type PolicyEvent = OpsDiscovered | Decision | BestSoFar | Note;

export interface RunStep {
  readonly type: 'run';
  readonly trial: TrialSpec;
  readonly kind: RunKind;
  /** 1-based index of this warm-up within its trial, for the `warmup_<i>` file name. */
  readonly warmupIndex: number | null;
  readonly events: readonly PolicyEvent[];
}

export interface FinalResult {
  /** Written to best_config.yaml. */
  readonly opBackends: Readonly<Record<string, Backend>>;
  /** Attention backend the chosen reference-backend operators were measured with, if any. */
  readonly attention: AttentionBackend | null;
  /** Whether the set was measured as a whole and found better than baseline. */
  readonly validated: boolean;
  /** Relative change of the chosen set vs baseline (0.012 = +1.2%), with its interval when known. */
  readonly speedup: number | null;
  readonly low: number | null;
  readonly high: number | null;
  readonly summary: readonly string[];
  /** An engine study's answer: the winning engine arguments; absent for operator-only studies. */
  readonly engine?: EngineAnswer;
}

/** The winning engine configuration and its gain over the default one (relative, with a 95% interval). */
export interface EngineAnswer {
  /** vLLM arguments on top of the pass-through ones, e.g. `--max-num-seqs 512`. */
  readonly args: readonly string[];
  /** The default configuration's own arguments (the first tier's start). */
  readonly defaultArgs: readonly string[];
  readonly gain: number | null;
  readonly low: number | null;
  readonly high: number | null;
}

export interface DoneStep {
  readonly type: 'done';
  readonly result: FinalResult;
  readonly events: readonly PolicyEvent[];
}

export interface FailStep {
  readonly type: 'fail';
  readonly code: 'E_NO_OPS' | 'E_NO_RESULT';
  readonly message: string;
  readonly events: readonly PolicyEvent[];
}

export type Step = RunStep | DoneStep | FailStep;

/** A running policy: `next()` first, then `next(observation)` after every run it asked for. */
export interface PolicyCursor {
  next(observation?: Observation): Step;
}

/** One run a policy wants, named by its step id: replay and observations refer to it by that id. */
export interface Proposal {
  readonly step: number;
  readonly trial: TrialSpec;
  readonly kind: RunKind;
  readonly warmupIndex: number | null;
  readonly events: readonly PolicyEvent[];
  /**
   * The slot this run should go to, for a policy that compares runs within a slot; absent: the
   * engine's choice. A retired slot's runs go elsewhere: the observation names where it ran.
   */
  readonly slot?: number;
}

/** New runs (none: wait for outstanding observations), or the end. */
export type Proposed = { readonly type: 'runs'; readonly runs: readonly Proposal[] } | DoneStep | FailStep;

/**
 * A running policy that may have several runs in flight. `propose(slots)` returns at most
 * `slots` new runs, never one it proposed before; `observe` answers one by step id, in any
 * order. Given the same sequence of calls it proposes the same runs, which is what replay by
 * step id relies on.
 */
export interface StudyCursor {
  propose(slots: number): Proposed;
  observe(step: number, observation: Observation): void;
}

export interface Policy {
  /** `reference` and `noise-aware` are chosen with --policy; other policies come with their verb. */
  readonly name: string;
  /** A one-run-at-a-time policy; the engine drives it through sequentialCursor. */
  start(context: PolicyContext): PolicyCursor;
  /** A policy that proposes several runs at once implements this; it then wins over `start`. */
  open?(context: PolicyContext): StudyCursor;
}
