/**
 * Sessions that retry chosen failure classes of a finished one (`resume --retry-failures`):
 * the link to the finished session, its runs as the new one reuses them, and the copy of a
 * reused run in the new session (the same outcome, metrics and log, marked with the run it
 * came from, never executed again).
 */
import { AutotuneError } from '../errors.js';
import { FAILURE_CLASSES, type FailureClass } from '../tuner/spaces/engine.js';
import type { PriorRun, PriorRuns } from '../tuner/prior-runs.js';
import type { PriorSource } from '../tuner/ports.js';
import type { Observation, RunKind, TrialSpec } from '../tuner/types.js';
import type { Store } from './db.js';
import { loadObservations, runMetrics } from './runs.js';
import { NOT_OBSERVED_SQL } from './records.js';
import { fenced } from './session-state.js';
import { upsertTrial } from './trials.js';

export interface ReuseLink {
  readonly parentId: string;
  readonly retry: readonly FailureClass[];
}

export function linkReuse(store: Store, sessionId: string, link: ReuseLink): void {
  store.statement('INSERT INTO session_reuse (session_id, parent_id, retry_json) VALUES (?, ?, ?)').run(sessionId, link.parentId, JSON.stringify(link.retry));
}

export function reuseOf(store: Store, sessionId: string): ReuseLink | null {
  const row = store.statement('SELECT parent_id AS parentId, retry_json AS retry FROM session_reuse WHERE session_id = ?').get(sessionId) as
    | { parentId: string; retry: string }
    | undefined;
  if (row === undefined) return null;
  const retry: unknown = JSON.parse(row.retry);
  const classes = Array.isArray(retry) ? FAILURE_CLASSES.filter((c) => retry.includes(c)) : [];
  if (!Array.isArray(retry) || classes.length !== retry.length) throw new AutotuneError('E_DB', `session ${sessionId}: its link to the session it retries is damaged`);
  return { parentId: row.parentId, retry: classes };
}

/** A session's completed runs in the order they ran, with their ids. */
export function priorRuns(store: Store, sessionId: string): PriorRun[] {
  const ids = store.statement(`SELECT id FROM runs WHERE session_id = ? AND outcome NOT IN ${NOT_OBSERVED_SQL} ORDER BY seq`).all(sessionId) as { id: number }[];
  return loadObservations(store, sessionId).map((o, i): PriorRun => ({
    trialKey: o.trialKey,
    kind: o.kind,
    outcome: o.outcome,
    metrics: o.metrics,
    executedOps: o.executedOps,
    durationMs: o.durationMs,
    failure: o.failure,
    runId: ids[i]?.id ?? -1,
  }));
}

export interface ReusedRun {
  readonly trial: TrialSpec;
  readonly kind: RunKind;
  readonly warmupIndex: number | null;
  readonly step: number;
  readonly slot: number;
}

/**
 * Records `from` as the run of `sessionId` answering `run`, in one transaction; returns the
 * observation. Its duration stays with the run it came from (NULL here): this session spent no
 * GPU time on it, and its GPU-hours and run-time estimates count only what it ran. A replay
 * reads the same observation back (a NULL duration as 0).
 */
export function recordReusedRun(store: Store, sessionId: string, run: ReusedRun, from: PriorRun): Observation {
  return store.write(() => {
    upsertTrial(store, sessionId, run.trial);
    const info = store
      .statement(
        `INSERT INTO runs (session_id, seq, step, trial_key, kind, warmup_index, outcome, exit_code, signal, duration_ms, started_at, ended_at,
                           log_path, config_path, slot, failure, executed_ops_json, reused_from)
         SELECT ?, (SELECT COALESCE(MAX(seq), 0) + 1 FROM runs WHERE session_id = ?), ?, ?, ?, ?, outcome, exit_code, signal, NULL, started_at, ended_at,
                log_path, config_path, ?, failure, executed_ops_json, id
         FROM runs WHERE id = ?`,
      )
      .run(sessionId, sessionId, run.step, run.trial.key, run.kind, run.warmupIndex, run.slot, from.runId);
    if (info.changes !== 1) throw new AutotuneError('E_DB', `run ${from.runId} of the session being retried is gone from the database`);
    const insert = store.statement('INSERT INTO run_metrics (run_id, name, value) VALUES (?, ?, ?)');
    for (const [name, value] of Object.entries(runMetrics(store, from.runId) ?? {})) insert.run(Number(info.lastInsertRowid), name, value);
    return { trialKey: run.trial.key, kind: run.kind, outcome: from.outcome, metrics: from.metrics, executedOps: from.executedOps, durationMs: 0, failure: from.failure };
  });
}

/** Runs of a session that were reused rather than executed. */
export function reusedRunCount(store: Store, sessionId: string): number {
  const row = store.statement('SELECT COUNT(*) AS n FROM runs WHERE session_id = ? AND reused_from IS NOT NULL').get(sessionId) as { n: number };
  return row.n;
}

/** The engine's source of reused runs: each one it takes is recorded at once, under the session's lease. */
export function priorSource(store: Store, sessionId: string, token: string, runs: PriorRuns): PriorSource {
  return {
    adopt(proposal, ordinal) {
      const from = runs.take(proposal.trial.key, proposal.kind, ordinal);
      if (from === null) return null;
      const run = { trial: proposal.trial, kind: proposal.kind, warmupIndex: proposal.warmupIndex, step: proposal.step, slot: 0 };
      return fenced(store, sessionId, token, () => recordReusedRun(store, sessionId, run, from));
    },
  };
}
