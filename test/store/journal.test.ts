/** The journal's writes: artifacts before `completed`, and nothing at all once the lease is lost. */
import assert from 'node:assert/strict';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { openStore } from '../../src/store/db.js';
import { SqliteJournal } from '../../src/store/journal.js';
import { acquireLease } from '../../src/store/lease.js';
import { loadRuns } from '../../src/store/runs.js';
import { startWorking } from '../../src/store/session-state.js';
import { createSession, getSession } from '../../src/store/sessions.js';
import type { FinalResult } from '../../src/tuner/policy.js';
import { baselineTrial } from '../../src/tuner/spaces/operators.js';
import { tempDir } from './helpers.js';

const FINAL: FinalResult = { opBackends: { add: 'flagos' }, attention: null, validated: true, speedup: 0.02, low: 0.01, high: 0.03, summary: [] };

function setup() {
  const dir = tempDir();
  const store = openStore(join(dir, 'autotune.db'));
  const session = createSession(store, { runDir: join(dir, 'run'), policy: 'reference', args: ['--model', 'm'], options: {}, env: {} });
  const claim = { pid: process.pid, host: 'here', staleAfterMs: 60_000, isAlive: () => true };
  acquireLease(store, session.id, { ...claim, token: 'tok-a' });
  startWorking(store, session.id, 'tok-a');
  const journal = new SqliteJournal(store, session, { csvName: 'history.csv', askOutputJson: true, token: 'tok-a', recipe: { vllmBin: 'vllm', serveOptions: new Set(['--model']) } });
  return { store, session, journal, claim };
}

const code = (fn: () => unknown): string | undefined => {
  try {
    fn();
  } catch (error) {
    return (error as { code?: string }).code;
  }
  return undefined;
};

describe('SqliteJournal', () => {
  it('writes every artifact before it commits completed: a crash in between leaves them and a resumable session', () => {
    const { store, session, journal } = setup();
    // The commit of `completed` fails, as if the process died at that instant.
    store.db.exec(`CREATE TRIGGER crash BEFORE UPDATE OF state ON sessions WHEN NEW.state = 'completed' BEGIN SELECT RAISE(ABORT, 'crash'); END`);
    assert.throws(() => journal.complete(FINAL), /crash/);
    assert.equal(getSession(store, session.id)?.state, 'running');
    for (const name of ['best_config.yaml', 'op_config.json', 'history.csv']) assert.ok(existsSync(join(session.runDir, name)), name);
    store.db.exec('DROP TRIGGER crash');
    journal.complete(FINAL);
    assert.equal(getSession(store, session.id)?.state, 'completed');
    store.close();
  });

  it('a worker whose lease was taken over writes nothing: no row, no file, no state', () => {
    const { store, session, journal, claim } = setup();
    const begun = journal.beginRun(baselineTrial(), 'measure', null, 0, 0);
    // Another worker takes the session over (this one looked dead).
    acquireLease(store, session.id, { ...claim, token: 'tok-b', isAlive: () => false });
    const files = readdirSync(session.runDir).sort();
    const failed = { outcome: 'ok' as const, exitCode: 0, signal: null, metrics: null, durationMs: 1, failure: null, executedOps: null };
    for (const write of [
      () => journal.beginRun(baselineTrial(), 'measure', null, 1, 0),
      () => journal.setRunHandle(begun.runId, { runner: 'local', id: '123', pid: 123 }),
      () => journal.finishRun(begun.runId, failed),
      () => journal.applyEvents([{ type: 'best', opBackends: { add: 'flagos' } }]),
      () => journal.refreshHistory(),
      () => journal.complete(FINAL),
      () => journal.fail('x'),
      () => journal.markStopped(),
    ]) {
      assert.equal(code(write), 'E_LEASE_LOST');
    }
    assert.deepEqual(readdirSync(session.runDir).sort(), files);
    assert.deepEqual(loadRuns(store, session.id).map((r) => [r.outcome, r.pid]), [['running', null]]);
    assert.equal(getSession(store, session.id)?.state, 'running');
    store.close();
  });
});
