/** `autotune report ID|RUN_DIR [--out FILE]`: the session's self-contained HTML report. */
import { AutotuneError } from '../../errors.js';
import { lookupSession } from '../lookup.js';
import { defaultReportPath, writeSessionReport } from '../session-report.js';
import { parseVerbArgs } from '../verb-args.js';

export async function reportCommand(argv: string[]): Promise<number> {
  const args = parseVerbArgs(argv, { values: ['--db', '--out'], switches: [] });
  const target = args.positional[0];
  if (target === undefined) throw new AutotuneError('E_USAGE', 'report needs a session id or run directory, e.g. `autotune report 20261123-061455-a1b2 --out report.html`');
  const { store, session } = lookupSession(target, args.values['--db'] ?? null, 'read');
  try {
    const path = writeSessionReport(store, session, args.values['--out'] ?? defaultReportPath(session), Date.now());
    process.stdout.write(`${path}\n`);
    return 0;
  } finally {
    store.close();
  }
}
