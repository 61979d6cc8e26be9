/** Session rows: creation, lookup by id, id prefix or run directory, and state changes. */
import { randomBytes } from 'node:crypto';
import { resolve } from 'node:path';
import type Database from 'better-sqlite3';
import { AutotuneError } from '../errors.js';
import type { Backend, PolicyName } from '../tuner/types.js';
import type { Store } from './db.js';
import { toSessionRecord, type JsonObject, type SessionRecord, type SessionRow } from './records.js';

export interface NewSession {
  /** Generated from the clock when omitted. */
  readonly id?: string;
  readonly runDir: string;
  readonly policy: PolicyName;
  readonly args: readonly string[];
  readonly options: JsonObject;
  readonly env: Readonly<Record<string, string>>;
}

const pad = (n: number, width = 2): string => String(n).padStart(width, '0');

/** `20261123-061455-a1b2`: local start time, then 4 random hex digits against collisions. */
export function makeSessionId(at: Date, suffix: string = randomBytes(2).toString('hex')): string {
  const date = `${at.getFullYear()}${pad(at.getMonth() + 1)}${pad(at.getDate())}`;
  const time = `${pad(at.getHours())}${pad(at.getMinutes())}${pad(at.getSeconds())}`;
  return `${date}-${time}-${suffix}`;
}

/** The value of `--model X` / `--model=X` (the last one wins, as with argparse), for listings. */
export function modelFromArgs(args: readonly string[]): string | null {
  let model: string | null = null;
  args.forEach((arg, i) => {
    if (arg === '--model') model = args[i + 1] ?? model;
    else if (arg.startsWith('--model=')) model = arg.slice('--model='.length);
  });
  return model;
}

function mustChange(result: Database.RunResult, id: string): void {
  if (result.changes === 0) throw new AutotuneError('E_SESSION_NOT_FOUND', `no session ${id}`);
}

function rowById(store: Store, id: string): SessionRow | undefined {
  return store.statement('SELECT * FROM sessions WHERE id = ?').get(id) as SessionRow | undefined;
}

export function createSession(store: Store, input: NewSession): SessionRecord {
  const now = store.now();
  const runDir = resolve(input.runDir);
  return store.write(() => {
    const owner = findSessionByRunDir(store, runDir);
    if (owner !== null) {
      throw new AutotuneError('E_SESSION_STATE', `run directory ${runDir} already belongs to session ${owner.id}`);
    }
    let id = input.id ?? makeSessionId(new Date(now));
    // Two sessions started in the same second collide only if their 16 random bits do too.
    while (input.id === undefined && rowById(store, id) !== undefined) id = makeSessionId(new Date(now));
    store
      .statement(
        `INSERT INTO sessions (id, created_at, updated_at, state, run_dir, policy, args_json, options_json, env_json, model)
         VALUES (?, ?, ?, 'created', ?, ?, ?, ?, ?, ?)`,
      )
      .run(
        id,
        now,
        now,
        runDir,
        input.policy,
        JSON.stringify(input.args),
        JSON.stringify(input.options),
        JSON.stringify(input.env),
        modelFromArgs(input.args),
      );
    const row = rowById(store, id);
    if (row === undefined) throw new AutotuneError('E_DB', `session ${id} vanished right after it was created`);
    return toSessionRecord(row);
  });
}

/**
 * The session with this id, or the only one whose id starts with it; null when none.
 * An ambiguous prefix is a usage error listing the candidates.
 */
export function getSession(store: Store, idOrPrefix: string): SessionRecord | null {
  if (idOrPrefix === '') return null;
  const exact = rowById(store, idOrPrefix);
  if (exact !== undefined) return toSessionRecord(exact);
  const rows = store
    .statement('SELECT * FROM sessions WHERE substr(id, 1, length(@prefix)) = @prefix ORDER BY id LIMIT 6')
    .all({ prefix: idOrPrefix }) as SessionRow[];
  const [only, ...others] = rows;
  if (only === undefined) return null;
  if (others.length > 0) {
    const shown = rows.slice(0, 5).map((r) => r.id);
    const more = rows.length > 5 ? ', ...' : '';
    throw new AutotuneError('E_USAGE', `session prefix '${idOrPrefix}' is ambiguous: ${shown.join(', ')}${more}`);
  }
  return toSessionRecord(only);
}

export function findSessionByRunDir(store: Store, runDir: string): SessionRecord | null {
  const row = store.statement('SELECT * FROM sessions WHERE run_dir = ?').get(resolve(runDir)) as SessionRow | undefined;
  return row === undefined ? null : toSessionRecord(row);
}

/** Newest first. */
export function listSessions(store: Store, limit: number): SessionRecord[] {
  const rows = store
    .statement('SELECT * FROM sessions ORDER BY created_at DESC, id DESC LIMIT ?')
    .all(limit) as SessionRow[];
  return rows.map(toSessionRecord);
}

/** The tuned operator table; callers fence it (session-state.ts). */
export function setSessionOps(store: Store, id: string, ops: Readonly<Record<string, readonly Backend[]>>): void {
  mustChange(
    store.statement('UPDATE sessions SET ops_json = ?, updated_at = ? WHERE id = ?').run(JSON.stringify(ops), store.now(), id),
    id,
  );
}
