/** The seams of the session engine. Implementations live in src/runners and src/store. */
import type { FinalResult, PolicyEvent, Proposal } from './policy.js';
import type { Measurement } from './metrics.js';
import type { Observation, RunOutcome, TrialSpec } from './types.js';

export interface RunRequest {
  readonly trial: TrialSpec;
  /** The user's `vllm bench throughput` arguments, verbatim and in order. */
  readonly passthrough: readonly string[];
  /** Executable to call as `<bin> bench throughput ...`. */
  readonly vllmBin: string;
  /** Environment the trial's delta is applied to (normally the daemon's own). */
  readonly baseEnv: Readonly<Record<string, string | undefined>>;
  /** This invocation's own log, created fresh. */
  readonly logPath: string;
  /** Already written by the store; exported as VLLM_FL_CONFIG. */
  readonly configPath: string;
  /** Exported as FLAGGEMS_ENABLE_OPLIST_PATH; removed before the run starts. */
  readonly oplistPath: string;
  /** Where `--output-json` is asked to write, or null when the user passed their own. */
  readonly outputJsonPath: string | null;
  /** Identifies the invocation to the child (AUTOTUNE_RUN_KEY) so orphans can be recognised. */
  readonly runKey: string;
  readonly timeoutMs: number;
  readonly signal?: AbortSignal;
  /** The slot the engine chose (an index into the runner's GPU groups or job slots); absent: 0. */
  readonly slot?: number;
  /** Set by the slot runner: the chosen slot's environment (CUDA_VISIBLE_DEVICES, VLLM_PORT). */
  readonly slotEnv?: Readonly<Record<string, string>>;
  /** Called once the run exists where the runner executes it, with the handle to find it again. */
  readonly onStart?: (handle: RunHandle) => void;
  /** Receives the merged stdout+stderr as it arrives, for the console. */
  readonly echo?: (chunk: string) => void;
}

export interface RunResult {
  readonly outcome: RunOutcome;
  readonly exitCode: number | null;
  readonly signal: string | null;
  /** Named metrics the benchmark reported; null when it produced no result. */
  readonly metrics: Measurement | null;
  readonly durationMs: number;
  /** One line naming the root cause when the run failed. */
  readonly failure: string | null;
  readonly executedOps: readonly string[] | null;
}

/** Names a run where its runner executes it: a process group id locally, a job id on SLURM. */
export interface RunHandle {
  readonly runner: string;
  readonly id: string;
  /** The local process group, when the run is one; null elsewhere. */
  readonly pid: number | null;
}

/** A run a dead worker left behind, as stored. */
export interface Orphan {
  /** Null when the worker died before the runner reported the start: the run key still finds it. */
  readonly handle: RunHandle | null;
  /** The AUTOTUNE_RUN_KEY it was started with: proves a process is ours, not a recycled pid. */
  readonly runKey: string;
}

/**
 * Turns a trial into a measurement and owns what it started: a stop (the request's abort
 * signal) and the reaping of orphans go through the runner that ran it. Every runner passes
 * test/runners/contract.ts; a SLURM runner implements the same contract.
 */
export interface Runner {
  /** Stored with each run's handle; createRunner(name) gives it back for reaping. */
  readonly name: string;
  run(request: RunRequest): Promise<RunResult>;
  /** Kills what is left of an orphaned run if it is still ours; true when something was killed. */
  reap(orphan: Orphan): boolean;
}

/**
 * Around the measured runs: a benchmark with a long-lived server (serve) starts or reuses it in
 * `prepare`, before every run, and stops it in `dispose`, once, however the session ends.
 */
export interface RunLifecycle {
  /** Before a run of `trial` on `slot` (the engine's choice, 0 with one slot). */
  prepare(trial: TrialSpec, slot: number): Promise<void>;
  dispose(): Promise<void>;
}

/** What every benchmark without a server uses. */
export const NO_LIFECYCLE: RunLifecycle = {
  prepare: async () => {},
  dispose: async () => {},
};

export function toObservation(trialKey: string, kind: Observation['kind'], r: RunResult): Observation | null {
  if (r.outcome === 'interrupted') return null;
  return {
    trialKey,
    kind,
    outcome: r.outcome,
    metrics: r.metrics,
    executedOps: r.executedOps,
    durationMs: r.durationMs,
    failure: r.failure,
  };
}

/** Files one invocation uses, decided (and the config written) by the journal. */
export interface RunFiles {
  readonly logPath: string;
  readonly configPath: string;
  readonly oplistPath: string;
  readonly outputJsonPath: string | null;
}

export interface BegunRun {
  readonly runId: number;
  readonly seq: number;
  readonly files: RunFiles;
}

/** A completed, stored run as replay needs it. */
export interface StoredObservation extends Observation {
  readonly seq: number;
  /** The policy step this run answered: how many observations preceded it. */
  readonly step: number;
  /** The run's one-line root cause when it failed. */
  readonly failure: string | null;
}

/**
 * Persistence of one session: every run is committed the moment it ends, and every artifact
 * is derived from what was committed. Implemented over SQLite in src/store.
 */
export interface SessionJournal {
  /** Completed runs (interrupted and never-started ones excluded), in the order they ran. */
  completedObservations(): readonly StoredObservation[];
  /** Records a run starting on `slot` (the engine's choice; 0 with one slot). */
  beginRun(trial: TrialSpec, kind: Observation['kind'], warmupIndex: number | null, step: number, slot: number): BegunRun;
  setRunHandle(runId: number, handle: RunHandle): void;
  finishRun(runId: number, result: RunResult): void;
  /** Stores decisions and rewrites the artifacts events describe; must be idempotent (replay). */
  applyEvents(events: readonly PolicyEvent[]): void;
  /** Rewrites history.csv from the stored runs. */
  refreshHistory(): void;
  complete(result: FinalResult): void;
  fail(message: string): void;
  markStopped(): void;
}

/** Answers a proposal (the `ordinal`-th run of its trial) with a stored run of another session, recorded as this session's; null: it runs. */
export interface PriorSource {
  adopt(proposal: Proposal, ordinal: number): Observation | null;
}
