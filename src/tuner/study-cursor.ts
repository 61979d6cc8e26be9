/**
 * Drives any policy through the StudyCursor API. A one-at-a-time PolicyCursor becomes a
 * StudyCursor whose step ids count its observations (0, 1, 2...), which is exactly the `step`
 * stored with every run of release 0.1.0, so those sessions replay unchanged.
 */
import type { Policy, PolicyContext, PolicyCursor, Proposal, Proposed, Step, StudyCursor } from './policy.js';
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

/** The reverse: a StudyCursor driven one run at a time, as a PolicyCursor. */
export function sequentialPolicyCursor(study: StudyCursor): PolicyCursor {
  let last: Proposal | null = null;
  const next = (): Step => {
    const p = study.propose(1);
    if (p.type !== 'runs') return p;
    const run = p.runs[0];
    if (run === undefined) throw new Error('policy proposed no run with none in flight');
    last = run;
    return { type: 'run', trial: run.trial, kind: run.kind, warmupIndex: run.warmupIndex, events: run.events };
  };
  return {
    next(observation?: Observation): Step {
      if (observation === undefined) return next();
      if (last === null) throw new Error('policy cursor: an observation before any run');
      study.observe(last.step, observation);
      return next();
    },
  };
}

export function openPolicy(policy: Policy, context: PolicyContext): StudyCursor {
  return policy.open?.(context) ?? sequentialCursor(policy.start(context));
}
