import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { costMetrics, costOf, gpuCount, parallelismOf, pointGpus } from '../../src/tuner/cost.js';

describe('GPU cost of a configuration', () => {
  it('reads tp, pp and dp as argparse does: short and long names, `=`, underscores, the last one', () => {
    assert.deepEqual(parallelismOf(['--model', 'm']), { tp: 1, pp: 1, dp: 1 });
    assert.deepEqual(parallelismOf(['-tp', '2', '--pipeline_parallel_size=3', '--data-parallel-size', '2']), { tp: 2, pp: 3, dp: 2 });
    assert.deepEqual(parallelismOf(['--tensor-parallel-size', '2', '-tp', '4']), { tp: 4, pp: 1, dp: 1 });
    assert.equal(gpuCount({ tp: 2, pp: 3, dp: 2 }), 12);
  });

  it('a slot of GPU devices is what a point occupies when the session ran on groups', () => {
    assert.equal(pointGpus({ tp: 2, pp: 1, dp: 1 }, null), 2);
    assert.equal(pointGpus({ tp: 1, pp: 1, dp: 1 }, 4), 4);
  });

  it('per GPU, GPU-days for 1B output tokens, GPUs for 1B output tokens per hour (by hand)', () => {
    // 8000 output tokens/s on 2 GPUs: 4000 per GPU; 1e9 / 4000 = 250000 GPU-seconds
    // = 250000 / 86400 = 2.8935185... GPU-days; an hour needs 250000 / 3600 = 69.444... GPUs.
    const c = costOf(8000, 2);
    assert.ok(c !== null);
    assert.equal(c.outputTpsPerGpu, 4000);
    assert.ok(Math.abs(c.gpuDaysPer1B - 2.893518518518518) < 1e-12, String(c.gpuDaysPer1B));
    assert.ok(Math.abs(c.gpusFor1BPerHour - 69.44444444444444) < 1e-12, String(c.gpusFor1BPerHour));
    assert.deepEqual(Object.keys(costMetrics(c)), ['output_tps_per_gpu', 'gpu_days_to_process_1b_tokens', 'gpus_for_1b_tokens_per_hour']);
  });

  it('no figure without a positive throughput', () => {
    assert.equal(costOf(null, 1), null);
    assert.equal(costOf(undefined, 1), null);
    assert.equal(costOf(0, 1), null);
  });
});
