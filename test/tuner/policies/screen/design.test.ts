import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { balancedBlock, randomHalf } from '../../../../src/tuner/policies/screen/design.js';
import { seededRandom } from '../../../../src/tuner/policies/noise/schedule.js';

describe('screening design', () => {
  const ops = Array.from({ length: 30 }, (_, i) => ({ op: `op${i}`, candidates: [i] }));

  it('enables every operator in exactly half of a block, with set sizes that vary', () => {
    const block = balancedBlock(ops, 8, [], () => null, seededRandom(1));
    assert.equal(block.length, 8);
    for (let c = 0; c < 30; c++) assert.equal(block.filter((r) => r.candidates.includes(c)).length, 4, `candidate ${c}`);
    const sizes = new Set(block.map((r) => r.candidates.length));
    assert.ok(sizes.size > 1, 'set sizes vary');
    assert.ok(block.every((r) => r.attention === null));
  });

  it('is seeded: the same seed gives the same block, another seed another', () => {
    const a = balancedBlock(ops, 8, [], () => null, seededRandom(5));
    assert.deepEqual(balancedBlock(ops, 8, [], () => null, seededRandom(5)), a);
    assert.notDeepEqual(balancedBlock(ops, 8, [], () => null, seededRandom(6)), a);
  });

  it('gives an operator one backend per run and runs reference candidates only under their attention backend', () => {
    // op0: flagos (0), vendor (1), reference under FLASH_ATTN (2) and FLASHINFER (3).
    const attention = (c: number) => (c === 2 ? 'FLASH_ATTN' : c === 3 ? 'FLASHINFER' : null);
    const block = balancedBlock([{ op: 'op0', candidates: [0, 1, 2, 3] }], 64, ['FLASH_ATTN', 'FLASHINFER'], attention, seededRandom(2));
    for (const [i, run] of block.entries()) {
      assert.ok(run.candidates.length <= 1);
      const run_attention = i % 2 === 0 ? 'FLASH_ATTN' : 'FLASHINFER';
      if (run.candidates.includes(2) || run.candidates.includes(3)) assert.equal(run.attention, run_attention);
      if (i % 2 === 0) assert.ok(!run.candidates.includes(3));
      else assert.ok(!run.candidates.includes(2));
    }
    for (const c of [0, 1, 2, 3]) assert.ok(block.some((r) => r.candidates.includes(c)), `candidate ${c} runs`);
  });

  it('takes a proper, non-empty random half for confirmation', () => {
    const r = seededRandom(3);
    for (let k = 0; k < 50; k++) {
      const h = randomHalf([1, 2, 3, 4], r);
      assert.ok(h.length >= 1 && h.length < 4);
    }
    assert.deepEqual(randomHalf([7], r), [7]);
  });
});
