/**
 * The session state machine and the lease fence. Every change of a session's state goes
 * through `transition`, which allows only the moves in TRANSITIONS; every write of a worker
 * goes through `fenced`, which runs it in one write transaction only while the worker still
 * holds the lease, so a worker that was taken over cannot write beside its successor.
 */
import { AutotuneError } from '../errors.js';
import type { Store } from './db.js';
import type { SessionRow, SessionState } from './records.js';

/**
 * created: inserted, no worker yet. running: a worker drives it. stopping: a stop request
 * waits for the worker. stopped / failed: may be resumed. completed: final. A session whose
 * worker died shows as crashed (derived from its stale lease, see session-view.ts).
 */
export const TRANSITIONS: Readonly<Record<SessionState, readonly SessionState[]>> = {
  created: ['running', 'stopped', 'failed'],
  // running -> running: a resumed session taken over from a crashed worker.
  running: ['running', 'stopping', 'stopped', 'completed', 'failed'],
  // stopping -> running: a crashed worker's stop request withdrawn by `resume`.
  stopping: ['running', 'stopped', 'completed', 'failed'],
  stopped: ['running', 'stopped'],
  failed: ['running', 'failed'],
  completed: [],
};

/** The holder's token, or `unleased` for a command acting on a session no worker holds. */
export type Fence = { readonly token: string } | 'unleased';

export function leaseLost(sessionId: string): AutotuneError {
  return new AutotuneError('E_LEASE_LOST', `session ${sessionId} was taken over by another worker; this one stopped without writing`);
}

function row(store: Store, sessionId: string): SessionRow {
  const found = store.statement('SELECT * FROM sessions WHERE id = ?').get(sessionId) as SessionRow | undefined;
  if (found === undefined) throw new AutotuneError('E_SESSION_NOT_FOUND', `no session ${sessionId}`);
  return found;
}

function checkFence(current: SessionRow, fence: Fence): void {
  if (fence === 'unleased') {
    if (current.lease_token !== null) throw new AutotuneError('E_SESSION_LOCKED', `session ${current.id} is held by worker pid ${current.lease_pid}`);
  } else if (current.lease_token !== fence.token) {
    throw leaseLost(current.id);
  }
}

function checkLegal(current: SessionRow, to: SessionState): void {
  if (!TRANSITIONS[current.state].includes(to)) {
    throw new AutotuneError('E_SESSION_STATE', `session ${current.id} cannot go from ${current.state} to ${to}`);
  }
}

/** Runs `fn` in one write transaction, only while `token` holds the session's lease. */
export function fenced<T>(store: Store, sessionId: string, token: string, fn: () => T): T {
  return store.write(() => {
    checkFence(row(store, sessionId), { token });
    return fn();
  });
}

export interface TransitionExtras {
  /** First line kept: shown in one-line listings. */
  readonly error?: string;
  readonly finalJson?: string;
  /** Acknowledges (clears) a pending stop request. */
  readonly clearStop?: boolean;
}

/** Moves the session to `to` if the table allows it from its current state; returns the state it left. */
export function transition(store: Store, sessionId: string, to: SessionState, fence: Fence, extras: TransitionExtras = {}): SessionState {
  return store.write(() => {
    const current = row(store, sessionId);
    checkFence(current, fence);
    checkLegal(current, to);
    const result = store
      .statement(
        `UPDATE sessions SET state = @to, updated_at = @now,
           error = CASE WHEN @error IS NULL THEN error ELSE @error END,
           final_json = CASE WHEN @finalJson IS NULL THEN final_json ELSE @finalJson END,
           stop_requested_at = CASE WHEN @clearStop THEN NULL ELSE stop_requested_at END
         WHERE id = @id AND state = @from AND lease_token IS @token`,
      )
      .run({
        id: sessionId,
        to,
        from: current.state,
        token: fence === 'unleased' ? null : fence.token,
        now: store.now(),
        error: extras.error === undefined ? null : (extras.error.split(/\r?\n/, 1)[0] ?? ''),
        finalJson: extras.finalJson ?? null,
        clearStop: extras.clearStop === true ? 1 : 0,
      });
    if (result.changes !== 1) throw leaseLost(sessionId);
    return current.state;
  });
}

export type StartOutcome = 'running' | 'stopped';

/**
 * A worker that has just taken the lease: acknowledges a stop request that came before it
 * (the session stays stopped and nothing runs), else marks the session running.
 */
export function startWorking(store: Store, sessionId: string, token: string): StartOutcome {
  return fenced(store, sessionId, token, () => {
    const current = row(store, sessionId);
    if (current.stop_requested_at !== null) {
      transition(store, sessionId, 'stopped', { token }, { clearStop: true });
      return 'stopped';
    }
    transition(store, sessionId, 'running', { token });
    return 'running';
  });
}

/**
 * Records a stop request; it stays until a worker acknowledges it. A running session shows
 * as stopping meanwhile; a session no worker has taken yet is stopped at once (its worker,
 * when it comes, acknowledges the request and runs nothing). Returns the state it is in now.
 */
export function requestStop(store: Store, sessionId: string): SessionState {
  return store.write(() => {
    const current = row(store, sessionId);
    const now = store.now();
    const to: SessionState =
      current.state === 'running' ? 'stopping' : current.state === 'created' && current.lease_token === null ? 'stopped' : current.state;
    if (to !== current.state) checkLegal(current, to);
    store
      .statement('UPDATE sessions SET stop_requested_at = COALESCE(stop_requested_at, ?), state = ?, updated_at = ? WHERE id = ?')
      .run(now, to, now, sessionId);
    return to;
  });
}

/**
 * `resume` of a session no live worker holds: a stop request nobody acknowledged (its worker
 * died or never came) is withdrawn, so the new worker runs.
 */
export function withdrawStop(store: Store, sessionId: string): void {
  store.write(() => {
    const current = row(store, sessionId);
    if (current.stop_requested_at === null) return;
    const to: SessionState = current.state === 'stopping' ? 'running' : current.state;
    if (to !== current.state) checkLegal(current, to);
    store
      .statement('UPDATE sessions SET stop_requested_at = NULL, state = ?, updated_at = ? WHERE id = ?')
      .run(to, store.now(), sessionId);
  });
}
