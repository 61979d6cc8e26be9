import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { minimumBudget } from '../../../src/tuner/policies/minimum-budget.js';
import { noiseAwarePolicy } from '../../../src/tuner/policies/noise-aware.js';
import { referencePolicy } from '../../../src/tuner/policies/reference.js';
import { context, drive } from './fake-world.js';

describe('the budget is a hard limit', () => {
  const worlds = {
    plain: { executedOps: ['mm', 'add'], sigma: 0.005, effects: { 'mm=flagos': 0.02 } },
    // Round 1c fails: the noise-aware policy runs it a second time.
    gemsFails: { executedOps: ['mm', 'add'], sigma: 0.005, failing: { baseline_gems_enable: 'nonzero_exit' as const } },
  };

  it('noise-aware never runs more than its budget, from the minimum up', () => {
    const min = minimumBudget('noise-aware', 2).invocations;
    assert.equal(min, 10);
    for (const [name, world] of Object.entries(worlds)) {
      for (let budget = min; budget <= min + 12; budget++) {
        const d = drive(noiseAwarePolicy, context({ budget, discovery: { explicitOps: ['mm', 'add', 'silu'], configOps: null } }), world);
        assert.ok(d.runs.length <= budget, `${name}: ${d.runs.length} runs for a budget of ${budget}`);
      }
    }
  });

  it('reference never runs more than its budget either', () => {
    for (const numRuns of [1, 2, 3]) {
      const min = minimumBudget('reference', numRuns).invocations;
      assert.equal(min, 3 * numRuns);
      for (let budget = min; budget <= min + 10; budget++) {
        const d = drive(referencePolicy, context({ numRuns, budget, discovery: { explicitOps: ['mm', 'add'], configOps: null } }), worlds.plain);
        assert.ok(d.runs.length <= budget, `${d.runs.length} runs for a budget of ${budget}`);
      }
    }
  });
});
