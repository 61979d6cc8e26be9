/**
 * The session lease: at most one process drives a session. A lease is taken over only when
 * it is stale, so a crashed daemon's session can be resumed while a live one is protected.
 * The store does no process I/O: liveness is asked of an injected `isAlive`.
 */
import { AutotuneError } from '../errors.js';
import type { Store } from './db.js';
import { leaseOf, type Lease, type SessionRow } from './records.js';

/** A lease without a heartbeat for this long is taken over even from another host. */
export const LEASE_STALE_MS = 60_000;

export interface LeaseClaim {
  readonly pid: number;
  readonly host: string;
  /** Unique per claiming process; heartbeats and release must present it. */
  readonly token: string;
}

export interface Staleness {
  /** A lease whose last heartbeat is older than this is stale wherever its holder runs. */
  readonly staleAfterMs: number;
  /** Whether a pid is alive on this host; only asked about leases held on this host. */
  readonly isAlive: (pid: number) => boolean;
}

export type LeaseResult =
  | { readonly acquired: true; readonly previous: Lease | null }
  | { readonly acquired: false; readonly holder: Lease };

export function isLeaseStale(lease: Lease, now: number, host: string, staleness: Staleness): boolean {
  if (now - lease.heartbeatAt > staleness.staleAfterMs) return true;
  return lease.host === host && !staleness.isAlive(lease.pid);
}

/**
 * Takes the lease if it is free, stale, or already ours (same token). `previous` is the stale
 * lease taken over, so the caller can reap that holder's orphans.
 */
export function acquireLease(store: Store, sessionId: string, claim: LeaseClaim & Staleness): LeaseResult {
  return store.write(() => {
    const row = store.statement('SELECT * FROM sessions WHERE id = ?').get(sessionId) as SessionRow | undefined;
    if (row === undefined) throw new AutotuneError('E_SESSION_NOT_FOUND', `no session ${sessionId}`);
    const now = store.now();
    const held = leaseOf(row);
    if (held !== null && held.token !== claim.token && !isLeaseStale(held, now, claim.host, claim)) {
      return { acquired: false, holder: held };
    }
    store
      .statement(
        `UPDATE sessions SET lease_pid = ?, lease_host = ?, lease_token = ?, lease_heartbeat_at = ?, updated_at = ?
         WHERE id = ?`,
      )
      .run(claim.pid, claim.host, claim.token, now, now, sessionId);
    return { acquired: true, previous: held !== null && held.token === claim.token ? null : held };
  });
}

/** Refreshes our lease; false when it is no longer ours (taken over after we went stale). */
export function heartbeat(store: Store, sessionId: string, token: string): boolean {
  const result = store
    .statement('UPDATE sessions SET lease_heartbeat_at = ? WHERE id = ? AND lease_token = ?')
    .run(store.now(), sessionId, token);
  return result.changes === 1;
}

/** Drops our lease; false when it was not ours. */
export function releaseLease(store: Store, sessionId: string, token: string): boolean {
  const result = store
    .statement(
      `UPDATE sessions SET lease_pid = NULL, lease_host = NULL, lease_token = NULL, lease_heartbeat_at = NULL, updated_at = ?
       WHERE id = ? AND lease_token = ?`,
    )
    .run(store.now(), sessionId, token);
  return result.changes === 1;
}
