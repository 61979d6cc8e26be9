/** The seams of the session engine. Implementations live in src/runners and src/store. */
import type { FinalResult, PolicyEvent } from './policy.js';
import type { Observation, RunOutcome, Throughput, TrialSpec } from './types.js';

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
  /** Called once the child has a pid (its process-group id too). */
  readonly onSpawn?: (pid: number) => void;
  /** Receives the merged stdout+stderr as it arrives, for the console. */
  readonly echo?: (chunk: string) => void;
}

export interface RunResult {
  readonly outcome: RunOutcome;
  readonly exitCode: number | null;
  readonly signal: string | null;
  readonly throughput: Throughput | null;
  readonly durationMs: number;
  /** One line naming the root cause when the run failed. */
  readonly failure: string | null;
  readonly executedOps: readonly string[] | null;
}

/** Turns a trial into a measurement. A SLURM runner implements the same contract. */
export interface Runner {
  run(request: RunRequest): Promise<RunResult>;
}

export function toObservation(trialKey: string, kind: Observation['kind'], r: RunResult): Observation | null {
  if (r.outcome === 'interrupted') return null;
  return {
    trialKey,
    kind,
    outcome: r.outcome,
    throughput: r.throughput,
    executedOps: r.executedOps,
    durationMs: r.durationMs,
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
  beginRun(trial: TrialSpec, kind: Observation['kind'], warmupIndex: number | null, step: number): BegunRun;
  setRunPid(runId: number, pid: number): void;
  finishRun(runId: number, result: RunResult): void;
  /** Stores decisions and rewrites the artifacts events describe; must be idempotent (replay). */
  applyEvents(events: readonly PolicyEvent[]): void;
  /** Rewrites history.csv from the stored runs. */
  refreshHistory(): void;
  complete(result: FinalResult): void;
  fail(message: string): void;
  markStopped(): void;
}
