/** Kills benchmark process groups whose worker can no longer do it (crashed, or force-stopped). */
import { isProcessAlive, isProcessGroupAlive, killProcessGroup, processEnvironHasRunKey } from '../runners/process-group.js';
import type { Store } from '../store/db.js';
import type { RunRecord } from '../store/records.js';
import { loadRuns, markRunningRunsInterrupted } from '../store/runs.js';
import { leftServerRecords, removeServerRecord } from '../store/serve-results.js';

/** The key the run's child carried in AUTOTUNE_RUN_KEY (see runSession). */
function runKeyOf(sessionId: string, run: RunRecord, all: readonly RunRecord[]): string {
  const done = (r: RunRecord): boolean => r.outcome !== 'interrupted' && r.outcome !== 'running';
  const ordinal = all.filter((r) => r.trialKey === run.trialKey && r.step < run.step && done(r)).length;
  return `${sessionId}:${run.step}:${ordinal}:${run.trialKey}`;
}

/**
 * A live leader must prove it is ours through its environment (its pid may have been
 * recycled); a group whose leader is gone is still ours, since Linux never hands out a pid
 * that is the id of a live process group.
 */
function isOurs(sessionId: string, run: RunRecord, all: readonly RunRecord[], pgid: number): boolean {
  if (!isProcessGroupAlive(pgid)) return false;
  return !isProcessAlive(pgid) || processEnvironHasRunKey(pgid, runKeyOf(sessionId, run, all));
}

/** Marks in-flight runs interrupted and SIGKILLs their process groups; returns what was killed. */
export function reapRunningRuns(store: Store, sessionId: string): string[] {
  const all = loadRuns(store, sessionId);
  const notes: string[] = [];
  for (const run of markRunningRunsInterrupted(store, sessionId)) {
    if (run.pid === null || !isOurs(sessionId, run, all, run.pid)) continue;
    killProcessGroup(run.pid, 'SIGKILL');
    notes.push(`killed benchmark process group ${run.pid} (run ${run.seq})`);
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
