/** Read-only summaries for `status` and `list`. */
import { kindInfo } from '../tuner/spaces/kinds.js';
import type { TrialSpec } from '../tuner/types.js';
import type { Store } from './db.js';
import { toRunRecord, toTrialRecord, type RunRecord, type RunRow, type TrialRow } from './records.js';
import { runMetrics } from './runs.js';

export interface SessionProgress {
  /** Rows of every kind, the one in flight included. */
  readonly runsStarted: number;
  /** Finished and observed (not interrupted). */
  readonly runsFinished: number;
  readonly runsOk: number;
  readonly runsFailed: number;
  readonly runsInterrupted: number;
  readonly trialsSeen: number;
  /** Sum over finished runs: GPU time spent so far. */
  readonly finishedDurationMs: number;
  /** Sum over every run that ended, interrupted ones included: the GPU time actually used. */
  readonly spentDurationMs: number;
  /** Finished runs that failed, counted by outcome (oom, timeout, ...). */
  readonly failuresByClass: Readonly<Record<string, number>>;
  /** Mean duration of successful runs, for estimates of what is left; null before the first. */
  readonly meanOkDurationMs: number | null;
  /** The most recently finished run (interrupted ones included). */
  readonly lastRun: RunRecord | null;
  /** The run in flight, if any. */
  readonly currentRun: RunRecord | null;
  readonly currentTrial: TrialSpec | null;
  /** The run in flight re-measures the baseline after other trials ran: an anchor, not round 1a. */
  readonly currentIsAnchor: boolean;
}

interface Counts {
  started: number;
  finished: number;
  ok: number;
  interrupted: number;
  finished_ms: number;
  spent_ms: number;
  mean_ok_ms: number | null;
  trials: number;
}

const FAILURES = `
  SELECT outcome, COUNT(*) AS n FROM runs
  WHERE session_id = ? AND outcome NOT IN ('running', 'interrupted', 'ok')
  GROUP BY outcome ORDER BY n DESC, outcome`;

const COUNTS = `
  SELECT
    COUNT(*) AS started,
    COALESCE(SUM(outcome NOT IN ('running', 'interrupted')), 0) AS finished,
    COALESCE(SUM(outcome = 'ok'), 0) AS ok,
    COALESCE(SUM(outcome = 'interrupted'), 0) AS interrupted,
    COALESCE(SUM(CASE WHEN outcome NOT IN ('running', 'interrupted') THEN duration_ms END), 0) AS finished_ms,
    COALESCE(SUM(CASE WHEN outcome != 'running' THEN duration_ms END), 0) AS spent_ms,
    AVG(CASE WHEN outcome = 'ok' THEN duration_ms END) AS mean_ok_ms,
    (SELECT COUNT(*) FROM trials WHERE session_id = @id) AS trials
  FROM runs WHERE session_id = @id`;

export function sessionProgress(store: Store, sessionId: string): SessionProgress {
  const counts = store.statement(COUNTS).get({ id: sessionId }) as Counts;
  const last = store
    .statement(`SELECT * FROM runs WHERE session_id = ? AND outcome != 'running' ORDER BY seq DESC LIMIT 1`)
    .get(sessionId) as RunRow | undefined;
  const current = store
    .statement(`SELECT * FROM runs WHERE session_id = ? AND outcome = 'running' ORDER BY seq DESC LIMIT 1`)
    .get(sessionId) as RunRow | undefined;
  const trial =
    current === undefined
      ? undefined
      : (store
          .statement('SELECT spec_json, first_seen_at FROM trials WHERE session_id = ? AND key = ?')
          .get(sessionId, current.trial_key) as TrialRow | undefined);
  const spec = trial === undefined ? null : toTrialRecord(trial).spec;
  const anchor =
    current !== undefined &&
    spec !== null &&
    kindInfo(spec.kind).anchor &&
    store
      .statement('SELECT 1 FROM runs WHERE session_id = ? AND seq < ? AND trial_key != ? LIMIT 1')
      .get(sessionId, current.seq, current.trial_key) !== undefined;
  return {
    runsStarted: counts.started,
    runsFinished: counts.finished,
    runsOk: counts.ok,
    runsFailed: counts.finished - counts.ok,
    runsInterrupted: counts.interrupted,
    trialsSeen: counts.trials,
    finishedDurationMs: counts.finished_ms,
    spentDurationMs: counts.spent_ms,
    failuresByClass: Object.fromEntries(
      (store.statement(FAILURES).all(sessionId) as { outcome: string; n: number }[]).map((r) => [r.outcome, r.n]),
    ),
    meanOkDurationMs: counts.mean_ok_ms,
    lastRun: last === undefined ? null : toRunRecord(last, runMetrics(store, last.id)),
    currentRun: current === undefined ? null : toRunRecord(current, null),
    currentTrial: spec,
    currentIsAnchor: anchor,
  };
}

/** GPU time by trial: the durations of its runs that ended, interrupted ones included (what `spentDurationMs` sums). */
export function spentByTrial(store: Store, sessionId: string): Map<string, number> {
  const rows = store
    .statement(`SELECT trial_key, COALESCE(SUM(duration_ms), 0) AS ms FROM runs WHERE session_id = ? AND outcome != 'running' GROUP BY trial_key`)
    .all(sessionId) as { trial_key: string; ms: number }[];
  return new Map(rows.map((r) => [r.trial_key, r.ms]));
}
