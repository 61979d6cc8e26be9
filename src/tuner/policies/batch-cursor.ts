/**
 * A policy written as a generator of batches: it yields runs that may be in flight together
 * and resumes with all their observations, in batch order. The cursor hands a batch's runs out
 * as slots free up, at most one in flight per lane (the slot a run asks for, else its trial)
 * and in batch order within a lane, so a trial's warm-ups precede its measured run. With one
 * slot the runs go out one at a time in batch order: a policy whose batches hold one trial
 * each takes exactly the steps of a one-run-at-a-time policy, so its sessions replay unchanged.
 */
import type { DoneStep, FailStep, PolicyEvent, Proposal, Proposed, StudyCursor } from '../policy.js';
import type { Observation, RunKind, TrialSpec } from '../types.js';

export interface BatchRun {
  readonly trial: TrialSpec;
  readonly kind: RunKind;
  readonly warmupIndex: number | null;
  /** The slot it should run on (Proposal.slot); absent: the engine's choice. */
  readonly slot?: number;
}

export interface RunBatch {
  readonly type: 'batch';
  readonly runs: readonly BatchRun[];
  /** Ride on the batch's first proposal. */
  readonly events: readonly PolicyEvent[];
}

export type BatchGenerator = Generator<RunBatch, DoneStep | FailStep, readonly Observation[]>;

const laneOf = (run: BatchRun): string => (run.slot === undefined ? `trial:${run.trial.key}` : `slot:${run.slot}`);

export function batchCursorOf(generator: BatchGenerator): StudyCursor {
  let batch: RunBatch | null = null;
  let end: DoneStep | FailStep | null = null;
  let started = false;
  let step = 0;
  let eventsSent = false;
  /** Per batch index: its step id once proposed. */
  let steps: (number | undefined)[] = [];
  let observations: (Observation | undefined)[] = [];
  let answered = 0;
  const indexOf = new Map<number, number>();
  const lanesOut = new Set<string>();

  const advance = (result: IteratorResult<RunBatch, DoneStep | FailStep>): void => {
    // An empty batch needs no run: resume at once.
    while (!result.done && result.value.runs.length === 0) {
      if (result.value.events.length > 0) throw new Error('batch policy: events on an empty batch would be lost');
      result = generator.next([]);
    }
    if (result.done) {
      end = result.value;
      batch = null;
      return;
    }
    batch = result.value;
    eventsSent = false;
    steps = batch.runs.map(() => undefined);
    observations = batch.runs.map(() => undefined);
    answered = 0;
    indexOf.clear();
  };

  return {
    propose(slots: number): Proposed {
      if (!started) {
        started = true;
        advance(generator.next());
      }
      if (end !== null) return end;
      if (batch === null) throw new Error('batch policy: no batch and no end');
      const runs: Proposal[] = [];
      // A lane's runs go in order: one waiting behind a run in flight blocks the rest of its lane.
      const blocked = new Set(lanesOut);
      for (let i = 0; i < batch.runs.length && runs.length < slots; i++) {
        const run = batch.runs[i] as BatchRun;
        const lane = laneOf(run);
        if (steps[i] !== undefined) continue;
        if (blocked.has(lane)) continue;
        blocked.add(lane);
        lanesOut.add(lane);
        steps[i] = step;
        indexOf.set(step, i);
        const events = eventsSent ? [] : batch.events;
        eventsSent = true;
        runs.push({ step, trial: run.trial, kind: run.kind, warmupIndex: run.warmupIndex, events, ...(run.slot === undefined ? {} : { slot: run.slot }) });
        step += 1;
      }
      return { type: 'runs', runs };
    },
    observe(id: number, observation: Observation): void {
      const i = indexOf.get(id);
      const run = i === undefined ? undefined : batch?.runs[i];
      if (i === undefined || run === undefined || observations[i] !== undefined) throw new Error(`batch policy: observation for step ${id}, which is not in flight`);
      if (observation.trialKey !== run.trial.key) throw new Error(`batch policy: observation for ${observation.trialKey}, but step ${id} ran ${run.trial.key}`);
      observations[i] = observation;
      lanesOut.delete(laneOf(run));
      answered += 1;
      if (answered === observations.length) advance(generator.next(observations as Observation[]));
    },
  };
}
