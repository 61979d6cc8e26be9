/** Migration 2 on a release-0.1.0 database: throughput columns become named metrics, pids become handles. */
import assert from 'node:assert/strict';
import { copyFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { openStore } from '../../src/store/db.js';
import { SCHEMA_VERSION } from '../../src/store/migrations.js';
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
});
