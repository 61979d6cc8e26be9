/**
 * The noise-aware policy's running state and the one place that yields runs: every
 * invocation is counted against the budget and recorded in the ledger here. Runs go out in
 * batches (batch-cursor.ts): one run at a time on one slot, several at once on several.
 */
import type { PolicyEvent, RunStep } from '../../policy.js';
import { baselineTrial, slotBaselineTrial } from '../../spaces/operators.js';
import { slotCopy } from '../../spaces/slot-copies.js';
import type { Objective } from '../../objective.js';
import type { Observation, RunKind, TrialSpec } from '../../types.js';
import type { BatchRun, RunBatch } from '../batch-cursor.js';
import { InvocationBudget } from '../budget.js';
import { EventQueue } from '../cursor.js';
import { Ledger } from './estimation.js';

/** A one-run-at-a-time policy's runs (the tiers and screening policies). */
export type Runs<T> = Generator<RunStep, T, Observation>;
/** The noise-aware policy's runs, in batches. */
export type Batches<T> = Generator<RunBatch, T, readonly Observation[]>;

/** A run to go out in a batch: a trial, the label its sample is kept under, the slot it should run on. */
export interface Planned {
  readonly trial: TrialSpec;
  readonly label?: string;
  readonly kind?: RunKind;
  readonly slot?: number;
}

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

  /** Slots runs may go to at once (1: every run waits for the one before). */
  readonly slots: number;

  constructor(objective: Objective, limit: number | null, slots = 1) {
    this.ledger = new Ledger(objective, this.baseline.key);
    this.budget = new InvocationBudget(limit);
    this.slots = Math.max(1, Math.floor(slots));
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
  *run(trial: TrialSpec, label: string = trial.key, kind?: RunKind): Batches<Observation> {
    const [observation] = yield* this.runAll([{ trial, label, ...(kind === undefined ? {} : { kind }) }]);
    if (observation === undefined) throw new Error('noise-aware session: a batch of one came back empty');
    return observation;
  }

  *anchor(): Batches<Observation> {
    return yield* this.run(this.baseline);
  }

  /**
   * A baseline anchor on a slot. Slot 0's is the baseline trial itself; another slot's is the
   * baseline's slot copy (its own runs and cold first run), whose samples count as the baseline's.
   */
  anchorOn(slot: number): Planned {
    return slot === 0 ? { trial: this.baseline, slot } : { trial: slotBaselineTrial(slot), label: this.baseline.key, slot };
  }

  /** A configuration on a slot: slot 0 runs the trial, another slot its copy; every run is a sample of the trial. */
  on(trial: TrialSpec, slot: number): Planned {
    if (slot === 0) return { trial, slot };
    return { trial: slotCopy(trial, slot), label: trial.key, slot };
  }

  /**
   * Runs several at once: recorded (and counted) in batch order once every one has ended. A
   * trial's first run is its warm-up, whichever batch it is in. A trial should sit on one slot
   * within a batch, so its runs keep their order there.
   */
  *runAll(planned: readonly Planned[]): Batches<Observation[]> {
    if (planned.length === 0) return [];
    const pending = new Map<string, number>();
    const runs = planned.map((p): BatchRun => {
      const before = this.ledger.runsOf(p.trial.key) + (pending.get(p.trial.key) ?? 0);
      pending.set(p.trial.key, (pending.get(p.trial.key) ?? 0) + 1);
      const kind = p.kind ?? (before === 0 ? 'warmup' : 'measure');
      return { trial: p.trial, kind, warmupIndex: kind === 'warmup' ? 1 : null, ...(p.slot === undefined ? {} : { slot: p.slot }) };
    });
    const observations = yield { type: 'batch', runs, events: this.events.take() };
    observations.forEach((o, i) => {
      const p = planned[i] as Planned;
      this.budget.spend();
      this.ledger.record(o, usesFlagGemsKernels(p.trial), p.label ?? p.trial.key);
    });
    return [...observations];
  }
}
