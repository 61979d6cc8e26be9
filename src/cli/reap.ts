/** Kills what runs left behind when their worker can no longer do it (crashed, or force-stopped), and servers left by `bench serve`. */
import { createRunner } from '../runners/factory.js';
import { adoptsRuns } from '../runners/names.js';
import { isProcessAlive, isProcessGroupAlive, killProcessGroup, killRunKeyProcesses, processEnvironHasRunKey } from '../runners/process-group.js';
import type { Store } from '../store/db.js';
import { isObservation, type RunRecord } from '../store/records.js';
import { loadRuns, markRunningRunsInterrupted, runningRuns } from '../store/runs.js';
import { leftServerRecords, removeServerRecord } from '../store/serve-results.js';
import { fenced } from '../store/session-state.js';
import type { RunHandle } from '../tuner/ports.js';

/** The key the run's child carried in AUTOTUNE_RUN_KEY (see runSession). */
function runKeyOf(sessionId: string, run: RunRecord, all: readonly RunRecord[]): string {
  const ordinal = all.filter((r) => r.trialKey === run.trialKey && r.step < run.step && isObservation(r.outcome)).length;
  return `${sessionId}:${run.step}:${ordinal}:${run.trialKey}`;
}

/** A run's stored handle; a release-0.1.0 row has only its pid. */
function handleOf(run: RunRecord): RunHandle | null {
  if (run.handle !== null) return { runner: run.runner ?? 'local', id: run.handle, pid: run.pid };
  return run.pid === null ? null : { runner: 'local', id: String(run.pid), pid: run.pid };
}

function killedNote(handle: RunHandle | null, seq: number): string {
  if (handle === null) return `killed the processes of run ${seq}`;
  if (handle.pid === null) return `killed ${handle.runner} run ${handle.id} (run ${seq})`;
  return `killed benchmark process group ${handle.pid} (run ${seq})`;
}

export interface ReapOptions {
  /** The session's runner: reaps a run whose start was never recorded (default local). */
  readonly runner?: string;
  /** Leave the session's runs in flight to be adopted, when its runner can follow them (SLURM jobs). */
  readonly adopt?: boolean;
}

/**
 * Marks in-flight runs interrupted (fenced by the caller's lease token) and has their runners
 * kill what is left, by handle and by run key (a run whose start was never recorded has only
 * its key); returns what was killed. With `adopt`, runs the session's runner can follow stay
 * in flight, and are named in the notes.
 */
export function reapRunningRuns(store: Store, sessionId: string, token: string, options: ReapOptions = {}): string[] {
  const all = loadRuns(store, sessionId);
  const notes: string[] = [];
  const sessionRunner = options.runner ?? 'local';
  const keep = options.adopt === true && adoptsRuns(sessionRunner) ? [sessionRunner] : [];
  const reaped = fenced(store, sessionId, token, () => markRunningRunsInterrupted(store, sessionId, keep));
  if (keep.length > 0) {
    for (const run of runningRuns(store, sessionId)) notes.push(`following ${run.runner ?? sessionRunner} job ${run.handle ?? '?'} (run ${run.seq}) to its end`);
  }
  for (const run of reaped) {
    const handle = handleOf(run);
    const runner = createRunner(handle?.runner ?? run.runner ?? sessionRunner);
    if (!runner.reap({ handle, runKey: runKeyOf(sessionId, run, all) })) continue;
    notes.push(killedNote(handle, run.seq));
  }
  // A serving session's server outlives the run that started it (it serves the trial's later
  // runs too), so a daemon killed between runs leaves it with no run in flight. The lease is
  // ours, so no process of this session may still live: whatever carries one of its keys goes.
  // Not for a runner whose jobs are followed across restarts: their processes are adopted.
  if (keep.length === 0) {
    const left = killRunKeyProcesses((key) => key.startsWith(`${sessionId}:`), 'SIGKILL');
    if (left.length > 0) notes.push(`killed ${left.length} process(es) of session ${sessionId} (pid ${left.join(', ')})`);
  }
  return notes;
}

/**
 * Servers of `autotune bench serve` runs whose autotune died (kill -9, a reboot of the shell)
 * without stopping them: killed by group, only when the leader still proves it is ours
 * (AUTOTUNE_RUN_KEY) or is gone while its group lives.
 */
export function reapLeftServers(outputDir: string): string[] {
  const notes: string[] = [];
  for (const { runDir, record } of leftServerRecords(outputDir)) {
    if (isProcessAlive(record.ownerPid) && record.ownerPid !== process.pid) continue;
    const ours = isProcessGroupAlive(record.pid) && (!isProcessAlive(record.pid) || processEnvironHasRunKey(record.pid, record.runKey));
    if (ours) {
      killProcessGroup(record.pid, 'SIGKILL');
      notes.push(`killed the server left by ${runDir} (process group ${record.pid})`);
    }
    removeServerRecord(runDir);
  }
  return notes;
}

/** The second Ctrl-C: SIGKILLs the session's running benchmark, its group and every process with one of its run keys. */
export function killSessionBenchmarks(sessionId: string, runningPid: number | null): void {
  if (runningPid !== null) killProcessGroup(runningPid, 'SIGKILL');
  killRunKeyProcesses((key) => key.startsWith(`${sessionId}:`), 'SIGKILL');
}
