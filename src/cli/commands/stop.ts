/**
 * `autotune stop [ID|RUN_DIR] [--force]`: asks the worker to stop (it kills the running
 * benchmark's process tree and records the run as interrupted), or with --force kills the
 * worker and, once it is gone, the benchmark itself.
 */
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { AutotuneError } from '../../errors.js';
import { isProcessAlive } from '../../runners/process-group.js';
import type { Store } from '../../store/db.js';
import { acquireLease, LEASE_STALE_MS, releaseLease } from '../../store/lease.js';
import type { SessionRecord } from '../../store/records.js';
import { requestStop, transition } from '../../store/session-state.js';
import { getSession } from '../../store/sessions.js';
import { lookupSession } from '../lookup.js';
import { reapRunningRuns } from '../reap.js';
import { readSessionOptions } from '../session-options.js';
import { displayState } from '../session-view.js';
import { parseVerbArgs } from '../verb-args.js';

const POLL_MS = 100;
/** How long a SIGKILLed worker may take to be gone (a process in uninterruptible I/O). */
const KILL_WAIT_MS = 10_000;

function signalWorker(session: SessionRecord, signal: NodeJS.Signals): boolean {
  const lease = session.lease;
  if (lease === null || lease.host !== hostname() || !isProcessAlive(lease.pid)) return false;
  try {
    process.kill(lease.pid, signal);
    return true;
  } catch {
    return false;
  }
}

async function waitGone(pid: number): Promise<void> {
  const deadline = Date.now() + KILL_WAIT_MS;
  while (isProcessAlive(pid)) {
    if (Date.now() >= deadline) throw new AutotuneError('E_SESSION_STATE', `worker pid ${pid} did not die after SIGKILL; nothing was changed`);
    await sleep(POLL_MS);
  }
}

/**
 * Kills the worker, waits until it is really gone, then takes its lease over (stale now) to
 * kill what is left of the benchmark and record the session stopped.
 */
async function forceStop(store: Store, session: SessionRecord): Promise<string[]> {
  const notes: string[] = [];
  const worker = session.lease;
  if (signalWorker(session, 'SIGKILL') && worker !== null) {
    notes.push(`killed worker pid ${worker.pid}`);
    await waitGone(worker.pid);
  }
  const token = randomUUID();
  const lease = acquireLease(store, session.id, { pid: process.pid, host: hostname(), token, staleAfterMs: LEASE_STALE_MS, isAlive: isProcessAlive });
  if (!lease.acquired) {
    throw new AutotuneError('E_SESSION_LOCKED', `session ${session.id} is held by pid ${lease.holder.pid} on ${lease.holder.host}; stop it there`);
  }
  try {
    notes.push(...reapRunningRuns(store, session.id, token, { runner: readSessionOptions(session.options).runner ?? 'local' }));
    if (getSession(store, session.id)?.state !== 'stopped') transition(store, session.id, 'stopped', { token }, { clearStop: true });
  } finally {
    releaseLease(store, session.id, token);
  }
  return notes;
}

export async function stopCommand(argv: string[]): Promise<number> {
  const args = parseVerbArgs(argv, { values: ['--db', '--wait'], switches: ['--force'] });
  const waitSec = Number(args.values['--wait'] ?? 30);
  if (!Number.isFinite(waitSec) || waitSec < 0) throw new AutotuneError('E_USAGE', `Expected \`--wait\` to be seconds >= 0, got \`${args.values['--wait']}\``);
  const { store, session } = lookupSession(args.positional[0] ?? null, args.values['--db'] ?? null, 'write');
  try {
    const state = displayState(session, Date.now());
    if (state !== 'running' && state !== 'stopping' && state !== 'created' && state !== 'crashed') {
      throw new AutotuneError('E_SESSION_STATE', `session ${session.id} is not running (${state})`);
    }
    const resumeHint = `Resume it with \`autotune resume ${session.id}\`.`;
    if (args.switches.has('--force') || state === 'crashed') {
      const notes = await forceStop(store, session);
      process.stdout.write(`Session ${session.id} stopped${notes.length > 0 ? `: ${notes.join('; ')}` : ''}. ${resumeHint}\n`);
      return 0;
    }
    // The request stays until a worker acknowledges it, so a worker that is only starting obeys it too.
    if (requestStop(store, session.id) === 'stopped') {
      process.stdout.write(`Session ${session.id} stopped before its worker started. ${resumeHint}\n`);
      return 0;
    }
    const signalled = new Set<number>();
    if (signalWorker(session, 'SIGTERM') && session.lease !== null) signalled.add(session.lease.pid);
    const deadline = Date.now() + waitSec * 1000;
    for (;;) {
      const now = getSession(store, session.id);
      if (now === null || (now.lease === null && now.stopRequestedAt === null)) {
        process.stdout.write(`Session ${session.id} stopped (${now?.state ?? 'gone'}). ${resumeHint}\n`);
        return 0;
      }
      if (Date.now() >= deadline) {
        const who = now.lease === null ? 'its worker has not started' : `worker pid ${now.lease.pid} did not stop`;
        throw new AutotuneError('E_SESSION_STATE', `${who} within ${waitSec} s; use \`autotune stop ${session.id} --force\``);
      }
      // A worker that took the lease after the request was recorded is signalled too, once
      // (a second signal would make it kill the benchmark without grace).
      if (now.lease !== null && !signalled.has(now.lease.pid)) {
        signalled.add(now.lease.pid);
        signalWorker(now, 'SIGTERM');
      }
      await sleep(POLL_MS);
    }
  } finally {
    store.close();
  }
}
