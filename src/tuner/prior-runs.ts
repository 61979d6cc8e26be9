/**
 * The runs of a finished session that a new one reuses (`resume --retry-failures`): when the
 * policy asks for the n-th run of a trial, the finished session's n-th run of it answers, unless
 * that run failed with a class being retried. Such failures are left out, so the point is
 * measured afresh from its warm-up on, and every later run of the same trial is run too (its
 * stored runs came after a failure the new session does not see). Pure.
 */
import { failureClass } from './policies/tiers.js';
import type { FailureClass } from './spaces/engine.js';
import type { Observation, RunKind } from './types.js';

/** A stored run of the finished session, with the id the new session's copy refers to. */
export interface PriorRun extends Observation {
  readonly runId: number;
}

export class PriorRuns {
  /** Per trial key, its reusable runs in the order they ran. */
  readonly #byTrial = new Map<string, PriorRun[]>();

  /** `runs` in the order they ran; `retry`: the failure classes that run again. */
  constructor(runs: readonly PriorRun[], retry: readonly FailureClass[]) {
    const retried = new Set<string>();
    for (const run of runs) {
      if (retried.has(run.trialKey)) continue;
      const cls = failureClass(run.outcome);
      if (cls !== null && retry.includes(cls)) {
        retried.add(run.trialKey);
        continue;
      }
      const list = this.#byTrial.get(run.trialKey) ?? [];
      list.push(run);
      this.#byTrial.set(run.trialKey, list);
    }
  }

  /** The stored run answering the `ordinal`-th run (0-based) of `trialKey` as `kind`, or null: it runs. */
  take(trialKey: string, kind: RunKind, ordinal: number): PriorRun | null {
    const run = this.#byTrial.get(trialKey)?.[ordinal];
    return run !== undefined && run.kind === kind ? run : null;
  }

  /** Runs that may be reused. */
  get size(): number {
    let n = 0;
    for (const list of this.#byTrial.values()) n += list.length;
    return n;
  }
}
