import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { expandLatencyGrid, latencyPointKey, parseGridAxis, resolveMaxModelLen } from '../../src/tuner/latency-grid.js';

describe('expandLatencyGrid', () => {
  it('expands batch x input x output, batch outermost, with stable keys', () => {
    const grid = expandLatencyGrid({ batchSizes: [1, 8], inputLens: [128, 1024], outputLens: [128] }, null);
    assert.deepEqual(
      grid.points.map((p) => p.key),
      ['b1-i128-o128', 'b1-i1024-o128', 'b8-i128-o128', 'b8-i1024-o128'],
    );
    assert.deepEqual(grid.points[3], { key: 'b8-i1024-o128', batchSize: 8, inputLen: 1024, outputLen: 128 });
    assert.deepEqual(grid.skipped, []);
  });

  it('gives a point the same key whatever the axis order, and drops duplicates', () => {
    const a = expandLatencyGrid({ batchSizes: [32, 1, 32], inputLens: [512], outputLens: [64, 16] }, null);
    const b = expandLatencyGrid({ batchSizes: [1, 32], inputLens: [512], outputLens: [16, 64] }, null);
    assert.equal(a.points.length, 4);
    assert.deepEqual(new Set(a.points.map((p) => p.key)), new Set(b.points.map((p) => p.key)));
    assert.equal(latencyPointKey({ batchSize: 32, inputLen: 512, outputLen: 16 }), 'b32-i512-o16');
  });

  it('skips points whose input + output exceed max-model-len, with the reason; equal still fits', () => {
    const grid = expandLatencyGrid({ batchSizes: [4], inputLens: [3968, 4000], outputLens: [128] }, { value: 4096, source: 'config' });
    assert.deepEqual(grid.points.map((p) => p.key), ['b4-i3968-o128']);
    assert.deepEqual(grid.skipped, [
      {
        key: 'b4-i4000-o128',
        batchSize: 4,
        inputLen: 4000,
        outputLen: 128,
        reason: "input 4000 + output 128 = 4128 exceeds max-model-len 4096 (from the model's config.json)",
      },
    ]);
    const byArgument = expandLatencyGrid({ batchSizes: [1], inputLens: [2048], outputLens: [128] }, resolveMaxModelLen(2048, 40960));
    assert.match(byArgument.skipped[0]?.reason ?? '', /exceeds max-model-len 2048 \(from --max-model-len\)$/);
  });

  it('refuses empty or non-positive axes', () => {
    assert.throws(() => expandLatencyGrid({ batchSizes: [], inputLens: [1], outputLens: [1] }, null), { code: 'E_USAGE', message: /at least one batch size/ });
    assert.throws(() => expandLatencyGrid({ batchSizes: [1], inputLens: [0], outputLens: [1] }, null), { code: 'E_USAGE', message: /input lengths must be positive/ });
  });
});

describe('resolveMaxModelLen and parseGridAxis', () => {
  it('prefers the argument over the config, and knows none', () => {
    assert.deepEqual(resolveMaxModelLen(null, 40960), { value: 40960, source: 'config' });
    assert.deepEqual(resolveMaxModelLen(8192, 40960), { value: 8192, source: 'argument' });
    assert.equal(resolveMaxModelLen(null, null), null);
  });

  it('reads comma lists of positive integers', () => {
    assert.deepEqual(parseGridAxis('--batch-sizes', '1, 8,32,8'), [1, 8, 32]);
    assert.throws(() => parseGridAxis('--batch-sizes', '1,,8'), { code: 'E_USAGE', message: "--batch-sizes takes positive whole numbers separated by commas, got '1,,8'" });
    assert.throws(() => parseGridAxis('--input-lens', '0'), { code: 'E_USAGE' });
    assert.throws(() => parseGridAxis('--input-lens', '1.5'), { code: 'E_USAGE' });
  });
});
