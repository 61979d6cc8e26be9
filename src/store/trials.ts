/** Trial rows: each distinct configuration a session has measured, keyed by TrialSpec.key. */
import type { TrialSpec } from '../tuner/types.js';
import type { Store } from './db.js';
import { toTrialRecord, type TrialRecord, type TrialRow } from './records.js';

const UPSERT = `
  INSERT INTO trials (session_id, key, spec_json, kind, round, op, backend, attention, prefix, first_seen_at)
  VALUES (@sessionId, @key, @specJson, @kind, @round, @op, @backend, @attention, @prefix, @now)
  ON CONFLICT (session_id, key) DO UPDATE SET
    spec_json = excluded.spec_json, kind = excluded.kind, round = excluded.round, op = excluded.op,
    backend = excluded.backend, attention = excluded.attention, prefix = excluded.prefix`;

/** Records a trial; a later definition of the same key replaces the spec, keeping first_seen_at. */
export function upsertTrial(store: Store, sessionId: string, spec: TrialSpec): void {
  store.statement(UPSERT).run({
    sessionId,
    key: spec.key,
    specJson: JSON.stringify(spec),
    kind: spec.kind,
    round: spec.round,
    op: spec.op,
    backend: spec.backend,
    attention: spec.attention,
    prefix: spec.prefix,
    now: store.now(),
  });
}

/** In the order they were first seen. */
export function loadTrials(store: Store, sessionId: string): TrialRecord[] {
  const rows = store
    .statement('SELECT spec_json, first_seen_at FROM trials WHERE session_id = ? ORDER BY first_seen_at, rowid')
    .all(sessionId) as TrialRow[];
  return rows.map(toTrialRecord);
}
