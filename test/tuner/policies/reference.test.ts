import assert from 'node:assert/strict';
import { fromThroughput } from '../../../src/tuner/metrics.js';
import { objectiveFor } from '../../../src/tuner/objective.js';
import { describe, it } from 'node:test';
import { referencePolicy, referenceValue } from '../../../src/tuner/policies/reference.js';
import type { Decision } from '../../../src/tuner/policy.js';
import type { Observation } from '../../../src/tuner/types.js';
import { platformDispatchOps } from '../../../src/tuner/plugin-ops.js';
import { context, drive } from './fake-world.js';

const twoOps = context({ discovery: { explicitOps: ['rms_norm', 'mul'], configOps: null } });

/** Values per run for: 1a, 1b, 1c, rms_norm flagos/vendor/ref FA/ref FI, mul flagos, combined (2 runs each). */
function script(over: Record<number, number | null> = {}): (number | null)[] {
  const values: (number | null)[] = [900, 1000, 900, 990, 900, 980, 900, 995, 900, 1001, 900, 1005, 900, 1010, 900, 1000, 900, 1020];
  for (const [i, v] of Object.entries(over)) values[Number(i)] = v;
  return values;
}

function decisions(events: readonly { type: string }[]): Decision[] {
  return events.filter((e): e is Decision => e.type === 'decision');
}

describe('reference policy', () => {
  it('runs the reference rounds in order, numRuns-1 warm-ups then one measure each', () => {
    const { runs, end } = drive(referencePolicy, twoOps, { script: script() });
    assert.deepEqual(
      runs.map((r) => `${r.trial.prefix}:${r.kind}:${r.warmupIndex ?? '-'}`),
      [
        'baseline:warmup:1', 'baseline:measure:-',
        'baseline_fake_gems_op:warmup:1', 'baseline_fake_gems_op:measure:-',
        'baseline_gems_enable:warmup:1', 'baseline_gems_enable:measure:-',
        'op_rms_norm_flagos:warmup:1', 'op_rms_norm_flagos:measure:-',
        'op_rms_norm_vendor:warmup:1', 'op_rms_norm_vendor:measure:-',
        'op_rms_norm_reference_flash_attn:warmup:1', 'op_rms_norm_reference_flash_attn:measure:-',
        'op_rms_norm_reference_flashinfer:warmup:1', 'op_rms_norm_reference_flashinfer:measure:-',
        'op_mul_flagos:warmup:1', 'op_mul_flagos:measure:-',
        'combined_best:warmup:1', 'combined_best:measure:-',
      ],
    );
    const last = runs.at(-1);
    assert.deepEqual(last?.trial.opBackends, { rms_norm: 'reference' });
    assert.equal(last?.trial.attention, 'FLASHINFER');
    assert.equal(end.type, 'done');
    if (end.type !== 'done') return;
    assert.deepEqual(end.result.opBackends, { rms_norm: 'reference' });
    assert.equal(end.result.attention, 'FLASHINFER');
    assert.equal(end.result.validated, false);
    assert.ok(Math.abs((end.result.speedup ?? 0) - 0.02) < 1e-12);
    assert.equal(end.result.low, null);
  });

  it('keeps only strictly greater operators and skips round 3 when nothing improved', () => {
    // Every rms_norm backend below baseline, mul exactly equal to baseline.
    const { runs, end } = drive(referencePolicy, twoOps, { script: script({ 9: 999, 11: 999, 13: 998 }) });
    assert.ok(runs.every((r) => r.trial.kind !== 'combined'));
    assert.equal(end.type, 'done');
    if (end.type !== 'done') return;
    assert.deepEqual(end.result.opBackends, {});
    assert.equal(end.result.speedup, null);
    const all = decisions(runs.flatMap((r) => r.events).concat(end.events));
    assert.deepEqual(all.map((d) => [d.op, d.verdict]), [['rms_norm', 'dropped'], ['mul', 'dropped']]);
    assert.match(all[1]?.reason ?? '', /not greater/);
  });

  it('skips round 3 when the baseline has no result', () => {
    const { runs, end } = drive(referencePolicy, twoOps, { script: script({ 0: null, 1: null }) });
    assert.ok(runs.every((r) => r.trial.kind !== 'combined'));
    assert.equal(end.type === 'done' && Object.keys(end.result.opBackends).length, 0);
  });

  it('uses the last run, or the last successful run when the last one failed', () => {
    // rms_norm reference FLASHINFER: measure fails, its warm-up (1030) counts; baseline 1000.
    const { end } = drive(referencePolicy, twoOps, { script: script({ 12: 1030, 13: null }) });
    assert.equal(end.type === 'done' && end.result.opBackends['rms_norm'], 'reference');
    const ok = (v: number | null): Observation => ({
      trialKey: 'k', kind: 'measure', outcome: v === null ? 'oom' : 'ok', executedOps: null, durationMs: 1,
      metrics: fromThroughput(v === null ? null : { requestsPerSec: 1, totalTokensPerSec: v, outputTokensPerSec: null }),
    });
    assert.equal(referenceValue([ok(5), ok(7)], objectiveFor('total')), 7);
    assert.equal(referenceValue([ok(5), ok(null)], objectiveFor('total')), 5);
    assert.equal(referenceValue([ok(null), ok(null)], objectiveFor('total')), null);
    assert.equal(referenceValue([ok(5)], objectiveFor('output')), null);
  });

  it('reports a failed operator when no backend produced a result', () => {
    const failing = { 'op:mul:flagos': 'oom' as const };
    const { runs, end } = drive(referencePolicy, twoOps, { failing });
    const all = decisions(runs.flatMap((r) => r.events).concat(end.events));
    assert.equal(all.find((d) => d.op === 'mul')?.verdict, 'failed');
  });

  it('fails with E_NO_OPS when discovery finds nothing', () => {
    const { runs, end } = drive(referencePolicy, context(), { executedOps: [] });
    assert.equal(runs.length, 6);
    assert.equal(end.type, 'fail');
    if (end.type !== 'fail') return;
    assert.equal(end.code, 'E_NO_OPS');
    assert.match(end.message, /no operators to tune/);
    assert.ok(end.events.some((e) => e.type === 'ops'));
  });

  it('discovers from the last 1c run that reported executed ops and emits the ops event', () => {
    const { runs } = drive(referencePolicy, context(), { executedOps: ['mul'] });
    const ops = runs.flatMap((r) => r.events).find((e) => e.type === 'ops');
    // The plugin's dispatch ops (never in 1c's log: OOT ops are off there) plus what 1c executed.
    assert.deepEqual(ops?.type === 'ops' && ops.final, { ...platformDispatchOps(), mul: ['flagos'] });
    assert.ok(runs.some((r) => r.trial.key === 'op:mul:flagos'));
    assert.ok(runs.some((r) => r.trial.key === 'op:rms_norm:reference:FLASHINFER'));
  });

  it('emits a best-so-far event after every operator', () => {
    const { runs, end } = drive(referencePolicy, twoOps, { script: script() });
    const bests = runs.flatMap((r) => r.events).concat(end.events).filter((e) => e.type === 'best');
    assert.equal(bests.length, 2);
  });

  it('stops at a given budget and finishes with what it decided', () => {
    const { runs, end } = drive(referencePolicy, { ...twoOps, budget: 9 }, { script: script() });
    assert.equal(runs.length, 9);
    assert.equal(end.type, 'done');
    if (end.type === 'done') assert.ok(end.result.summary.some((l) => /budget/.test(l)));
  });
});
