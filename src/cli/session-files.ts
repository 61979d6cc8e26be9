/**
 * Where a session's database is, and how a run directory points back to its session. The
 * pointer file lets `resume RUN_DIR` find a session whose database is not the default one.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { AutotuneError } from '../errors.js';
import { atomicWriteFile } from '../store/atomic-write.js';

export const POINTER_FILE = 'autotune_session.json';
export const DEFAULT_OUTPUT_DIR = 'autotune_logs';

export function defaultDbPath(outputDir: string, env: NodeJS.ProcessEnv = process.env): string {
  const fromEnv = env['AUTOTUNE_DB'];
  return resolve(fromEnv !== undefined && fromEnv !== '' ? fromEnv : join(outputDir, 'autotune.db'));
}

export function writePointer(runDir: string, sessionId: string, dbPath: string): void {
  atomicWriteFile(join(runDir, POINTER_FILE), `${JSON.stringify({ session: sessionId, db: dbPath }, null, 2)}\n`);
}

export interface SessionRef {
  /** A session id (or unique prefix); null when only the run directory is known. */
  readonly id: string | null;
  readonly runDir: string | null;
  readonly dbPath: string;
}

function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

/** Resolves `ID|RUN_DIR` (and `--db`) to a database and a session to look up in it. */
export function resolveSessionRef(target: string | null, dbOption: string | null): SessionRef {
  if (target !== null && (target.includes('/') || isDirectory(target))) {
    const runDir = resolve(target);
    if (!isDirectory(runDir)) throw new AutotuneError('E_NOT_A_RUN_DIR', `${target} is not a directory`);
    const pointer = join(runDir, POINTER_FILE);
    if (!existsSync(pointer)) {
      throw new AutotuneError('E_NOT_A_RUN_DIR', `${target} is not an autotune run directory (no ${POINTER_FILE})`);
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(readFileSync(pointer, 'utf8'));
    } catch {
      throw new AutotuneError('E_NOT_A_RUN_DIR', `${pointer} is not valid JSON`);
    }
    const session = typeof parsed === 'object' && parsed !== null && 'session' in parsed ? String(parsed.session) : null;
    const db = typeof parsed === 'object' && parsed !== null && 'db' in parsed ? String(parsed.db) : null;
    return { id: session, runDir, dbPath: resolve(dbOption ?? db ?? join(dirname(runDir), 'autotune.db')) };
  }
  return { id: target, runDir: null, dbPath: dbOption !== null ? resolve(dbOption) : defaultDbPath(DEFAULT_OUTPUT_DIR) };
}
