import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DEFAULT_ENGINE, DEFAULT_OPERATOR_SET, gridTrials } from '../../src/tuner/spaces/grid.js';
import { calibratedKey } from '../../src/tuner/spaces/slot-copies.js';

const POINTS = [
  { key: 'b1-i8-o8', workload: { batch_size: 1, input_len: 8, output_len: 8 } },
  { key: 'b2-i8-o8', workload: { batch_size: 2, input_len: 8, output_len: 8 } },
];

describe('grid search space', () => {
  it('one trial per point, named by the point alone when nothing else varies', () => {
    const trials = gridTrials({ benchmark: 'latency', points: POINTS, operatorSets: [DEFAULT_OPERATOR_SET], engines: [DEFAULT_ENGINE] });
    assert.deepEqual(trials.map((t) => [t.key, t.prefix, t.round, t.kind, t.benchmark, t.baseline]), [
      ['latency:b1-i8-o8', 'b1-i8-o8', 'b1-i8-o8', 'point', 'latency', undefined],
      ['latency:b2-i8-o8', 'b2-i8-o8', 'b2-i8-o8', 'point', 'latency', undefined],
    ]);
    assert.deepEqual(trials[1]?.workload, POINTS[1]?.workload);
  });

  it('configurations side by side per point, each compared with its own point baseline', () => {
    const ops = { name: 'tuned', env: { USE_FLAGGEMS: '1' }, config: { op_backends: { mm: ['flagos'] } } };
    const trials = gridTrials({ benchmark: 'latency', points: POINTS, operatorSets: [DEFAULT_OPERATOR_SET, ops], engines: [DEFAULT_ENGINE, { name: 'eager', args: ['--enforce-eager'] }] });
    assert.equal(trials.length, 8);
    assert.deepEqual(trials.slice(0, 4).map((t) => [t.key, t.prefix, t.baseline ?? null, t.label]), [
      ['latency:b1-i8-o8', 'b1-i8-o8', null, 'b1-i8-o8'],
      ['latency:b1-i8-o8@tuned', 'b1-i8-o8_tuned', 'latency:b1-i8-o8', 'b1-i8-o8 (tuned)'],
      ['latency:b1-i8-o8:eager', 'b1-i8-o8_eager', 'latency:b1-i8-o8', 'b1-i8-o8 (eager)'],
      ['latency:b1-i8-o8:eager@tuned', 'b1-i8-o8_eager_tuned', 'latency:b1-i8-o8', 'b1-i8-o8 (eager, tuned)'],
    ]);
    assert.equal(trials[4]?.baseline, undefined);
    assert.equal(trials[7]?.baseline, 'latency:b2-i8-o8');
    assert.deepEqual(trials[3]?.extraArgs, ['--enforce-eager']);
    assert.deepEqual(trials[3]?.env, { USE_FLAGGEMS: '1' });
    assert.equal(new Set(trials.map((t) => t.key)).size, 8);
  });
});

describe('calibration copies', () => {
  it('repeat the first trial once per other slot, right after it, each in a group of its own', () => {
    const space = {
      benchmark: 'latency',
      points: [
        { key: 'b1-i128-o32', workload: { batch_size: 1 } },
        { key: 'b4-i128-o32', workload: { batch_size: 4 } },
      ],
      operatorSets: [DEFAULT_OPERATOR_SET],
      engines: [DEFAULT_ENGINE],
    };
    const plain = gridTrials(space);
    const calibrated = gridTrials({ ...space, calibrationSlots: 3 });
    assert.deepEqual(calibrated.map((t) => t.key), ['latency:b1-i128-o32', 'latency:b1-i128-o32#slot1', 'latency:b1-i128-o32#slot2', 'latency:b4-i128-o32']);
    const copy = calibrated[2];
    assert.deepEqual({ ...copy, key: plain[0]?.key, prefix: plain[0]?.prefix, label: plain[0]?.label }, plain[0], 'the same configuration and workload');
    assert.deepEqual([copy?.prefix, copy?.label, copy?.baseline], ['b1-i128-o32_slot2', 'b1-i128-o32 (slot 2 calibration)', undefined]);
    assert.deepEqual(calibrated.map((t) => calibratedKey(t.key)), ['latency:b1-i128-o32', 'latency:b1-i128-o32', 'latency:b1-i128-o32', 'latency:b4-i128-o32']);
    assert.deepEqual(gridTrials({ ...space, calibrationSlots: 1 }), plain);
  });
});
