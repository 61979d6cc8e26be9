/**
 * The invocations a policy cannot do without. `--budget` is a hard limit, and a policy's fixed
 * rounds run before it can trade runs against each other, so a budget below this minimum is
 * refused before anything starts instead of being overrun. Kept apart from the policies so that
 * checking a command line does not load them.
 */
import type { PolicyName } from '../types.js';

/** Noise-aware: baseline runs before anything else (a first noise estimate, the cold penalty's shape). */
export const CALIBRATION_RUNS = 3;
/** Noise-aware: runs of round 1c at most (a second one when the first failed without naming an operator). */
export const GEMS_ENABLE_ATTEMPTS = 2;
/** Noise-aware: fewest (set, anchor) pairs a set is measured with before it may be validated. */
export const FINAL_PAIRS = 2;

export interface MinimumBudget {
  readonly invocations: number;
  readonly why: string;
}

export function minimumBudget(policy: PolicyName, numRuns: number): MinimumBudget {
  if (policy === 'tiers') {
    return { invocations: numRuns, why: `${numRuns} run(s) of the default engine configuration` };
  }
  if (policy === 'reference') {
    return { invocations: 3 * numRuns, why: `rounds 1a, 1b and 1c, ${numRuns} run(s) each, before any operator` };
  }
  return {
    invocations: CALIBRATION_RUNS + 1 + GEMS_ENABLE_ATTEMPTS + 2 * FINAL_PAIRS,
    why: `${CALIBRATION_RUNS} baseline runs, 1 of round 1b, up to ${GEMS_ENABLE_ATTEMPTS} of round 1c and ${FINAL_PAIRS} validation pairs of 2 runs`,
  };
}
