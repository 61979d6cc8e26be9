/** What a session's report is built from, read from the database alone. */
import type { ReportInput } from '../report/model.js';
import type { Store } from './db.js';
import { loadDecisions } from './decisions.js';
import { loadHardware } from './hardware.js';
import type { SessionRecord } from './records.js';
import { loadRuns } from './runs.js';
import { loadTrials } from './trials.js';

export type StoredReportInput = Pick<ReportInput, 'session' | 'hardware' | 'trials' | 'runs' | 'decisions'>;

export function reportInput(store: Store, session: SessionRecord): StoredReportInput {
  return {
    session,
    hardware: loadHardware(store, session.id),
    trials: loadTrials(store, session.id).map((t) => t.spec),
    runs: loadRuns(store, session.id),
    decisions: loadDecisions(store, session.id),
  };
}
