/** Finds the session a management verb names, in the right database. */
import { existsSync } from 'node:fs';
import { AutotuneError } from '../errors.js';
import { openReadOnly, openStore, type Store } from '../store/db.js';
import type { SessionRecord } from '../store/records.js';
import { findSessionByRunDir, getSession, listSessions } from '../store/sessions.js';
import { resolveSessionRef } from './session-files.js';

export interface FoundSession {
  readonly store: Store;
  readonly session: SessionRecord;
  readonly dbPath: string;
}

/** Opens the database of `target` (an id, id prefix or run directory; null = the newest session). */
export function lookupSession(target: string | null, dbOption: string | null, mode: 'read' | 'write'): FoundSession {
  const ref = resolveSessionRef(target, dbOption);
  if (!existsSync(ref.dbPath)) {
    throw new AutotuneError('E_SESSION_NOT_FOUND', `no autotune database at ${ref.dbPath} (use --db or AUTOTUNE_DB)`);
  }
  const store = mode === 'read' ? openReadOnly(ref.dbPath) : openStore(ref.dbPath);
  try {
    const session =
      ref.id !== null
        ? getSession(store, ref.id)
        : ref.runDir !== null
          ? findSessionByRunDir(store, ref.runDir)
          : (listSessions(store, 1)[0] ?? null);
    if (session === null) {
      const what = ref.id ?? ref.runDir ?? 'any session';
      throw new AutotuneError('E_SESSION_NOT_FOUND', `no session ${what} in ${ref.dbPath}`);
    }
    return { store, session, dbPath: ref.dbPath };
  } catch (error) {
    store.close();
    throw error;
  }
}
