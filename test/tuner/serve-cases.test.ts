import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { caseFromJob, caseKey, caseRuns, parseCase, parseCases, planCases, presetCases, splitNumRuns } from '../../src/tuner/serve-cases.js';

describe('serve cases', () => {
  it('parses input x output @ concurrency, / prompts, r rate and k lengths', () => {
    assert.deepEqual(parseCase('1024x1024@64'), { inputLen: 1024, outputLen: 1024, load: { kind: 'concurrency', concurrency: 64 }, prompts: 256 });
    assert.deepEqual(parseCase('4kx1k@8/40'), { inputLen: 4096, outputLen: 1024, load: { kind: 'concurrency', concurrency: 8 }, prompts: 40 });
    assert.deepEqual(parseCase('512x128r2.5'), { inputLen: 512, outputLen: 128, load: { kind: 'rate', rate: 2.5 }, prompts: 200 });
    assert.equal(parseCase('128x128@1').prompts, 32, 'a low concurrency still gets enough requests for percentiles');
    assert.equal(caseKey(parseCase('512x128r2.5/10')), '512x128r2.5/10');
  });

  it('refuses malformed cases with the expected form, zeros and duplicates', () => {
    assert.throws(() => parseCase('1024-128'), /INPUTxOUTPUT/);
    assert.throws(() => parseCase('0x128@4'), /at least 1/);
    assert.throws(() => parseCase('128x128@0'), /at least 1/);
    assert.throws(() => parseCase('128x128r0'), /above 0/);
    assert.throws(() => parseCases('128x128@4,128x128@4'), /listed twice/);
    assert.throws(() => parseCases(' , '), /at least one case/);
  });

  it('expands presets: core is the five standard pairs, extended reaches 64k', () => {
    const core = presetCases('core');
    assert.deepEqual(core.map((c) => [c.inputLen, c.outputLen]), [[128, 128], [256, 256], [1024, 1024], [1024, 128], [128, 1024]]);
    const extended = presetCases('extended');
    assert.equal(extended.length, 16);
    assert.ok(extended.some((c) => c.inputLen === 65536) && extended.some((c) => c.outputLen === 65536));
    assert.equal(parseCases('core,4096x256@8').length, 6);
  });

  it('skips cases above max-model-len with the reason', () => {
    const plan = planCases(presetCases('extended'), 32768);
    assert.ok(plan.run.every((c) => c.inputLen + c.outputLen <= 32768));
    const skipped = plan.skipped.find((s) => s.case.inputLen === 32768);
    assert.equal(skipped?.reason, 'input + output = 33024 tokens exceeds max-model-len 32768');
    assert.equal(planCases(presetCases('extended'), null).skipped.length, 0);
  });

  it('reads job-file entries as strings or objects and refuses unknown fields', () => {
    assert.deepEqual(caseFromJob({ input_len: 256, output_len: 64, rate: 4, prompts: 50 }, 0), { inputLen: 256, outputLen: 64, load: { kind: 'rate', rate: 4 }, prompts: 50 });
    assert.equal(caseFromJob('128x128@2', 1).prompts, 32);
    assert.throws(() => caseFromJob({ input_len: 1, output_len: 1, qps: 3 }, 2), /cases\[2\]: unknown field 'qps'/);
    assert.throws(() => caseFromJob({ input_len: 1, output_len: 1, rate: 1, concurrency: 2 }, 0), /not both/);
    assert.throws(() => caseFromJob({ input_len: 1.5, output_len: 1 }, 0), /input_len must be a whole number/);
  });

  it('plans warm-ups then measured runs per case; --num-runs keeps one warm-up', () => {
    const runs = caseRuns([parseCase('128x128@4'), parseCase('256x256@4')], 1, 3);
    assert.equal(runs.length, 8);
    assert.deepEqual(runs.slice(0, 4).map((r) => r.warmup), [true, false, false, false]);
    assert.deepEqual(splitNumRuns(4), { warmups: 1, measured: 3 });
    assert.deepEqual(splitNumRuns(1), { warmups: 0, measured: 1 });
    assert.throws(() => caseRuns([], 0, 0), /measured runs/);
  });
});
