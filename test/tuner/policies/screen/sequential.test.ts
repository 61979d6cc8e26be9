import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { judge, normalQuantile, plannedLooks } from '../../../../src/tuner/policies/screen/sequential.js';
import { seededRandom } from '../../../../src/tuner/policies/noise/schedule.js';

describe('group-sequential validation', () => {
  it('inverts the normal CDF', () => {
    assert.ok(Math.abs(normalQuantile(0.975) - 1.959964) < 1e-6);
    assert.ok(Math.abs(normalQuantile(0.05) + 1.644854) < 1e-6);
    assert.ok(Math.abs(normalQuantile(1e-4) + 3.719016) < 1e-5);
  });

  it('plans looks whose alpha adds up to the error rate, the last at the planned pairs', () => {
    const looks = plannedLooks(10, 0.05);
    assert.deepEqual(looks.map((l) => l.pairs), [2, 3, 5, 8, 10]);
    assert.ok(Math.abs(looks.reduce((s, l) => s + l.alpha, 0) - 0.05) < 1e-12);
    for (const l of looks) assert.ok(l.z > 1.645, 'every look is stricter than a single 5% test');
    assert.deepEqual(plannedLooks(1, 0.05).map((l) => l.pairs), [1]);
  });

  it('rounds looks up to whole batches of pairs when several slots measure a pair each at once', () => {
    assert.deepEqual(plannedLooks(8, 0.05, 2, 4).map((l) => l.pairs), [4, 8]);
    assert.deepEqual(plannedLooks(10, 0.05, 2, 2).map((l) => l.pairs), [2, 4, 6, 8, 10]);
    assert.deepEqual(plannedLooks(9, 0.05, 2, 3).map((l) => l.pairs), [3, 6, 9]);
    const looks = plannedLooks(8, 0.05, 2, 4);
    assert.ok(Math.abs(looks.reduce((s, l) => s + l.alpha, 0) - 0.05) < 1e-12, 'the error rate is still spent in full, no more');
  });

  it('keeps most of the error rate for the last look, where a set near the threshold is decided', () => {
    const looks = plannedLooks(10, 0.05);
    const first = looks[0];
    const last = looks.at(-1);
    assert.ok(first !== undefined && last !== undefined);
    assert.ok(last.alpha > 0.3 * 0.05, `last look spends ${last.alpha}`);
    assert.ok(last.z < 2.15 && first.z > 2.8, `first z ${first.z}, last z ${last.z}`);
  });

  it('keeps the chance of validating a set at exactly minGain below alpha over all looks', () => {
    const random = seededRandom(11);
    const normal = () => Math.sqrt(-2 * Math.log(random() + 1e-12)) * Math.cos(2 * Math.PI * random());
    const threshold = Math.log1p(0.005);
    const sigma = 0.007;
    const looks = plannedLooks(10, 0.05);
    let falseValidations = 0;
    const sessions = 4000;
    for (let s = 0; s < sessions; s++) {
      let sum = 0;
      let n = 0;
      for (const look of looks) {
        while (n < look.pairs) {
          sum += threshold + sigma * normal();
          n += 1;
        }
        const v = judge(sum / n, sigma / Math.sqrt(n), threshold, look);
        if (v === 'validated') falseValidations += 1;
        if (v !== 'continue') break;
      }
    }
    // A naive 5% test at every look would validate in about 14% of these sessions.
    assert.ok(falseValidations / sessions < 0.05, `${falseValidations} of ${sessions}`);
  });

  it('stops for futility when even the optimistic bound misses minGain', () => {
    const look = plannedLooks(10, 0.05)[0];
    assert.ok(look !== undefined);
    assert.equal(judge(-0.01, 0.002, Math.log1p(0.005), look), 'futile');
    assert.equal(judge(0.05, 0.002, Math.log1p(0.005), look), 'validated');
    assert.equal(judge(0.006, 0.004, Math.log1p(0.005), look), 'continue');
  });
});
