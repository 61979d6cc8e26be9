import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { POLICIES } from '../../../src/tuner/policies/index.js';
import { seededRandom } from '../../../src/tuner/policies/noise/schedule.js';
import { baselineTrial, opTrial } from '../../../src/tuner/spaces/operators.js';
import type { Observation } from '../../../src/tuner/types.js';
import { context, observe } from './fake-world.js';

/** The grid a sweep measures; the tuning policies find their own trials. */
const trials = [baselineTrial(), opTrial('mul', 'flagos'), opTrial('mm', 'flagos')];
const world = { executedOps: ['mul', 'rms_norm', 'mm'], sigma: 0.01, effects: { 'mul=flagos': 0.01, 'mm=flagos': -0.1 } };

// The tiers policy needs an engine space; tiers.test.ts replays it over one.
for (const policy of Object.values(POLICIES).filter((p) => p.name !== 'tiers')) {
  describe(`${policy.name} replay`, () => {
    it('yields identical steps when fed the same observations', () => {
      const ctx = context({ seed: 11, trials });
      const random = seededRandom(5);
      const first = policy.start(ctx);
      const observations: Observation[] = [];
      const steps = [first.next()];
      for (let step = steps[0]; step?.type === 'run'; step = steps.at(-1)) {
        const o = observe(world, step, observations.length, random);
        observations.push(o);
        steps.push(first.next(o));
      }
      const second = policy.start(ctx);
      const replayed = [second.next(), ...observations.map((o) => second.next(o))];
      assert.deepEqual(replayed, steps);
      assert.notEqual(steps.at(-1)?.type, 'run');
    });

    it('refuses an observation for a trial it did not ask for', () => {
      const cursor = policy.start(context({ trials }));
      const step = cursor.next();
      assert.equal(step.type, 'run');
      assert.throws(() =>
        cursor.next({ trialKey: 'nope', kind: 'measure', outcome: 'ok', metrics: null, executedOps: null, durationMs: 1 }),
      );
    });
  });
}
