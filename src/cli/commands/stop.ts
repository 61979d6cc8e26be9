/**
 * `autotune stop [ID|RUN_DIR] [--force]`: asks the worker to stop (it kills the running
 * benchmark's process tree and records the run as interrupted), or with --force kills the
 * worker and the benchmark itself.
 */
import { hostname } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { AutotuneError } from '../../errors.js';
import { isProcessAlive } from '../../runners/process-group.js';
import type { Store } from '../../store/db.js';
import { releaseLease } from '../../store/lease.js';
import type { SessionRecord } from '../../store/records.js';
import { getSession, requestStop, updateSessionState } from '../../store/sessions.js';
import { lookupSession } from '../lookup.js';
import { reapRunningRuns } from '../reap.js';
import { displayState } from '../session-view.js';
import { parseVerbArgs } from '../verb-args.js';

const POLL_MS = 100;

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

/** Kills what is left and records the session as stopped, without the worker's help. */
function forceStop(store: Store, session: SessionRecord): string[] {
  const notes: string[] = [];
  if (signalWorker(session, 'SIGKILL')) notes.push(`killed worker pid ${session.lease?.pid}`);
  notes.push(...reapRunningRuns(store, session.id));
  if (session.lease !== null) releaseLease(store, session.id, session.lease.token);
  updateSessionState(store, session.id, 'stopped');
  return notes;
}

export async function stopCommand(argv: string[]): Promise<number> {
  const args = parseVerbArgs(argv, { values: ['--db', '--wait'], switches: ['--force'] });
  const waitSec = Number(args.values['--wait'] ?? 30);
  if (!Number.isFinite(waitSec) || waitSec < 0) throw new AutotuneError('E_USAGE', `Expected \`--wait\` to be seconds >= 0, got \`${args.values['--wait']}\``);
  const { store, session } = lookupSession(args.positional[0] ?? null, args.values['--db'] ?? null, 'write');
  try {
    const state = displayState(session, Date.now());
    if (state !== 'running' && state !== 'crashed') {
      throw new AutotuneError('E_SESSION_STATE', `session ${session.id} is not running (${state})`);
    }
    if (args.switches.has('--force') || state === 'crashed') {
      const notes = forceStop(store, session);
      process.stdout.write(`Session ${session.id} stopped${notes.length > 0 ? `: ${notes.join('; ')}` : ''}. Resume it with \`autotune resume ${session.id}\`.\n`);
      return 0;
    }
    requestStop(store, session.id);
    signalWorker(session, 'SIGTERM');
    const deadline = Date.now() + waitSec * 1000;
    for (;;) {
      const now = getSession(store, session.id);
      if (now === null || now.lease === null) {
        process.stdout.write(`Session ${session.id} stopped (${now?.state ?? 'gone'}). Resume it with \`autotune resume ${session.id}\`.\n`);
        return 0;
      }
      if (Date.now() >= deadline) {
        throw new AutotuneError(
          'E_SESSION_STATE',
          `worker pid ${now.lease.pid} did not stop within ${waitSec} s; use \`autotune stop ${session.id} --force\``,
        );
      }
      await sleep(POLL_MS);
    }
  } finally {
    store.close();
  }
}
