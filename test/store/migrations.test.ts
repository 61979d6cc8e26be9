/**
 * The run_metrics migration on older databases: a release-0.1.0 one (schema 1) and one at the
 * schema just before it (session states, spawn_error runs, decision bases): throughput columns
 * become named metrics, pids become handles.
 */
import assert from 'node:assert/strict';
import { copyFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { APPLICATION_ID, openStore } from '../../src/store/db.js';
import { MIGRATIONS, SCHEMA_VERSION } from '../../src/store/migrations.js';
import { loadObservations, loadRuns } from '../../src/store/runs.js';
import { ROOT } from '../support/cli.js';
import { tempDir } from './helpers.js';

interface OldRun {
  id: number;
  pid: number | null;
  requests_per_s: number | null;
  total_tokens_per_s: number | null;
  output_tokens_per_s: number | null;
}

describe('migrations', () => {
  it('moves every stored throughput into run_metrics and every pid into a local handle', () => {
    const path = join(tempDir(), 'autotune.db');
    copyFileSync(join(ROOT, 'test', 'fixtures', 'release-0.1.0', 'reference', 'autotune_logs', 'autotune.db'), path);
    const raw = new Database(path, { readonly: true });
    const old = raw.prepare('SELECT id, pid, requests_per_s, total_tokens_per_s, output_tokens_per_s FROM runs ORDER BY id').all() as OldRun[];
    const sessionId = (raw.prepare('SELECT id FROM sessions').get() as { id: string }).id;
    raw.close();
    assert.ok(old.filter((r) => r.total_tokens_per_s !== null).length > 10);

    const store = openStore(path);
    try {
      assert.equal(store.db.pragma('user_version', { simple: true }), SCHEMA_VERSION);
      const runs = loadRuns(store, sessionId);
      assert.equal(runs.length, old.length);
      for (const [i, r] of runs.entries()) {
        const o = old[i] as OldRun;
        const expected =
          o.total_tokens_per_s === null
            ? null
            : {
                total_tokens_per_s: o.total_tokens_per_s,
                ...(o.output_tokens_per_s === null ? {} : { output_tokens_per_s: o.output_tokens_per_s }),
                ...(o.requests_per_s === null ? {} : { requests_per_s: o.requests_per_s }),
              };
        assert.deepEqual(r.metrics, expected, `run ${o.id}`);
        assert.equal(r.pid, o.pid);
        assert.deepEqual([r.runner, r.handle], o.pid === null ? [null, null] : ['local', String(o.pid)]);
      }
      assert.equal(loadObservations(store, sessionId).length, old.filter((_, i) => runs[i]?.outcome !== 'running').length);
      const columns = (store.db.prepare('PRAGMA table_info(runs)').all() as { name: string }[]).map((c) => c.name);
      assert.equal(columns.includes('total_tokens_per_s'), false, 'one place holds a measurement');
    } finally {
      store.close();
    }
  });

  it('migrates a database written at the schema just before run_metrics, spawn_error rows and stop states included', () => {
    const before = MIGRATIONS.findIndex((sql) => sql.includes('CREATE TABLE run_metrics'));
    assert.ok(before > 0, 'the run_metrics migration exists');
    const path = join(tempDir(), 'autotune.db');
    const raw = new Database(path);
    for (const sql of MIGRATIONS.slice(0, before)) raw.exec(sql);
    raw.pragma(`user_version = ${before}`);
    raw.pragma(`application_id = ${APPLICATION_ID}`);
    raw.exec(`
      INSERT INTO sessions (id, created_at, updated_at, state, run_dir, policy, args_json, options_json, env_json)
        VALUES ('s1', 1, 1, 'stopping', '/tmp/none', 'screening', '[]', '{}', '{}');
      INSERT INTO trials (session_id, key, spec_json, kind, round, prefix, first_seen_at)
        VALUES ('s1', 'baseline', '{}', 'baseline', '1a', 'baseline', 1);
      INSERT INTO runs (session_id, seq, step, trial_key, kind, outcome, requests_per_s, total_tokens_per_s, output_tokens_per_s, started_at, log_path, config_path, pid)
        VALUES ('s1', 1, 0, 'baseline', 'warmup', 'ok', 2.5, 1000, 400, 1, '1.log', '1.yaml', 4242),
               ('s1', 2, 1, 'baseline', 'measure', 'spawn_error', NULL, NULL, NULL, 1, '2.log', '2.yaml', NULL),
               ('s1', 3, 1, 'baseline', 'measure', 'ok', NULL, 900, NULL, 1, '3.log', '3.yaml', 4243);
      INSERT INTO decisions (session_id, subject, verdict, runs, reason, created_at, updated_at, basis)
        VALUES ('s1', 'op:mm:flagos', 'kept', 0, 'model', 1, 1, 'model');
    `);
    raw.close();

    const store = openStore(path);
    try {
      assert.equal(store.db.pragma('user_version', { simple: true }), SCHEMA_VERSION);
      const runs = loadRuns(store, 's1');
      assert.deepEqual(
        runs.map((r) => [r.outcome, r.metrics, r.runner, r.handle]),
        [
          ['ok', { total_tokens_per_s: 1000, output_tokens_per_s: 400, requests_per_s: 2.5 }, 'local', '4242'],
          ['spawn_error', null, null, null],
          ['ok', { total_tokens_per_s: 900 }, 'local', '4243'],
        ],
      );
      assert.deepEqual(loadObservations(store, 's1').map((o) => [o.seq, o.step]), [[1, 0], [3, 1]], 'a spawn error is no observation');
      assert.equal((store.db.prepare(`SELECT state FROM sessions WHERE id = 's1'`).get() as { state: string }).state, 'stopping');
      assert.equal((store.db.prepare(`SELECT basis FROM decisions WHERE session_id = 's1'`).get() as { basis: string }).basis, 'model');
    } finally {
      store.close();
    }
  });
});
