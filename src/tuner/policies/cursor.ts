/**
 * Turns a policy written as a generator into a PolicyCursor. Generators keep the policy's
 * control flow readable (rounds, loops, early exits) while the engine drives it one
 * observation at a time; replaying the same observations replays the same steps.
 */
import type { PolicyCursor, PolicyEvent, RunStep, DoneStep, FailStep, Step } from '../policy.js';
import type { Observation, RunKind, TrialSpec } from '../types.js';

export type PolicyGenerator = Generator<RunStep, DoneStep | FailStep, Observation>;

/** Events waiting to ride on the next step the policy yields. */
export class EventQueue {
  private pending: PolicyEvent[] = [];

  emit(event: PolicyEvent): void {
    this.pending.push(event);
  }

  take(): PolicyEvent[] {
    const events = this.pending;
    this.pending = [];
    return events;
  }
}

export function runStep(trial: TrialSpec, kind: RunKind, warmupIndex: number | null, events: PolicyEvent[]): RunStep {
  return { type: 'run', trial, kind, warmupIndex, events };
}

export function cursorOf(generator: PolicyGenerator): PolicyCursor {
  let started = false;
  let last: Step | null = null;
  return {
    next(observation?: Observation): Step {
      if (last !== null && last.type !== 'run') return last;
      if (!started) {
        if (observation !== undefined) throw new Error('policy cursor: the first next() takes no observation');
        started = true;
        const first = generator.next();
        last = first.value;
        return last;
      }
      if (observation === undefined) throw new Error('policy cursor: next() needs the observation of the run it asked for');
      if (last !== null && last.type === 'run' && observation.trialKey !== last.trial.key) {
        throw new Error(`policy cursor: observation for ${observation.trialKey}, but the policy asked for ${last.trial.key}`);
      }
      const result = generator.next(observation);
      last = result.value;
      return last;
    },
  };
}
