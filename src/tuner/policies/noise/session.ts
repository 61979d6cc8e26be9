/**
 * The noise-aware policy's running state and the one place that yields runs: every
 * invocation is counted against the budget and recorded in the ledger here.
 */
import type { PolicyEvent, RunStep } from '../../policy.js';
import { baselineTrial } from '../../spaces/operators.js';
import type { Objective } from '../../objective.js';
import type { Observation, RunKind, TrialSpec } from '../../types.js';
import { InvocationBudget } from '../budget.js';
import { EventQueue, runStep } from '../cursor.js';
import { Ledger } from './estimation.js';

export type Runs<T> = Generator<RunStep, T, Observation>;

/** Failures that say something about the configuration itself; others may pass on a retry. */
const DETERMINISTIC_FAILURES: ReadonlySet<Observation['outcome']> = new Set(['oom', 'engine_failure']);

export function isDeterministicFailure(o: Observation): boolean {
  return DETERMINISTIC_FAILURES.has(o.outcome);
}

/** Runs with FlagGems kernels in them are noisier (guide, section 4): they get their own noise estimate. */
function usesFlagGemsKernels(trial: TrialSpec): boolean {
  // A trial recording the executed-op list has FlagGems enable every operator it executes.
  return trial.recordOplist || Object.values(trial.opBackends).includes('flagos');
}

export class Session {
  readonly events = new EventQueue();
  readonly ledger: Ledger;
  readonly budget: InvocationBudget;
  readonly baseline = baselineTrial();

  constructor(objective: Objective, limit: number | null) {
    this.ledger = new Ledger(objective, this.baseline.key);
    this.budget = new InvocationBudget(limit);
  }

  emit(event: PolicyEvent): void {
    this.events.emit(event);
  }

  /**
   * Runs a trial once. Its first run is the warm-up (caches fill during it), later ones are
   * measurements; the model uses both, correcting first runs for the fitted cold penalty.
   * `label` keeps a phase's runs of a trial apart from earlier ones (fresh confirmation runs);
   * `kind` overrides the kind for one-run informational trials, whose history row needs a measurement.
   */
  *run(trial: TrialSpec, label: string = trial.key, kind?: RunKind): Runs<Observation> {
    const first = this.ledger.runsOf(trial.key) === 0;
    const asKind = kind ?? (first ? 'warmup' : 'measure');
    const observation = yield runStep(trial, asKind, asKind === 'warmup' ? 1 : null, this.events.take());
    this.budget.spend();
    this.ledger.record(observation, usesFlagGemsKernels(trial), label);
    return observation;
  }

  *anchor(): Runs<Observation> {
    return yield* this.run(this.baseline);
  }
}
