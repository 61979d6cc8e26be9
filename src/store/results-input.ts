/** What results.ts needs, read from the database alone, so `export` matches the run directory byte for byte. */
import type { Estimate, ResultsInput } from '../tuner/results.js';
import type { ResultsDocumentInput } from '../tuner/results-document.js';
import type { SweepResultsInput } from '../tuner/sweep-results.js';
import { objectiveFor, storedObjective } from '../tuner/objective.js';
import { combinedTrial } from '../tuner/spaces/operators.js';
import type { Observation } from '../tuner/types.js';
import type { Store } from './db.js';
import { isObservation, type SessionRecord } from './records.js';
import { loadDecisions } from './decisions.js';
import { loadRuns } from './runs.js';
import { loadTrials } from './trials.js';
import type { EngineHistoryInput } from '../tuner/engine-history.js';

/** The result documents' input from the store: every trial met, and its finished runs with their start times. */
export function pointsInput(store: Store, session: SessionRecord): Pick<ResultsDocumentInput, 'trials' | 'runs'> {
  return {
    trials: loadTrials(store, session.id).map((t) => t.spec),
    runs: loadRuns(store, session.id)
      .filter((r) => isObservation(r.outcome))
      .map((r) => ({ trialKey: r.trialKey, kind: r.kind, outcome: r.outcome as Observation['outcome'], metrics: r.metrics, startedAt: new Date(r.startedAt).toISOString() })),
  };
}

/** An engine study's history input: every point it met, its finished runs and the session's own arguments. */
export function engineHistoryInput(store: Store, session: SessionRecord): EngineHistoryInput {
  const { objective, runs } = sweepResultsInput(store, session);
  return { objective, runs, trials: loadTrials(store, session.id).map((t) => t.spec), passthrough: session.args };
}

/** A sweep's table input: every trial it ran, in grid order, and its finished runs. */
export function sweepResultsInput(store: Store, session: SessionRecord): SweepResultsInput {
  return {
    objective: storedObjective(session.options) ?? objectiveFor('total'),
    trials: loadTrials(store, session.id).map((t) => t.spec),
    runs: loadRuns(store, session.id)
      .filter((r) => isObservation(r.outcome))
      .map((r) => ({ trialKey: r.trialKey, kind: r.kind, outcome: r.outcome as Observation['outcome'], metrics: r.metrics })),
  };
}

export function resultsInput(store: Store, session: SessionRecord): ResultsInput {
  const runs = loadRuns(store, session.id).filter((r) => isObservation(r.outcome));
  const final = session.final;
  return {
    policy: session.policy,
    objective: storedObjective(session.options) ?? objectiveFor('total'),
    trials: loadTrials(store, session.id).map((t) => t.spec),
    runs: runs.map((r) => ({ trialKey: r.trialKey, kind: r.kind, outcome: r.outcome as Observation['outcome'], metrics: r.metrics, slot: r.slot ?? 0 })),
    ops: session.ops ?? {},
    estimates: loadDecisions(store, session.id).flatMap((d) =>
      d.basis === 'model' && d.op !== null && d.backend !== null && d.estimate !== null ? [{ op: d.op, backend: d.backend, estimate: d.estimate }] : [],
    ),
    finalCombinedKey: final === null || Object.keys(final.opBackends).length === 0 ? null : combinedTrial(final.opBackends, 'combined_best', final.attention).key,
    // Read by the policies that decide by estimate (results.ts decidesByEstimate); the others ignore them.
    ...estimatesOf(store, session, final),
  };
}

/** The estimates a model-based policy decided with: its per-candidate decisions and the final set's. */
function estimatesOf(store: Store, session: SessionRecord, final: SessionRecord['final']): Pick<ResultsInput, 'trialEstimates' | 'chosen'> {
  const estimates: Record<string, Estimate> = {};
  for (const d of loadDecisions(store, session.id)) {
    if (d.estimate !== null) estimates[d.subject] = { estimate: d.estimate, low: d.low, high: d.high };
  }
  const chosen =
    final === null || Object.keys(final.opBackends).length === 0
      ? null
      : {
          opBackends: final.opBackends,
          attention: final.attention,
          estimate: final.validated && final.speedup !== null ? { estimate: final.speedup, low: final.low, high: final.high } : null,
        };
  return { trialEstimates: estimates, chosen };
}

