import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { APPLICATION_ID, openReadOnly, openStore } from '../../src/store/db.js';
import { MIGRATIONS, SCHEMA_VERSION } from '../../src/store/migrations.js';
import { createSession, listSessions } from '../../src/store/sessions.js';
import { tempDir } from './helpers.js';

const session = { runDir: '/tmp/autotune_x', policy: 'reference', args: ['--model', 'm'], options: {}, env: {} } as const;

function rejects(fn: () => unknown, code: string, pattern: RegExp): void {
  assert.throws(fn, (error: unknown) => {
    assert.equal((error as { code?: string }).code, code);
    assert.match((error as Error).message, pattern);
    assert.equal((error as Error).message.includes('\n'), false, 'one line');
    return true;
  });
}

describe('openStore', () => {
  it('creates the parent directory and the schema, with the pragmas a daemon needs', () => {
    const path = join(tempDir(), 'nested', 'deeper', 'autotune.db');
    const store = openStore(path);
    try {
      assert.equal(store.db.pragma('user_version', { simple: true }), SCHEMA_VERSION);
      assert.equal(store.db.pragma('journal_mode', { simple: true }), 'wal');
      assert.equal(store.db.pragma('foreign_keys', { simple: true }), 1);
      assert.equal(store.db.pragma('synchronous', { simple: true }), 2); // FULL
      assert.equal(store.db.pragma('busy_timeout', { simple: true }), 5000);
      const tables = store.db
        .prepare(`SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name`)
        .pluck()
        .all();
      assert.deepEqual(tables, ['decisions', 'run_metrics', 'runs', 'session_hardware', 'session_reuse', 'sessions', 'trials']);
      assert.deepEqual(store.integrityCheck(), ['ok']);
    } finally {
      store.close();
    }
  });

  it('reopening is idempotent and keeps the data', () => {
    const path = join(tempDir(), 'autotune.db');
    const first = openStore(path);
    createSession(first, { ...session, id: 's1' });
    first.close();
    const second = openStore(path);
    assert.equal(second.db.pragma('user_version', { simple: true }), SCHEMA_VERSION);
    assert.deepEqual(
      listSessions(second, 10).map((s) => s.id),
      ['s1'],
    );
    second.close();
  });

  it('refuses a database from a newer autotune, read-write and read-only', () => {
    const path = join(tempDir(), 'autotune.db');
    const raw = new Database(path);
    raw.pragma('user_version = 999');
    raw.close();
    const expected = new RegExp(`was written by a newer autotune \\(schema 999 > ${SCHEMA_VERSION}\\); upgrade autotune$`);
    rejects(() => openStore(path), 'E_DB_TOO_NEW', expected);
    rejects(() => openReadOnly(path), 'E_DB_TOO_NEW', expected);
  });

  it('refuses a file that is not a SQLite database', () => {
    const path = join(tempDir(), 'autotune.db');
    writeFileSync(path, 'op,backend\nthis is a csv, not a database\n'.repeat(50));
    rejects(() => openStore(path), 'E_DB', /^cannot use database .*autotune\.db: file is not a database$/);
    rejects(() => openReadOnly(path), 'E_DB', /file is not a database$/);
  });
});

describe('openReadOnly', () => {
  it('reads what a writer wrote and cannot write', () => {
    const path = join(tempDir(), 'autotune.db');
    const writer = openStore(path);
    createSession(writer, { ...session, id: 's1' });
    const reader = openReadOnly(path);
    try {
      assert.equal(listSessions(reader, 5)[0]?.id, 's1');
      assert.throws(() => createSession(reader, { ...session, runDir: '/tmp/other', id: 's2' }), /readonly/);
    } finally {
      reader.close();
      writer.close();
    }
  });

  it('never creates or migrates', () => {
    const dir = tempDir();
    rejects(() => openReadOnly(join(dir, 'missing.db')), 'E_SESSION_NOT_FOUND', /no autotune database at .*missing\.db/);
    const empty = join(dir, 'empty.db');
    new Database(empty).close();
    rejects(() => openReadOnly(empty), 'E_DB', new RegExp(`older schema \\(0 < ${SCHEMA_VERSION}\\)`));
    const raw = new Database(empty);
    assert.equal(raw.pragma('user_version', { simple: true }), 0);
    raw.close();
  });
});

describe('foreign and older databases', () => {
  it('refuses a database that is not autotune\'s before anything in it changes', () => {
    const dir = tempDir();
    const withTables = join(dir, 'app.db');
    const raw = new Database(withTables);
    raw.exec('CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT); INSERT INTO customers (name) VALUES (\'x\')');
    raw.close();
    const otherApp = join(dir, 'other.db');
    const raw2 = new Database(otherApp);
    raw2.pragma('application_id = 1234');
    raw2.pragma('user_version = 1');
    raw2.close();
    const versionedStranger = join(dir, 'stranger.db');
    const raw3 = new Database(versionedStranger);
    raw3.exec('CREATE TABLE t (x)');
    raw3.pragma('user_version = 1');
    raw3.close();
    for (const path of [withTables, otherApp, versionedStranger]) {
      rejects(() => openStore(path), 'E_DB_FOREIGN', /is not an autotune database/);
      rejects(() => openReadOnly(path), 'E_DB_FOREIGN', /is not an autotune database/);
      const after = new Database(path, { readonly: true });
      assert.equal(after.pragma('journal_mode', { simple: true }), 'delete', 'not switched to WAL');
      const tables = after.prepare(`SELECT name FROM sqlite_master WHERE type = 'table' AND name IN ('sessions', 'runs')`).all();
      assert.deepEqual(tables, [], 'no autotune table added');
      after.close();
    }
  });

  it('migrates a schema-1 database with its sessions and runs, and marks it as autotune\'s', () => {
    const path = join(tempDir(), 'v1.db');
    const raw = new Database(path);
    raw.exec(MIGRATIONS[0] ?? '');
    raw.pragma('user_version = 1');
    raw.exec(`INSERT INTO sessions (id, created_at, updated_at, state, run_dir, policy, args_json, options_json, env_json)
              VALUES ('old', 1, 1, 'interrupted', '/tmp/old', 'reference', '[]', '{}', '{}'),
                     ('live', 1, 1, 'running', '/tmp/live', 'reference', '[]', '{}', '{}')`);
    raw.exec(`INSERT INTO trials (session_id, key, spec_json, kind, round, prefix, first_seen_at) VALUES ('live', 'baseline', '{}', 'baseline', '1a', 'baseline', 1)`);
    raw.exec(`INSERT INTO runs (session_id, seq, step, trial_key, kind, outcome, started_at, log_path, config_path)
              VALUES ('live', 1, 0, 'baseline', 'measure', 'spawn_error', 1, 'l', 'c')`);
    raw.close();
    const store = openStore(path);
    try {
      assert.equal(store.db.pragma('user_version', { simple: true }), SCHEMA_VERSION);
      assert.equal(store.db.pragma('application_id', { simple: true }), APPLICATION_ID);
      assert.deepEqual(listSessions(store, 10).map((s) => [s.id, s.state]).sort(), [['live', 'running'], ['old', 'stopped']]);
      assert.equal(store.db.prepare('SELECT COUNT(*) FROM runs').pluck().get(), 1, 'the rebuild did not cascade into runs');
      // The spawn_error row is no observation: its step can be answered again.
      store.db.prepare(`INSERT INTO runs (session_id, seq, step, trial_key, kind, outcome, started_at, log_path, config_path)
                        VALUES ('live', 2, 0, 'baseline', 'measure', 'ok', 2, 'l2', 'c2')`).run();
      assert.deepEqual(store.integrityCheck(), ['ok']);
    } finally {
      store.close();
    }
  });
});
