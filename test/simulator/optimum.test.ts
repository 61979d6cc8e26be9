import assert from 'node:assert/strict';
import { test } from 'node:test';
import { bestAchievable, trueThroughput } from '../../simulator/model.js';
import { uniform } from '../../simulator/prng.js';
import { listScenarios, loadScenario, type Scenario } from '../../simulator/scenario.js';
import type { AttentionBackend, Backend } from '../../src/tuner/types.js';
import { tinyScenario } from './support.js';

/** The optimum by trying every subset, backend and attention backend through trueThroughput. */
function bruteForce(s: Scenario): number {
  const ops = Object.keys(s.ops);
  let best = 0;
  const assignment: Record<string, Backend> = {};
  const visit = (i: number): void => {
    const op = ops[i];
    if (op === undefined) {
      for (const attention of [null, 'FLASH_ATTN', 'FLASHINFER'] as Array<AttentionBackend | null>) {
        best = Math.max(best, trueThroughput(s, assignment, attention, 'total'));
      }
      return;
    }
    visit(i + 1);
    for (const backend of Object.keys(s.ops[op]?.effects ?? {}) as Backend[]) {
      assignment[op] = backend;
      visit(i + 1);
      delete assignment[op];
    }
  };
  visit(0);
  return best;
}

function check(s: Scenario): void {
  const best = bestAchievable(s, 'total');
  const expected = bruteForce(s);
  assert.ok(Math.abs(best.throughput - expected) < 1e-6 * expected, `${s.description}: ${best.throughput} vs ${expected}`);
  const realised = trueThroughput(s, best.opBackends, best.attention, 'total');
  assert.ok(Math.abs(realised - best.throughput) < 1e-6 * expected, `${s.description}: optimum not realisable`);
}

test('bestAchievable matches brute force with interactions, failures and attention-dependent reference', () => {
  const s = tinyScenario({
    description: 'mixed',
    flaggemsOverhead: -0.003,
    ops: {
      mul: 0.01,
      silu: 0.008,
      mm: -0.1,
      sub: { flagos: 0.02, fails: { flagos: 'oom' } },
      rms_norm: { flagos: 0.003, vendor: 0.005, reference: { FLASH_ATTN: -0.01, FLASHINFER: 0.007 } },
      rotary_embedding: { flagos: 0.004, vendor: -0.001, reference: 0.001 },
    },
    interactions: [
      { ops: ['mul', 'silu'], effect: -0.012 },
      { ops: ['silu', 'rms_norm'], effect: 0.003 },
    ],
  });
  check(s);
  const best = bestAchievable(s, 'total');
  assert.equal(best.opBackends['sub'], undefined, 'a failing backend is never part of the optimum');
  assert.equal(best.opBackends['mm'], undefined);
});

test('a positive FlagGems overhead makes a slightly negative flagos op worth enabling', () => {
  const s = tinyScenario({
    description: 'forced',
    flaggemsOverhead: 0.004,
    ops: { cat: -0.001, clone: -0.002, rms_norm: { flagos: -0.003, vendor: 0.002, reference: -0.01 } },
  });
  check(s);
  assert.deepEqual(bestAchievable(s, 'total').opBackends, { cat: 'flagos', rms_norm: 'vendor' });
});

test('when nothing helps the optimum is the baseline with nothing enabled', () => {
  const s = tinyScenario({ description: 'nothing', ops: { mul: -0.001, mm: -0.1 } });
  assert.deepEqual(bestAchievable(s, 'requests'), { opBackends: {}, attention: null, throughput: s.baseline.requestsPerSec });
});

test('bestAchievable matches brute force on random small scenarios', () => {
  const pick = (key: string, lo: number, hi: number): number => Math.round((lo + (hi - lo) * uniform(key)) * 1e4) / 1e4;
  for (let k = 0; k < 20; k++) {
    const e = (name: string): number => pick(`${k}|${name}`, -0.02, 0.02);
    const s = tinyScenario({
      description: `random ${k}`,
      flaggemsOverhead: pick(`${k}|overhead`, -0.005, 0.005),
      ops: {
        mul: e('mul'),
        silu: e('silu'),
        add: { flagos: e('add'), fails: uniform(`${k}|fail`) < 0.3 ? { flagos: 'hang' } : {} },
        rms_norm: { flagos: e('r1'), vendor: e('r2'), reference: { FLASH_ATTN: e('r3'), FLASHINFER: e('r4') } },
        attention_backend: { flagos: e('a1'), vendor: 0, reference: e('a2') },
      },
      interactions: [
        { ops: ['mul', 'silu'], effect: e('i1') },
        { ops: ['silu', 'rms_norm', 'add'], effect: e('i2') },
      ],
    });
    check(s);
  }
});

test('every shipped scenario has a realisable optimum no worse than the baseline', () => {
  for (const name of listScenarios()) {
    const s = loadScenario(name);
    for (const metric of ['total', 'output', 'requests'] as const) {
      const best = bestAchievable(s, metric);
      const realised = trueThroughput(s, best.opBackends, best.attention, metric);
      assert.ok(Math.abs(realised - best.throughput) < 1e-9 * realised, name);
      assert.ok(best.throughput >= trueThroughput(s, {}, null, metric) - 1e-9, name);
    }
  }
  const interfering = bestAchievable(loadScenario('interfering'), 'total').opBackends;
  assert.ok(!(interfering['mul'] !== undefined && interfering['silu'] !== undefined), 'interfering winners are not all kept');
  assert.equal(bestAchievable(loadScenario('vendor-wins'), 'total').attention, 'FLASHINFER');
});
