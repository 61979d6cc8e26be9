/**
 * Drives any policy through the StudyCursor API. A one-at-a-time PolicyCursor becomes a
 * StudyCursor whose step ids count its observations (0, 1, 2...), which is exactly the `step`
 * stored with every run of release 0.1.0, so those sessions replay unchanged.
 */
import type { Policy, PolicyContext, PolicyCursor, Proposed, Step, StudyCursor } from './policy.js';
import type { Observation } from './types.js';

export function sequentialCursor(cursor: PolicyCursor): StudyCursor {
  let current: Step | null = null;
  let step = 0;
  let outstanding = false;
  return {
    propose(slots: number): Proposed {
      if (current === null) current = cursor.next();
      if (current.type !== 'run') return current;
      if (outstanding || slots < 1) return { type: 'runs', runs: [] };
      outstanding = true;
      const { trial, kind, warmupIndex, events } = current;
      return { type: 'runs', runs: [{ step, trial, kind, warmupIndex, events }] };
    },
    observe(id: number, observation: Observation): void {
      if (!outstanding || id !== step) throw new Error(`sequential policy: observation for step ${id}, but step ${outstanding ? step : 'none'} is in flight`);
      outstanding = false;
      step += 1;
      current = cursor.next(observation);
    },
  };
}

export function openPolicy(policy: Policy, context: PolicyContext): StudyCursor {
  return policy.open?.(context) ?? sequentialCursor(policy.start(context));
}
