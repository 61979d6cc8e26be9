/**
 * `autotune resume ID|RUN_DIR`: continues a stopped, failed or crashed session where it stopped;
 * with `--retry-failures CLASSES`, retries those failures of a finished engine study in a new
 * session that reuses every other run (retry-failures.ts).
 */
import { AutotuneError } from '../../errors.js';
import type { Store } from '../../store/db.js';
import type { SessionRecord } from '../../store/records.js';
import { withdrawStop } from '../../store/session-state.js';
import { startWorker, workerBanner } from '../background.js';
import { displayState } from '../session-view.js';
import { parseVerbArgs } from '../verb-args.js';
import { lookupSession } from '../lookup.js';
import { isBenchServeSession } from '../bench-session.js';
import { parseRetryFailures } from '../engine-options.js';
import { retrySession } from '../retry-failures.js';

/** Refused up front, before any worker starts: a completed session, or one a live worker holds. */
function checkResumable(session: SessionRecord): void {
  if (isBenchServeSession(session)) {
    throw new AutotuneError('E_SESSION_STATE', `session ${session.id} is an \`autotune bench serve\` benchmark: it is run again, not resumed (its runs so far stay in ${session.runDir})`);
  }
  if (session.state === 'completed') {
    throw new AutotuneError('E_SESSION_STATE', `session ${session.id} already completed; its results are in ${session.runDir}`);
  }
  const state = displayState(session, Date.now());
  const live = state === 'running' || state === 'stopping' || (state === 'created' && session.lease !== null);
  if (live && session.lease !== null) {
    throw new AutotuneError(
      'E_SESSION_LOCKED',
      `session ${session.id} is already being run by pid ${session.lease.pid} on ${session.lease.host}; watch it with \`autotune status ${session.id}\` or stop it with \`autotune stop ${session.id}\``,
    );
  }
}

export async function resumeCommand(argv: string[]): Promise<number> {
  const args = parseVerbArgs(argv, { values: ['--db', '--retry-failures'], switches: ['--quiet', '--worker', '--no-progress'], booleans: ['--background'] });
  const target = args.positional[0] ?? null;
  if (target === null) throw new AutotuneError('E_USAGE', 'resume needs a session id or run directory, e.g. `autotune resume 20261123-061455-a1b2`');
  const { store, session, dbPath } = lookupSession(target, args.values['--db'] ?? null, 'write');
  try {
    const { driveSession } = await import('../drive.js');
    // A worker started for this session obeys a stop request that came before it.
    if (args.switches.has('--worker')) return await driveSession(store, session.id, { console: false, echo: false });
    const retry = args.values['--retry-failures'];
    if (retry !== undefined) {
      const classes = parseRetryFailures(retry, '--retry-failures');
      const child = retrySession(store, session, dbPath, classes);
      if (child === null) {
        process.stdout.write(`Session ${session.id} has no ${classes.join(', ')} failure to retry; its results stand in ${session.runDir}\n`);
        return 0;
      }
      if (args.booleans['--background'] === true) return await background(store, child.session, dbPath);
      process.stdout.write(
        `Session ${child.session.id} retries the ${classes.join(', ')} failures of session ${session.id} (${child.retried} of its runs run again, ${child.reused} are reused without running), run directory ${child.session.runDir}\n`,
      );
      return await driveSession(store, child.session.id, { console: true, echo: !args.switches.has('--quiet'), progress: !args.switches.has('--no-progress') });
    }
    checkResumable(session);
    // The user asks to continue: a stop request no worker acknowledged is withdrawn.
    withdrawStop(store, session.id);
    if (args.booleans['--background'] === true) return await background(store, session, dbPath);
    process.stdout.write(`Resuming session ${session.id}, run directory ${session.runDir}\n`);
    return await driveSession(store, session.id, { console: true, echo: !args.switches.has('--quiet'), progress: !args.switches.has('--no-progress') });
  } finally {
    store.close();
  }
}

async function background(store: Store, session: SessionRecord, dbPath: string): Promise<number> {
  const worker = await startWorker(store, session, dbPath);
  process.stdout.write(workerBanner(session, worker));
  return 0;
}
