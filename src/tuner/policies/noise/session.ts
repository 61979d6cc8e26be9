/**
 * The noise-aware policy's running state and the one place that yields runs: every
 * invocation is counted against the budget and recorded in the ledger here.
 */
import type { PolicyEvent, RunStep } from '../../policy.js';
import { baselineTrial } from '../../trials.js';
import type { Metric, Observation, TrialSpec } from '../../types.js';
import { InvocationBudget } from '../budget.js';
import { EventQueue, runStep } from '../cursor.js';
import { Ledger } from './estimation.js';

export type Runs<T> = Generator<RunStep, T, Observation>;

/** Failures that say something about the configuration itself; others may pass on a retry. */
const DETERMINISTIC_FAILURES: ReadonlySet<Observation['outcome']> = new Set(['oom', 'engine_failure']);

export function isDeterministicFailure(o: Observation): boolean {
  return DETERMINISTIC_FAILURES.has(o.outcome);
}

export class Session {
  readonly events = new EventQueue();
  readonly ledger: Ledger;
  readonly budget: InvocationBudget;
  readonly baseline = baselineTrial();

  constructor(metric: Metric, limit: number | null) {
    this.ledger = new Ledger(metric, this.baseline.key);
    this.budget = new InvocationBudget(limit);
  }

  emit(event: PolicyEvent): void {
    this.events.emit(event);
  }

  *run(trial: TrialSpec, kind: 'warmup' | 'measure', warmupIndex: number | null = null): Runs<Observation> {
    const observation = yield runStep(trial, kind, warmupIndex, this.events.take());
    this.budget.spend();
    this.ledger.record(observation);
    return observation;
  }

  /** One measured run; a configuration never run before first gets its cold warm-up while those matter. */
  *measureWarm(trial: TrialSpec): Runs<Observation | null> {
    if (this.ledger.runsOf(trial.key) === 0 && this.ledger.warmupsNeeded()) {
      const cold = yield* this.run(trial, 'warmup', 1);
      if (isDeterministicFailure(cold)) return cold;
      if (this.budget.exhausted()) return null;
    }
    return yield* this.run(trial, 'measure');
  }

  *anchor(): Runs<Observation> {
    return yield* this.run(this.baseline, 'measure');
  }
}
