/** `autotune compare A B [--json]`: two sessions' choices and gains side by side. */
import { AutotuneError } from '../../errors.js';
import { compareReports, formatComparison } from '../../report/compare.js';
import { buildReport, type ReportModel } from '../../report/model.js';
import { reportInput } from '../../store/report-input.js';
import { lookupSession } from '../lookup.js';
import { plannedInvocations } from '../session-view.js';
import { parseVerbArgs } from '../verb-args.js';

/** Each side may live in its own database (two nodes): a run directory finds its own. */
function modelOf(target: string, db: string | null, now: number): ReportModel {
  const { store, session } = lookupSession(target, db, 'read');
  try {
    const num = (k: string): number | null => (typeof session.options[k] === 'number' ? (session.options[k] as number) : null);
    return buildReport({ ...reportInput(store, session), plannedInvocations: plannedInvocations(session, num('numRuns') ?? 2, num('budget')), outDir: session.runDir, generatedAt: now });
  } finally {
    store.close();
  }
}

export async function compareCommand(argv: string[]): Promise<number> {
  const args = parseVerbArgs(argv, { values: ['--db'], switches: ['--json'], positional: 2 });
  const [a, b] = args.positional;
  if (a === undefined || b === undefined) throw new AutotuneError('E_USAGE', 'compare needs two sessions (ids or run directories), e.g. `autotune compare 20261123-061455-a1b2 autotune_logs/autotune_20261124_101500`');
  const now = Date.now();
  const db = args.values['--db'] ?? null;
  const comparison = compareReports(modelOf(a, db, now), modelOf(b, db, now));
  process.stdout.write(args.switches.has('--json') ? `${JSON.stringify(comparison, null, 2)}\n` : formatComparison(comparison));
  return 0;
}
