/** Device groups of different speed, and a fixed wall time per run. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { deviceSpeed, parseDeviceSpeeds, runSleepMs } from '../../simulator/devices.js';
import { simulate } from '../../simulator/model.js';
import { loadScenario } from '../../simulator/scenario.js';

describe('simulated device speed', () => {
  it('is keyed by CUDA_VISIBLE_DEVICES: the whole group first, else its slowest listed device', () => {
    const table = { VLLM_SIM_DEVICE_SPEED: '2,3=0.95 7=0.9 6=1.1' };
    assert.equal(deviceSpeed({ ...table, CUDA_VISIBLE_DEVICES: '2,3' }), 0.95);
    assert.equal(deviceSpeed({ ...table, CUDA_VISIBLE_DEVICES: '6,7' }), 0.9);
    assert.equal(deviceSpeed({ ...table, CUDA_VISIBLE_DEVICES: '0,1' }), 1);
    assert.equal(deviceSpeed({ ...table, CUDA_VISIBLE_DEVICES: '6' }), 1.1, 'a one-device group named whole');
    assert.equal(deviceSpeed({ ...table, CUDA_VISIBLE_DEVICES: '6,8' }), 1, 'one fast device does not speed up its group');
    assert.equal(deviceSpeed({ VLLM_SIM_DEVICE_SPEED: '6,7=1.1', CUDA_VISIBLE_DEVICES: '6,7' }), 1.1);
    assert.equal(deviceSpeed({ CUDA_VISIBLE_DEVICES: '2,3' }), 1);
    assert.throws(() => parseDeviceSpeeds('2,3:0.95'), /is not DEVICES=SPEED/);
    assert.throws(() => parseDeviceSpeeds('2=0'), /speed > 0/);
  });

  it('scales throughput and nothing else: the same draws on every group', () => {
    const s = loadScenario('typical');
    const input = { env: {}, config: null, trialOrdinal: 1, step: 3, runKey: 's:3:1:baseline' };
    const nominal = simulate(s, input);
    const slow = simulate(s, { ...input, deviceSpeed: 0.95 });
    const ratio = (slow.throughput?.totalTokensPerSec ?? NaN) / (nominal.throughput?.totalTokensPerSec ?? NaN);
    assert.ok(Math.abs(ratio - 0.95) < 1e-4, `ratio ${ratio}`);
    assert.equal(slow.breakdown?.noise, nominal.breakdown?.noise);
  });

  it('sleeps a fixed time per run, longer on a slower group', () => {
    assert.equal(runSleepMs({}, 1), 0);
    assert.equal(runSleepMs({ VLLM_SIM_SLEEP_MS: '200' }, 1), 200);
    assert.equal(runSleepMs({ VLLM_SIM_SLEEP_MS: '190' }, 0.95), 200);
    assert.throws(() => runSleepMs({ VLLM_SIM_SLEEP_MS: 'soon' }, 1), /not a number/);
  });
});
