/** What results.ts needs, read from the database alone, so `export` matches the run directory byte for byte. */
import type { ResultsInput } from '../tuner/results.js';
import { objectiveFor, storedObjective } from '../tuner/objective.js';
import { combinedTrial } from '../tuner/trials.js';
import type { Observation } from '../tuner/types.js';
import type { Store } from './db.js';
import type { SessionRecord } from './records.js';
import { loadRuns } from './runs.js';
import { loadTrials } from './trials.js';

export function resultsInput(store: Store, session: SessionRecord): ResultsInput {
  const runs = loadRuns(store, session.id).filter((r) => r.outcome !== 'running' && r.outcome !== 'interrupted');
  const final = session.final;
  return {
    policy: session.policy,
    objective: storedObjective(session.options) ?? objectiveFor('total'),
    trials: loadTrials(store, session.id).map((t) => t.spec),
    runs: runs.map((r) => ({ trialKey: r.trialKey, kind: r.kind, outcome: r.outcome as Observation['outcome'], metrics: r.metrics })),
    ops: session.ops ?? {},
    finalCombinedKey: final === null || Object.keys(final.opBackends).length === 0 ? null : combinedTrial(final.opBackends, 'combined_best', final.attention).key,
  };
}

