import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { openReadOnly, openStore } from '../../src/store/db.js';
import { SCHEMA_VERSION } from '../../src/store/migrations.js';
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
      assert.deepEqual(tables, ['decisions', 'run_metrics', 'runs', 'session_hardware', 'sessions', 'trials']);
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
