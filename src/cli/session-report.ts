/** Builds and writes a session's report.html from the database (report verb and session end). */
import { dirname, join, resolve } from 'node:path';
import { buildReport } from '../report/model.js';
import { renderReportHtml } from '../report/html.js';
import { ARTIFACTS } from '../store/artifacts.js';
import { atomicWriteFile } from '../store/atomic-write.js';
import type { Store } from '../store/db.js';
import type { SessionRecord } from '../store/records.js';
import { reportInput } from '../store/report-input.js';
import { plannedInvocations } from './session-view.js';

export function defaultReportPath(session: SessionRecord): string {
  return join(session.runDir, ARTIFACTS.report);
}

function numberOption(session: SessionRecord, key: string): number | null {
  const v = session.options[key];
  return typeof v === 'number' ? v : null;
}

/** Writes the report atomically (never a half-written file) and returns its absolute path. */
export function writeSessionReport(store: Store, session: SessionRecord, outPath: string, now: number): string {
  const path = resolve(outPath);
  const model = buildReport({
    ...reportInput(store, session),
    plannedInvocations: plannedInvocations(session, numberOption(session, 'numRuns') ?? 2, numberOption(session, 'budget')),
    outDir: dirname(path),
    generatedAt: now,
  });
  atomicWriteFile(path, renderReportHtml(model));
  return path;
}
