/**
 * Opening the session database: pragmas, migrations and the one handle every repository
 * function takes. better-sqlite3 is synchronous, so every write here is a short transaction
 * that commits before the caller goes back to awaiting a benchmark.
 */
import { accessSync, constants, existsSync } from 'node:fs';
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

/** SQLite says only "unable to open database file" when the directory cannot hold its journal. */
function unwritableDir(path: string): string {
  if (path === ':memory:') return '';
  try {
    accessSync(dirname(path), constants.W_OK);
    return '';
  } catch {
    return ` (directory ${dirname(path)} is read-only or not writable)`;
  }
}

function dbError(path: string, error: unknown): AutotuneError {
  const reason = `${error instanceof Error ? error.message : String(error)}${unwritableDir(path)}`;
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

/** 'ATUN': marks a database as autotune's, so a foreign SQLite file is never taken for one. */
export const APPLICATION_ID = 0x4154554e;

/** The tables of schema 1, which predates the application id. */
const OUR_TABLES = ['decisions', 'runs', 'sessions', 'trials'];

function applicationId(db: Database.Database): number {
  return db.pragma('application_id', { simple: true }) as number;
}

function tableNames(db: Database.Database): string[] {
  const rows = db.prepare(`SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name`).all() as {
    name: string;
  }[];
  return rows.map((row) => row.name);
}

/**
 * Refuses a database that is not autotune's before anything in it changes: another
 * application's id, or tables in a database autotune never versioned, or a versioned one
 * without the application id that lacks autotune's tables.
 */
function checkOurs(db: Database.Database, path: string, version: number): void {
  const foreign = (why: string): AutotuneError =>
    new AutotuneError('E_DB_FOREIGN', `${path} is not an autotune database (${why}); give autotune its own file with --db`);
  const id = applicationId(db);
  if (id === APPLICATION_ID) return;
  if (id !== 0) throw foreign(`application id ${id}`);
  const tables = tableNames(db);
  if (version === 0 && tables.length > 0) throw foreign(`it holds tables ${tables.slice(0, 5).join(', ')}`);
  if (version > 0 && !OUR_TABLES.every((t) => tables.includes(t))) throw foreign(`schema version ${version} without autotune's tables`);
}

function migrate(db: Database.Database, path: string): void {
  // A table rebuild must not cascade into the tables that reference it (SQLite's documented
  // procedure); the pragma is a no-op inside a transaction, so it is switched around them.
  db.pragma('foreign_keys = OFF');
  try {
    for (let version = userVersion(db); version < SCHEMA_VERSION; version = userVersion(db)) {
      // Re-read inside the write lock: another process may have migrated meanwhile.
      db.transaction(() => {
        const current = userVersion(db);
        const sql = MIGRATIONS[current];
        if (sql === undefined) return;
        db.exec(sql);
        const broken = db.pragma('foreign_key_check') as unknown[];
        if (broken.length > 0) throw new AutotuneError('E_DB', `migration ${current + 1} of ${path} left ${broken.length} dangling reference(s)`);
        db.pragma(`user_version = ${current + 1}`);
        db.pragma(`application_id = ${APPLICATION_ID}`);
      }).immediate();
      // Each migration's pages go into the database file before the next one writes: the WAL
      // would otherwise hold every migration's copy of the rebuilt tables at once.
      db.pragma('wal_checkpoint(TRUNCATE)');
    }
  } finally {
    db.pragma('foreign_keys = ON');
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
    // Only reads until the file is known to be ours and not too new: a refused file is left as it was.
    const version = userVersion(db);
    checkNotTooNew(shown, version);
    checkOurs(db, shown, version);
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = FULL');
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
    checkOurs(db, shown, version);
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
