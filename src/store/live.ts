/** Read-only queries behind the live progress display (foreground and `status --watch`). */
import type { Store } from './db.js';

export interface FailedRun {
  readonly prefix: string;
  readonly outcome: string;
  readonly failure: string | null;
}

/** Runs started for one trial, the one in flight included: its ordinal within the trial. */
export function trialRunCount(store: Store, sessionId: string, trialKey: string): number {
  const row = store.statement('SELECT COUNT(*) AS n FROM runs WHERE session_id = ? AND trial_key = ?').get(sessionId, trialKey) as { n: number };
  return row.n;
}

/** The most recent run that ended in a failure (interruptions are not failures). */
export function lastFailedRun(store: Store, sessionId: string): FailedRun | null {
  const row = store
    .statement(
      `SELECT t.prefix AS prefix, r.outcome AS outcome, r.failure AS failure
       FROM runs r JOIN trials t ON t.session_id = r.session_id AND t.key = r.trial_key
       WHERE r.session_id = ? AND r.outcome NOT IN ('ok', 'running', 'interrupted')
       ORDER BY r.seq DESC LIMIT 1`,
    )
    .get(sessionId) as FailedRun | undefined;
  return row ?? null;
}
