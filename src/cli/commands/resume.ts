/** `autotune resume ID|RUN_DIR`: continues a stopped, failed or crashed session where it stopped. */
import { AutotuneError } from '../../errors.js';
import type { SessionRecord } from '../../store/records.js';
import { startWorker, workerBanner } from '../background.js';
import { parseVerbArgs } from '../verb-args.js';
import { lookupSession } from '../lookup.js';

function checkResumable(session: SessionRecord): void {
  if (session.state === 'completed') {
    throw new AutotuneError('E_SESSION_STATE', `session ${session.id} already completed; its results are in ${session.runDir}`);
  }
}

export async function resumeCommand(argv: string[]): Promise<number> {
  const args = parseVerbArgs(argv, { values: ['--db'], switches: ['--quiet', '--worker'], booleans: ['--background'] });
  const target = args.positional[0] ?? null;
  if (target === null) throw new AutotuneError('E_USAGE', 'resume needs a session id or run directory, e.g. `autotune resume 20261123-061455-a1b2`');
  const { store, session, dbPath } = lookupSession(target, args.values['--db'] ?? null, 'write');
  try {
    checkResumable(session);
    if (args.booleans['--background'] === true && !args.switches.has('--worker')) return background(session, dbPath);
    const { driveSession } = await import('../drive.js');
    if (args.switches.has('--worker')) return await driveSession(store, session.id, { console: false, echo: false });
    process.stdout.write(`Resuming session ${session.id}, run directory ${session.runDir}\n`);
    return await driveSession(store, session.id, { console: true, echo: !args.switches.has('--quiet') });
  } finally {
    store.close();
  }
}

function background(session: SessionRecord, dbPath: string): number {
  const { pid, logPath } = startWorker(session, dbPath);
  process.stdout.write(workerBanner(session, pid, logPath));
  return 0;
}
