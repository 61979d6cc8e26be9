/**
 * Run rows: one per benchmark invocation. A row is inserted as 'running' before the child
 * starts and finished by one UPDATE when it ends; a finished row never changes again.
 */
import type { RunResult, StoredObservation } from '../tuner/ports.js';
import type { Measurement } from '../tuner/metrics.js';
import type { Observation, RunKind, TrialSpec } from '../tuner/types.js';
import type { Store } from './db.js';
import { NOT_OBSERVED_SQL, toRunRecord, type RunRecord, type RunRow } from './records.js';
import { upsertTrial } from './trials.js';

/** The files of a run the store records; callers may name more (oplist, output json). */
export interface StoredRunFiles {
  readonly logPath: string;
  readonly configPath: string;
}

export interface NewRun<F extends StoredRunFiles> {
  readonly trial: TrialSpec;
  readonly kind: RunKind;
  /** 1-based, warm-ups only. */
  readonly warmupIndex: number | null;
  /** The policy step this run answers: how many observations preceded it. */
  readonly step: number;
  /** The slot the engine chose for it (0 with one slot). */
  readonly slot: number;
  /** Names the run's files from its seq, which is only known inside the insert. */
  readonly files: (seq: number) => F;
}

export interface BegunRun<F extends StoredRunFiles> {
  readonly runId: number;
  readonly seq: number;
  readonly files: F;
}


const INTERRUPTED_FAILURE = 'interrupted: autotune stopped before the run finished';

export function nextSeq(store: Store, sessionId: string): number {
  const row = store.statement('SELECT COALESCE(MAX(seq), 0) + 1 AS seq FROM runs WHERE session_id = ?').get(sessionId) as {
    seq: number;
  };
  return row.seq;
}

/**
 * Records the trial (if new) and a 'running' row with the next seq, in one transaction. A row
 * a previous worker left running for this very run (kept for adoption, see
 * markRunningRunsInterrupted) is taken over instead, with its seq and files: its runner finds
 * the job it left in flight there.
 */
export function beginRun<F extends StoredRunFiles>(store: Store, sessionId: string, run: NewRun<F>): BegunRun<F> {
  return store.write(() => {
    upsertTrial(store, sessionId, run.trial);
    const left = store
      .statement(`SELECT id, seq FROM runs WHERE session_id = ? AND outcome = 'running' AND step = ? AND trial_key = ? AND kind = ? AND warmup_index IS ?`)
      .get(sessionId, run.step, run.trial.key, run.kind, run.warmupIndex) as { id: number; seq: number } | undefined;
    if (left !== undefined) return { runId: left.id, seq: left.seq, files: run.files(left.seq) };
    const seq = nextSeq(store, sessionId);
    const files = run.files(seq);
    const result = store
      .statement(
        `INSERT INTO runs (session_id, seq, step, trial_key, kind, warmup_index, outcome, started_at, log_path, config_path, slot)
         VALUES (?, ?, ?, ?, ?, ?, 'running', ?, ?, ?, ?)`,
      )
      .run(sessionId, seq, run.step, run.trial.key, run.kind, run.warmupIndex, store.now(), files.logPath, files.configPath, run.slot);
    return { runId: Number(result.lastInsertRowid), seq, files };
  });
}

/**
 * The run's handle as its runner names it, stored as soon as the run exists anywhere (so
 * `stop` and a later resume can find it);
 * `pid` is the local process group when there is one (reaping orphans needs it).
 */
export function setRunHandle(store: Store, runId: number, runner: string, handle: string, pid: number | null): void {
  store.statement(`UPDATE runs SET runner = ?, handle = ?, pid = ? WHERE id = ? AND outcome = 'running'`).run(runner, handle, pid, runId);
}

const FINISH = `
  UPDATE runs SET
    outcome = @outcome,
    exit_code = @exitCode, signal = @signal,
    duration_ms = @durationMs, ended_at = @now, failure = @failure, executed_ops_json = @executedOps
  WHERE id = @id AND outcome = 'running'`;

const METRIC = 'INSERT INTO run_metrics (run_id, name, value) VALUES (?, ?, ?)';

/**
 * Finishes a run, committed at once. False when the row was no longer running (already
 * finished, or marked interrupted by a process that took the session over).
 */
export function finishRun(store: Store, runId: number, result: RunResult): boolean {
  return store.write(() => {
    const info = store.statement(FINISH).run({
      id: runId,
      outcome: result.outcome,
      exitCode: result.exitCode,
      signal: result.signal,
      durationMs: result.durationMs,
      now: store.now(),
      failure: result.failure,
      executedOps: result.executedOps === null ? null : JSON.stringify(result.executedOps),
    });
    if (info.changes !== 1) return false;
    const insert = store.statement(METRIC);
    for (const [name, value] of Object.entries(result.metrics ?? {})) if (Number.isFinite(value)) insert.run(runId, name, value);
    return true;
  });
}

/** Every stored metric of a session's runs, by run id. */
function metricsByRun(store: Store, sessionId: string): Map<number, Record<string, number>> {
  const rows = store
    .statement('SELECT m.run_id AS runId, m.name AS name, m.value AS value FROM run_metrics m JOIN runs r ON r.id = m.run_id WHERE r.session_id = ?')
    .all(sessionId) as { runId: number; name: string; value: number }[];
  const out = new Map<number, Record<string, number>>();
  for (const { runId, name, value } of rows) {
    const m = out.get(runId) ?? {};
    m[name] = value;
    out.set(runId, m);
  }
  return out;
}

/** One run's stored metrics; null when it has none. */
export function runMetrics(store: Store, runId: number): Measurement | null {
  const rows = store.statement('SELECT name, value FROM run_metrics WHERE run_id = ?').all(runId) as { name: string; value: number }[];
  return rows.length === 0 ? null : Object.fromEntries(rows.map((r) => [r.name, r.value]));
}

/**
 * Crash recovery: rows a dead daemon left 'running' become 'interrupted'. Returns them so
 * the caller can reap their pids. Rows of a runner in `keep` that recorded a handle stay
 * running: that runner follows such a run to its end when the session asks for it again.
 */
export function markRunningRunsInterrupted(store: Store, sessionId: string, keep: readonly string[] = []): RunRecord[] {
  const rows = store
    .statement(
      `UPDATE runs SET outcome = 'interrupted', ended_at = ?, failure = COALESCE(failure, ?)
       WHERE session_id = ? AND outcome = 'running'
         AND NOT (handle IS NOT NULL AND runner IN (SELECT value FROM json_each(?))) RETURNING *`,
    )
    .all(store.now(), INTERRUPTED_FAILURE, sessionId, JSON.stringify(keep)) as RunRow[];
  return rows.map((row) => toRunRecord(row, runMetrics(store, row.id))).sort((a, b) => a.seq - b.seq);
}

/** Rows left running for their runner to adopt (see markRunningRunsInterrupted). */
export function runningRuns(store: Store, sessionId: string): RunRecord[] {
  const rows = store.statement(`SELECT * FROM runs WHERE session_id = ? AND outcome = 'running' ORDER BY seq`).all(sessionId) as RunRow[];
  return rows.map((row) => toRunRecord(row, null));
}

/** Every run, interrupted and running ones included, in seq order. */
export function loadRuns(store: Store, sessionId: string): RunRecord[] {
  const rows = store.statement('SELECT * FROM runs WHERE session_id = ? ORDER BY seq').all(sessionId) as RunRow[];
  const metrics = metricsByRun(store, sessionId);
  return rows.map((row) => toRunRecord(row, metrics.get(row.id) ?? null));
}

/**
 * What the policy saw, in the order the runs ran: the input to replay on resume. Running,
 * interrupted and never-started rows are no observations.
 */
export function loadObservations(store: Store, sessionId: string): StoredObservation[] {
  const rows = store
    .statement(`SELECT * FROM runs WHERE session_id = ? AND outcome NOT IN ${NOT_OBSERVED_SQL} ORDER BY seq`)
    .all(sessionId) as RunRow[];
  const metrics = metricsByRun(store, sessionId);
  return rows.map((row): StoredObservation => {
    const run = toRunRecord(row, metrics.get(row.id) ?? null);
    return {
      trialKey: run.trialKey,
      kind: run.kind,
      // The query above leaves out every state an Observation cannot hold.
      outcome: run.outcome as Observation['outcome'],
      metrics: run.metrics,
      executedOps: run.executedOps,
      durationMs: run.durationMs ?? 0,
      seq: run.seq,
      step: run.step,
      failure: run.failure,
    };
  });
}
