import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { SequentialDesign, type DesignRunPlan } from '../../../../src/tuner/policies/screen/design.js';
import { choleskyFactor, choleskyInverse } from '../../../../src/tuner/policies/noise/linalg.js';
import { seededRandom } from '../../../../src/tuner/policies/noise/schedule.js';

const single = (n: number) => Array.from({ length: n }, (_, i) => ({ op: `op${i}`, candidates: [i] }));

function runDesign(ops: number, runs: number, seed: number): DesignRunPlan[] {
  const design = new SequentialDesign(ops);
  const random = seededRandom(seed);
  const out: DesignRunPlan[] = [];
  for (let i = 0; i < runs; i++) {
    const plan = design.next({ ops: single(ops), attention: null }, () => null, random);
    design.add(plan.candidates);
    out.push(plan);
  }
  return out;
}

/** Mean least-squares variance of the effects (unit noise) with a shared level, over the ideal 4/n of an orthogonal design. */
function varianceInflation(plans: readonly DesignRunPlan[], ops: number): number {
  const p = ops + 1;
  const a = new Float64Array(p * p);
  for (const plan of plans) {
    const cols = [0, ...plan.candidates.map((c) => c + 1)];
    for (const i of cols) for (const j of cols) a[i * p + j] = (a[i * p + j] as number) + 1;
  }
  const inv = choleskyInverse(choleskyFactor(a, p), p);
  let total = 0;
  for (let j = 1; j < p; j++) total += inv[j * p + j] as number;
  return total / ops / (4 / plans.length);
}

describe('screening design', () => {
  it('keeps the effects nearly orthogonal: their variance within 20% of an orthogonal design', () => {
    // Random halves of 40 operators over 60 runs inflate it about sixfold.
    for (const seed of [1, 2, 3]) {
      const inflation = varianceInflation(runDesign(40, 60, seed), 40);
      assert.ok(inflation < 1.2, `seed ${seed}: variance ${inflation.toFixed(2)}x that of an orthogonal design`);
    }
    assert.ok(varianceInflation(runDesign(12, 16, 4), 12) < 1.2);
  });

  it('enables every operator in about half of the runs, with set sizes that vary', () => {
    const plans = runDesign(30, 48, 7);
    for (let c = 0; c < 30; c++) {
      const on = plans.filter((r) => r.candidates.includes(c)).length;
      assert.ok(on >= 18 && on <= 30, `candidate ${c} on in ${on} of 48`);
    }
    assert.ok(new Set(plans.map((r) => r.candidates.length)).size > 1, 'set sizes vary');
    assert.ok(plans.every((r) => r.attention === null && r.candidates.length > 0));
  });

  it('is seeded: the same seed gives the same runs, another seed others', () => {
    const a = runDesign(20, 10, 5);
    assert.deepEqual(runDesign(20, 10, 5), a);
    assert.notDeepEqual(runDesign(20, 10, 6), a);
  });

  it('gives an operator one backend per run and runs reference candidates only under their attention backend', () => {
    // op0: flagos (0), vendor (1), reference under FLASH_ATTN (2) and FLASHINFER (3); op1: flagos (4).
    const attentionOf = (c: number) => (c === 2 ? 'FLASH_ATTN' : c === 3 ? 'FLASHINFER' : null);
    const ops = [
      { op: 'op0', candidates: [0, 1, 2, 3] },
      { op: 'op1', candidates: [4] },
    ];
    const design = new SequentialDesign(5);
    const random = seededRandom(2);
    const seen = new Set<number>();
    for (let i = 0; i < 40; i++) {
      const attention = i % 2 === 0 ? 'FLASH_ATTN' : 'FLASHINFER';
      const plan = design.next({ ops, attention }, attentionOf, random);
      design.add(plan.candidates);
      assert.ok(plan.candidates.filter((c) => c <= 3).length <= 1, 'one backend of op0 per run');
      assert.ok(!plan.candidates.includes(attention === 'FLASH_ATTN' ? 3 : 2), 'reference candidate under its own attention backend only');
      if (plan.candidates.includes(2) || plan.candidates.includes(3)) assert.equal(plan.attention, attention);
      for (const c of plan.candidates) seen.add(c);
    }
    for (const c of [0, 1, 2, 3, 4]) assert.ok(seen.has(c), `candidate ${c} runs`);
  });

  it('keeps fixed candidates on and at least one free operator', () => {
    const design = new SequentialDesign(6);
    const random = seededRandom(3);
    for (let i = 0; i < 20; i++) {
      const plan = design.next({ ops: [{ op: 'a', candidates: [0] }, { op: 'b', candidates: [1] }], attention: null, fixed: [4, 5] }, () => null, random);
      design.add(plan.candidates);
      assert.ok(plan.candidates.includes(4) && plan.candidates.includes(5));
      assert.ok(plan.candidates.includes(0) || plan.candidates.includes(1));
    }
  });
});
