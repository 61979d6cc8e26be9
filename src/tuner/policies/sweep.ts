/**
 * Measures every trial of a fixed list (a grid of workload points x operator sets x engine
 * configurations): `runsPerTrial - 1` warm-up runs, then one measured run, each trial's runs
 * in order. It decides nothing; it is the policy of sweeps, whose result is the measurements.
 * Written against StudyCursor: it proposes as many runs as there are free slots, one per
 * comparison group (a point's configurations) at a time, so parallel slots measure different
 * points side by side while each point's configurations share a slot (slot-plan.ts).
 */
import type { FinalResult, Policy, PolicyContext, Proposal, Proposed, StudyCursor } from '../policy.js';
import { sequentialPolicyCursor } from '../study-cursor.js';
import { comparisonGroup } from '../slot-plan.js';
import type { Observation, TrialSpec } from '../types.js';

interface TrialState {
  readonly trial: TrialSpec;
  /** Runs proposed so far. */
  proposed: number;
  readonly group: string;
  failed: number;
}

export function sweepCursor(trials: readonly TrialSpec[], runsPerTrial: number): StudyCursor {
  const states: TrialState[] = trials.map((trial) => ({ trial, proposed: 0, group: comparisonGroup(trial), failed: 0 }));
  /** Groups with a run in flight. */
  const busy = new Set<string>();
  const inFlight = new Map<number, TrialState>();
  let nextStep = 0;
  let observed = 0;
  const total = trials.length * runsPerTrial;
  return {
    propose(slots: number): Proposed {
      if (observed === total) {
        const failed = states.filter((s) => s.failed > 0).length;
        const result: FinalResult = {
          opBackends: {},
          attention: null,
          validated: false,
          speedup: null,
          low: null,
          high: null,
          summary: [`Measured ${trials.length} configuration${trials.length === 1 ? '' : 's'}${failed === 0 ? '' : `, ${failed} with a failed run`}`],
        };
        return { type: 'done', result, events: [] };
      }
      const runs: Proposal[] = [];
      for (const s of states) {
        if (runs.length >= slots) break;
        if (busy.has(s.group) || s.proposed >= runsPerTrial) continue;
        const isLast = s.proposed === runsPerTrial - 1;
        s.proposed += 1;
        busy.add(s.group);
        const step = nextStep++;
        inFlight.set(step, s);
        runs.push({ step, trial: s.trial, kind: isLast ? 'measure' : 'warmup', warmupIndex: isLast ? null : s.proposed, events: [] });
      }
      return { type: 'runs', runs };
    },
    observe(step: number, observation: Observation): void {
      const s = inFlight.get(step);
      if (s === undefined || s.trial.key !== observation.trialKey) throw new Error(`sweep: no run of ${observation.trialKey} in flight at step ${step}`);
      inFlight.delete(step);
      busy.delete(s.group);
      if (observation.outcome !== 'ok') s.failed += 1;
      observed += 1;
    },
  };
}

/** The sweep over `context.trials`. */
export const sweepPolicy: Policy = {
  name: 'sweep',
  open: (context: PolicyContext) => sweepCursor(context.trials ?? [], context.numRuns),
  start: (context: PolicyContext) => sequentialPolicyCursor(sweepCursor(context.trials ?? [], context.numRuns)),
};
