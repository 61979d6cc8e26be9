/** Decision rows: the latest explained verdict per subject (a trial or an operator). */
import type { Backend } from '../tuner/types.js';
import type { Decision, Verdict } from '../tuner/policy.js';
import type { Store } from './db.js';

interface DecisionRow {
  subject: string;
  op: string | null;
  backend: Backend | null;
  verdict: Verdict;
  estimate: number | null;
  low: number | null;
  high: number | null;
  runs: number;
  reason: string;
  basis: 'runs' | 'model';
}

const UPSERT = `
  INSERT INTO decisions (session_id, subject, op, backend, verdict, estimate, low, high, runs, reason, basis, created_at, updated_at)
  VALUES (@sessionId, @subject, @op, @backend, @verdict, @estimate, @low, @high, @runs, @reason, @basis, @now, @now)
  ON CONFLICT (session_id, subject) DO UPDATE SET
    op = excluded.op, backend = excluded.backend, verdict = excluded.verdict, estimate = excluded.estimate,
    low = excluded.low, high = excluded.high, runs = excluded.runs, reason = excluded.reason, basis = excluded.basis,
    updated_at = excluded.updated_at`;

/** A new verdict on a subject replaces the old one; created_at keeps when it was first decided. */
export function upsertDecision(store: Store, sessionId: string, decision: Decision): void {
  store.statement(UPSERT).run({
    sessionId,
    subject: decision.subject,
    op: decision.op,
    backend: decision.backend,
    verdict: decision.verdict,
    estimate: decision.estimate,
    low: decision.low,
    high: decision.high,
    runs: decision.runs,
    reason: decision.reason,
    basis: decision.basis ?? 'runs',
    now: store.now(),
  });
}

/** In the order subjects were first decided. */
export function loadDecisions(store: Store, sessionId: string): Decision[] {
  const rows = store
    .statement(
      `SELECT subject, op, backend, verdict, estimate, low, high, runs, reason, basis
       FROM decisions WHERE session_id = ? ORDER BY created_at, rowid`,
    )
    .all(sessionId) as DecisionRow[];
  return rows.map((row) => ({ type: 'decision', ...row }));
}
