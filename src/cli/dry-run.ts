/** `--dry-run`: prints the plan and a GPU-hour estimate; runs nothing and writes nothing. */
import { existsSync } from 'node:fs';
import { openReadOnly } from '../store/db.js';
import { sessionProgress } from '../store/progress.js';
import { listSessions, modelFromArgs } from '../store/sessions.js';
import type { RunOptions } from './args.js';
import { formatPlan, planStudy, type RunDuration } from './plan.js';
import { defaultDbPath } from './session-files.js';
import { autoTuneConfigOps } from './session-options.js';

/** Sessions looked at for a measured run duration, newest first. */
const PAST_SESSIONS = 50;

/** Mean successful run of the newest past session of the same model, else of any model. */
function pastRunDuration(dbPath: string, model: string | null): RunDuration | null {
  if (!existsSync(dbPath)) return null;
  const store = openReadOnly(dbPath);
  try {
    let fallback: RunDuration | null = null;
    for (const session of listSessions(store, PAST_SESSIONS)) {
      const mean = sessionProgress(store, session.id).meanOkDurationMs;
      if (mean === null) continue;
      const found = { minutes: mean / 60_000, source: `mean run of session ${session.id}${session.model === null ? '' : ` (${session.model})`}` };
      if (model !== null && session.model === model) return found;
      fallback ??= found;
    }
    return fallback;
  } finally {
    store.close();
  }
}

export function printDryRun(run: RunOptions): number {
  const configOps = run.ops === null ? autoTuneConfigOps({ ...process.env, ...run.env }) : null;
  const plan = planStudy(run, configOps);
  const duration: RunDuration | null =
    run.runMinutes !== null
      ? { minutes: run.runMinutes, source: '--run-minutes' }
      : pastRunDuration(run.db ?? defaultDbPath(run.outputDir), modelFromArgs(run.passthrough));
  process.stdout.write(formatPlan(run.config ?? 'the command line', run, plan, duration));
  return 0;
}
