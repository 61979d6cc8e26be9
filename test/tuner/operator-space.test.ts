import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ROUND_TITLES } from '../../src/cli/render.js';
import { formatSweepCsv } from '../../src/tuner/sweep-results.js';
import { objectiveFor, parseConstraint } from '../../src/tuner/objective.js';
import { baselineTrial, combinedTrial, fakeGemsTrial, gemsEnableTrial, OPERATOR_STAGE_ORDER, OPERATOR_STAGES, opTrial } from '../../src/tuner/spaces/operators.js';
import { DEFAULT_ENGINE, DEFAULT_OPERATOR_SET, gridTrials } from '../../src/tuner/spaces/grid.js';

describe('operator search space', () => {
  it('holds the reference rounds as data, in the order a session runs them', () => {
    assert.deepEqual(
      OPERATOR_STAGE_ORDER.map((s) => [s.round, s.kind]),
      [['1a', 'baseline'], ['1b', 'fake_gems'], ['1c', 'gems_enable'], ['2', 'op'], ['3', 'combined']],
    );
    // The console titles are the stages' own.
    for (const s of OPERATOR_STAGE_ORDER) assert.equal(ROUND_TITLES[s.round], s.title);
  });

  it('builds each trial with its stage’s round and kind', () => {
    const built = [baselineTrial(), fakeGemsTrial(), gemsEnableTrial(), opTrial('rms_norm', 'flagos'), combinedTrial({ rms_norm: 'flagos' })];
    const stages = [OPERATOR_STAGES.baseline, OPERATOR_STAGES.fakeGems, OPERATOR_STAGES.gemsEnable, OPERATOR_STAGES.op, OPERATOR_STAGES.combined];
    assert.deepEqual(built.map((t) => [t.round, t.kind]), stages.map((s) => [s.round, s.kind]));
    assert.equal(gemsEnableTrial().recordOplist, true);
  });
});

describe('sweep results table', () => {
  const trials = gridTrials({
    benchmark: 'latency',
    points: [
      { key: 'b1-i8-o8', workload: { batch_size: 1, input_len: 8, output_len: 8 } },
      { key: 'b2-i8-o8', workload: { batch_size: 2, input_len: 8, output_len: 8 } },
    ],
    operatorSets: [DEFAULT_OPERATOR_SET, { name: 'tuned', env: {}, config: {} }],
    engines: [DEFAULT_ENGINE],
  });

  it('one row per configuration, the last measured run’s metrics, constraints judged', () => {
    const objective = objectiveFor('latency_avg_s', [parseConstraint('latency_p99_s <= 1')]);
    const csv = formatSweepCsv({
      objective,
      trials,
      runs: [
        { trialKey: 'latency:b1-i8-o8', kind: 'warmup', outcome: 'ok', metrics: { latency_avg_s: 9, latency_p99_s: 9 } },
        { trialKey: 'latency:b1-i8-o8', kind: 'measure', outcome: 'ok', metrics: { latency_avg_s: 0.5, latency_p99_s: 0.75 } },
        { trialKey: 'latency:b1-i8-o8@tuned', kind: 'measure', outcome: 'ok', metrics: { latency_avg_s: 1.25, latency_p99_s: 1.5, mfu: 0.25 } },
        { trialKey: 'latency:b2-i8-o8', kind: 'measure', outcome: 'oom', metrics: null },
      ],
    });
    assert.equal(
      csv,
      [
        'point,configuration,batch_size,input_len,output_len,outcome,latency_avg_s,latency_p99_s,mfu,meets_constraints',
        'b1-i8-o8,default,1,8,8,ok,0.5,0.75,,true',
        'b1-i8-o8,tuned,1,8,8,ok,1.25,1.5,0.25,false',
        'b2-i8-o8,default,2,8,8,oom,,,,',
        'b2-i8-o8,tuned,2,8,8,not measured,,,,',
        '',
      ].join('\r\n'),
    );
  });
});
