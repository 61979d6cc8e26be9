import assert from 'node:assert/strict';
import { test } from 'node:test';
import { groundTruthEffects, simulate, trueThroughput, type SimResult } from '../../simulator/model.js';
import { loadScenario } from '../../simulator/scenario.js';
import { input, tinyScenario } from './support.js';

const close = (a: number, b: number, tol = 1e-9): void => assert.ok(Math.abs(a - b) <= tol, `${a} vs ${b}`);
const OFF = { USE_FLAGGEMS: '0', VLLM_FL_OOT_ENABLED: '0' };
const only = (ops: string): Record<string, string> => ({ USE_FLAGGEMS: '1', VLLM_FL_FLAGOS_WHITELIST: ops, VLLM_FL_OOT_ENABLED: '0' });

test('the same input always gives the same output; only the trial key of the run key seeds noise', () => {
  const s = loadScenario('noisy');
  const a = simulate(s, input(only('mul'), { trialOrdinal: 2, step: 9, runKey: 'a:9:2:x' }));
  assert.deepEqual(simulate(s, input(only('mul'), { trialOrdinal: 2, step: 9, runKey: 'a:9:2:x' })), a);
  assert.deepEqual(simulate(s, input(only('mul'), { trialOrdinal: 2, step: 9, runKey: 'another-session:9:2:x' })), a);
  const otherTrial = simulate(s, input(only('mul'), { trialOrdinal: 2, step: 9, runKey: 'a:9:2:combined:mul=flagos' }));
  assert.notEqual(otherTrial.throughput?.totalTokensPerSec, a.throughput?.totalTokensPerSec);
  const next = simulate(s, input(only('mul'), { trialOrdinal: 3, step: 9 }));
  assert.notEqual(next.throughput?.totalTokensPerSec, a.throughput?.totalTokensPerSec);
});

test('throughput is the baseline times exp of the summed log-space terms', () => {
  const s = loadScenario('typical');
  for (const env of [OFF, only('mul,silu'), only('mm'), { USE_FLAGGEMS: '1', VLLM_FL_OOT_ENABLED: '0', VLLM_FL_CONFIG: '/c' }]) {
    const r = simulate(s, input(env, { config: {}, trialOrdinal: 1, step: 4 }));
    assert.equal(r.outcome, 'ok');
    const sum = Object.values(r.breakdown ?? {}).reduce((x, y) => x + y, 0);
    close(r.throughput?.totalTokensPerSec ?? 0, s.baseline.totalTokensPerSec * Math.exp(sum), 0.005);
    close(r.throughput?.requestsPerSec ?? 0, s.baseline.requestsPerSec * Math.exp(sum), 0.005);
    close(r.throughput?.outputTokensPerSec ?? 0, s.baseline.outputTokensPerSec * Math.exp(sum), 0.005);
  }
});

test('op effects, interactions and the loaded overhead compose multiplicatively', () => {
  const s = tinyScenario({
    flaggemsOverhead: -0.002,
    ops: { mul: 0.01, silu: 0.008, mm: -0.1 },
    interactions: [{ ops: ['mul', 'silu'], effect: -0.005 }],
  });
  const base = s.baseline.totalTokensPerSec;
  const run = (env: Record<string, string>): SimResult => simulate(s, input(env));
  close(run(OFF).throughput?.totalTokensPerSec ?? 0, base, 0.005);
  close(run(only('gems_fake_op')).throughput?.totalTokensPerSec ?? 0, base * 0.998, 0.005);
  close(run(only('mul')).throughput?.totalTokensPerSec ?? 0, base * 1.01 * 0.998, 0.005);
  close(run(only('mul,mm')).throughput?.totalTokensPerSec ?? 0, base * 1.01 * 0.9 * 0.998, 0.005);
  const both = run(only('mul,silu'));
  close(both.breakdown?.interactions ?? 0, Math.log1p(-0.005));
  close(both.throughput?.totalTokensPerSec ?? 0, base * 1.01 * 1.008 * 0.995 * 0.998, 0.005);
  close(trueThroughput(s, { mul: 'flagos', silu: 'flagos' }, null, 'total'), base * 1.01 * 1.008 * 0.995 * 0.998);
  close(trueThroughput(s, {}, null, 'requests'), s.baseline.requestsPerSec);
});

test('the first run of a configuration is cold, and the penalty decays with each repeat', () => {
  const s = tinyScenario({ cold: { penalty: 0.1, decay: 0.5 } });
  const cold = (k: number): number => simulate(s, input(OFF, { trialOrdinal: k })).breakdown?.cold ?? NaN;
  close(cold(0), Math.log(0.9));
  close(cold(1), Math.log(0.95));
  close(cold(3), Math.log(1 - 0.1 * 0.125));
});

test('drift follows the session step: linear part plus a seeded random walk', () => {
  const linear = tinyScenario({ drift: { perStep: -0.001 } });
  close(simulate(linear, input(OFF, { step: 30 })).breakdown?.drift ?? NaN, -0.03);
  const walk = tinyScenario({ drift: { randomWalk: 0.002 } });
  const d = (step: number): number => simulate(walk, input(OFF, { step })).breakdown?.drift ?? NaN;
  assert.equal(d(0), 0);
  assert.notEqual(d(10), d(11));
  assert.equal(d(10), simulate(walk, input(only('mul'), { step: 10 })).breakdown?.drift, 'drift is shared by all configurations');
});

test('noise has the scenario CV, larger with flagos ops on; outliers come at their rate', () => {
  const s = tinyScenario({ noise: { cv: 0.003, flaggemsExtraCv: 0.004, outlierProbability: 0.05, outlierEffect: -0.2 } });
  const stats = (env: Record<string, string>): { sd: number; outliers: number } => {
    const xs: number[] = [];
    let outliers = 0;
    for (let k = 0; k < 3000; k++) {
      const b = simulate(s, input(env, { trialOrdinal: k })).breakdown;
      xs.push(b?.noise ?? NaN);
      if ((b?.outlier ?? 0) !== 0) {
        outliers++;
        assert.ok((b?.outlier ?? 0) <= Math.log1p(-0.1) && (b?.outlier ?? 0) >= Math.log1p(-0.2));
      }
    }
    const mean = xs.reduce((a, b) => a + b, 0) / xs.length;
    const sd = Math.sqrt(xs.reduce((a, b) => a + (b - mean) ** 2, 0) / (xs.length - 1));
    return { sd, outliers: outliers / xs.length };
  };
  const off = stats(OFF);
  assert.ok(Math.abs(off.sd - 0.003) < 0.0003, `sd ${off.sd}`);
  assert.ok(Math.abs(off.outliers - 0.05) < 0.015, `outliers ${off.outliers}`);
  const on = stats(only('mul'));
  assert.ok(Math.abs(on.sd - 0.007) < 0.0006, `sd ${on.sd}`);
});

test('scenario failures surface in engine order and carry the failing op', () => {
  const s = loadScenario('failures');
  const outcome = (ops: string): SimResult => simulate(s, input(only(ops)));
  assert.equal(outcome('softmax').outcome, 'oom');
  assert.equal(outcome('cumsum').outcome, 'hang');
  assert.equal(outcome('argmax').outcome, 'no_result');
  assert.equal(outcome('index_select').outcome, 'kernel_fault');
  const both = outcome('cumsum,softmax,argmax');
  assert.equal(both.outcome, 'oom', 'OOM at startup comes before a hang while generating');
  assert.deepEqual([both.failure?.op, both.failure?.backend], ['softmax', 'flagos']);
  assert.equal(both.throughput, null);
  assert.deepEqual(both.executedOps, ['argmax', 'cumsum', 'softmax'], 'the oplist is written before the failure');
  const crash = simulate(s, input({ ...only('rotary_embedding'), VLLM_FL_OOT_ENABLED: '1', VLLM_FL_OOT_WHITELIST: 'rotary_embedding' }));
  assert.equal(crash.outcome, 'engine_crash');
  assert.equal(trueThroughput(s, { softmax: 'flagos' }, null, 'total'), 0);
  assert.ok(trueThroughput(s, { rotary_embedding: 'vendor' }, null, 'total') > 0);
});

test('ground truth lists each backend effect for the chosen attention backend', () => {
  const s = loadScenario('vendor-wins');
  assert.deepEqual(groundTruthEffects(s)['rms_norm']?.effects, { flagos: -0.003, vendor: 0.008, reference: -0.004 });
  assert.deepEqual(groundTruthEffects(s, 'FLASHINFER')['rms_norm']?.effects, { flagos: -0.003, vendor: 0.008, reference: 0.011 });
  const f = groundTruthEffects(loadScenario('failures'));
  assert.deepEqual(f['softmax']?.fails, { flagos: 'oom' });
  close(
    trueThroughput(s, { rms_norm: 'reference' }, 'FLASHINFER', 'output'),
    s.baseline.outputTokensPerSec * 1.011,
  );
});
