/**
 * Opening the session database: pragmas, migrations and the one handle every repository
 * function takes. better-sqlite3 is synchronous, so every write here is a short transaction
 * that commits before the caller goes back to awaiting a benchmark.
 */
import { existsSync } from 'node:fs';
import { makeDirs } from './dirs.js';
import { dirname, resolve } from 'node:path';
import Database from 'better-sqlite3';
import { AutotuneError } from '../errors.js';
import { MIGRATIONS, SCHEMA_VERSION } from './migrations.js';

export interface StoreOptions {
  /** Milliseconds since the epoch; injected so tests control every stored time. */
  readonly clock?: () => number;
}

/** An open database plus its cache of prepared statements. */
export class Store {
  readonly db: Database.Database;
  /** Absolute path, or `:memory:`. */
  readonly path: string;
  readonly now: () => number;
  private readonly statements = new Map<string, Database.Statement>();

  constructor(db: Database.Database, path: string, options: StoreOptions = {}) {
    this.db = db;
    this.path = path;
    this.now = options.clock ?? Date.now;
  }

  /** A prepared statement, compiled once per handle and reused. */
  statement(sql: string): Database.Statement {
    let stmt = this.statements.get(sql);
    if (stmt === undefined) {
      stmt = this.db.prepare(sql);
      this.statements.set(sql, stmt);
    }
    return stmt;
  }

  /** Runs `fn` in a BEGIN IMMEDIATE transaction, for read-then-write sequences. */
  write<T>(fn: () => T): T {
    return this.db.transaction(fn).immediate();
  }

  /** `PRAGMA integrity_check`: `['ok']` for a healthy file, else SQLite's findings. */
  integrityCheck(): string[] {
    const rows = this.db.pragma('integrity_check') as { integrity_check: string }[];
    return rows.map((row) => row.integrity_check);
  }

  close(): void {
    if (this.db.open) this.db.close();
  }
}

function displayPath(path: string): string {
  return path === ':memory:' ? path : resolve(path);
}

function dbError(path: string, error: unknown): AutotuneError {
  const reason = error instanceof Error ? error.message : String(error);
  return new AutotuneError('E_DB', `cannot use database ${path}: ${reason}`, { cause: error });
}

function userVersion(db: Database.Database): number {
  return db.pragma('user_version', { simple: true }) as number;
}

function checkNotTooNew(path: string, version: number): void {
  if (version > SCHEMA_VERSION) {
    throw new AutotuneError(
      'E_DB_TOO_NEW',
      `database ${path} was written by a newer autotune (schema ${version} > ${SCHEMA_VERSION}); upgrade autotune`,
    );
  }
}

function migrate(db: Database.Database, path: string): void {
  for (let version = userVersion(db); version < SCHEMA_VERSION; version = userVersion(db)) {
    // Re-read inside the write lock: another process may have migrated meanwhile.
    db.transaction(() => {
      const current = userVersion(db);
      const sql = MIGRATIONS[current];
      if (sql === undefined) return;
      db.exec(sql);
      db.pragma(`user_version = ${current + 1}`);
    }).immediate();
  }
  checkNotTooNew(path, userVersion(db));
}

/**
 * Opens (creating it and its directory if needed) and migrates the database at `path`.
 * synchronous=FULL: a commit happens a few times per multi-minute benchmark, so the fsync
 * costs nothing measurable, while NORMAL could lose a finished run (minutes of GPU time) to a
 * power cut or kernel crash and leave artifacts on disk ahead of the database.
 */
export function openStore(path: string, options: StoreOptions = {}): Store {
  const shown = displayPath(path);
  if (path !== ':memory:') makeDirs(dirname(shown));
  let db: Database.Database | undefined;
  try {
    db = new Database(path);
    db.pragma('busy_timeout = 5000');
    checkNotTooNew(shown, userVersion(db));
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = FULL');
    db.pragma('foreign_keys = ON');
    migrate(db, shown);
    return new Store(db, shown, options);
  } catch (error) {
    db?.close();
    if (error instanceof AutotuneError) throw error;
    throw dbError(shown, error);
  }
}

/**
 * Opens an existing database for status, list and export: never migrates, never writes.
 * An older schema is refused rather than guessed at.
 */
export function openReadOnly(path: string, options: StoreOptions = {}): Store {
  const shown = displayPath(path);
  if (!existsSync(shown)) {
    throw new AutotuneError('E_SESSION_NOT_FOUND', `no autotune database at ${shown}; no session has been run there`);
  }
  let db: Database.Database | undefined;
  try {
    db = new Database(shown, { readonly: true, fileMustExist: true });
    db.pragma('busy_timeout = 5000');
    const version = userVersion(db);
    checkNotTooNew(shown, version);
    if (version < SCHEMA_VERSION) {
      throw new AutotuneError(
        'E_DB',
        `database ${shown} has an older schema (${version} < ${SCHEMA_VERSION}); any writing autotune command (e.g. resume) upgrades it`,
      );
    }
    return new Store(db, shown, options);
  } catch (error) {
    db?.close();
    if (error instanceof AutotuneError) throw error;
    throw dbError(shown, error);
  }
}
