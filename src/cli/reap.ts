/** Kills benchmark processes whose worker can no longer do it (crashed, or force-stopped). */
import { isProcessAlive, isProcessGroupAlive, killProcessGroup, killRunKeyProcesses, processEnvironHasRunKey } from '../runners/process-group.js';
import type { Store } from '../store/db.js';
import { isObservation, type RunRecord } from '../store/records.js';
import { loadRuns, markRunningRunsInterrupted } from '../store/runs.js';
import { leftServerRecords, removeServerRecord } from '../store/serve-results.js';
import { fenced } from '../store/session-state.js';

/** The key the run's child carried in AUTOTUNE_RUN_KEY (see runSession). */
function runKeyOf(sessionId: string, run: RunRecord, all: readonly RunRecord[]): string {
  const ordinal = all.filter((r) => r.trialKey === run.trialKey && r.step < run.step && isObservation(r.outcome)).length;
  return `${sessionId}:${run.step}:${ordinal}:${run.trialKey}`;
}

/**
 * A live leader must prove it is ours through its environment (its pid may have been
 * recycled); a group whose leader is gone is still ours, since Linux never hands out a pid
 * that is the id of a live process group.
 */
function isOurs(runKey: string, pgid: number): boolean {
  if (!isProcessGroupAlive(pgid)) return false;
  return !isProcessAlive(pgid) || processEnvironHasRunKey(pgid, runKey);
}

/**
 * Marks in-flight runs interrupted (fenced by the caller's lease token) and SIGKILLs their
 * process groups and every process carrying their run key; returns what was killed.
 */
export function reapRunningRuns(store: Store, sessionId: string, token: string): string[] {
  const all = loadRuns(store, sessionId);
  const notes: string[] = [];
  for (const run of fenced(store, sessionId, token, () => markRunningRunsInterrupted(store, sessionId))) {
    const runKey = runKeyOf(sessionId, run, all);
    const killed = new Set(killRunKeyProcesses((key) => key === runKey, 'SIGKILL'));
    if (run.pid !== null && isOurs(runKey, run.pid)) {
      killProcessGroup(run.pid, 'SIGKILL');
      killed.add(run.pid);
    }
    if (killed.size > 0) notes.push(`killed ${killed.size} benchmark process(es) of run ${run.seq}`);
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
