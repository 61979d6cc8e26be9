import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { objectiveFor } from '../../../src/tuner/objective.js';
import type { PolicyContext } from '../../../src/tuner/policy.js';
import { tiersPolicy } from '../../../src/tuner/policies/tiers.js';
import { cartesian, engineArgs, type EngineSpace, type Tier } from '../../../src/tuner/spaces/engine.js';
import { DENSE_SMALL, drive, memoryNeeded, truth, type EngineWorld } from '../../support/engine-world.js';

const TIER0: Tier = {
  name: 'batching',
  axes: [
    { name: 'tensor-parallel-size', values: [1, 2, 4] },
    { name: 'max-num-seqs', values: [128, 256, 512, 1024, 2048] },
    { name: 'max-num-batched-tokens', values: [4096, 8192, 16384, 32768, 65536] },
  ],
  fixed: {},
  independent: false,
};

function space(over: Partial<EngineSpace> = {}): EngineSpace {
  return {
    tiers: [TIER0],
    search: 'coordinate',
    operators: false,
    limits: { numHeads: 32, gpus: 4, maxModelLen: null, inputLen: null, outputLen: null },
    base: {},
    retry: [],
    ...over,
  };
}

function ctx(engine: EngineSpace, over: Partial<PolicyContext> = {}): PolicyContext {
  return { numRuns: 2, objective: objectiveFor('output'), minGain: 0.005, budget: null, seed: 1, discovery: { explicitOps: null, configOps: null }, engine, ...over };
}

/** The best per-GPU throughput of the tier's grid, noise-free. */
function optimum(w: EngineWorld, tier: Tier): number {
  return Math.max(...cartesian({}, tier.axes).map((p) => truth(w, engineArgs(p)) ?? 0));
}

describe('tiers policy', () => {
  it('coordinate search finds the optimum within noise in fewer invocations than the grid', () => {
    for (const seed of [1, 2, 3]) {
      const w = { ...DENSE_SMALL, seed };
      const d = drive(tiersPolicy, ctx(space()), w);
      assert.ok(d.result?.engine !== undefined, d.failed ?? 'no engine answer');
      const chosen = truth(w, d.result.engine.args) ?? 0;
      const best = optimum(w, TIER0);
      assert.ok(chosen >= best * (1 - 3 * w.sigma), `seed ${seed}: chose ${d.result.engine.args.join(' ')} at ${chosen.toFixed(0)}, best ${best.toFixed(0)}`);
      const grid = cartesian({}, TIER0.axes).length * 2;
      assert.ok(d.steps.length < grid / 2, `seed ${seed}: ${d.steps.length} invocations vs a grid of ${grid}`);
      assert.ok(d.result.engine.gain !== null && d.result.engine.gain > 0.2, `gain ${d.result.engine.gain}`);
      assert.ok(d.result.summary.some((l) => l.startsWith('Winning engine arguments: ')));
    }
  });

  it('never runs a point past a memory ceiling, and says why it was pruned', () => {
    // Little memory: max-num-seqs 2048 or batched tokens 65536 run out at tp=1.
    const w: EngineWorld = { ...DENSE_SMALL, memory: 40, tpEfficiency: { 1: 1, 2: 0.6, 4: 0.4 } };
    const d = drive(tiersPolicy, ctx(space()), w);
    const ran = new Set(d.steps.map((s) => s.trial.key));
    const ooms = d.steps.filter((s) => truth(w, s.trial.extraArgs) === null);
    assert.ok(ooms.length >= 1, 'the search reached the ceiling');
    for (const s of ooms) {
      const failedKey = s.trial.key;
      assert.equal(d.steps.filter((x) => x.trial.key === failedKey).length, 1, 'an OOM point is run once');
    }
    const pruned = d.events.filter((e) => e.type === 'decision' && e.reason.startsWith('pruned without running'));
    for (const e of pruned) if (e.type === 'decision') assert.ok(!ran.has(e.subject), `${e.subject} was pruned and run`);
    assert.ok(d.result?.engine !== undefined);
    assert.ok(memoryNeeded(w, d.result.engine.args) <= w.memory);
  });

  it('a KV-cache shortage prunes more batched tokens and less gpu-memory-utilization, never more of it', () => {
    // At 0.9 the cache has 28 GiB of room; batched tokens 32768 need 29.1: 0.95 fits it, 0.85 does not.
    const w: EngineWorld = { ...DENSE_SMALL, memory: 28, kvCacheCeiling: true };
    const tier: Tier = { ...TIER0, axes: [{ name: 'max-num-batched-tokens', values: [8192, 16384, 32768, 65536] }, { name: 'gpu-memory-utilization', values: [0.85, 0.9, 0.95] }] };
    const d = drive(tiersPolicy, ctx(space({ tiers: [tier], search: 'grid' })), w);
    const runs = (key: string): number => d.steps.filter((s) => s.trial.key === key).length;
    const reasons = new Map(d.events.flatMap((e) => (e.type === 'decision' ? [[e.subject, e.reason] as const] : [])));
    assert.equal(runs('engine:gpu-memory-utilization=0.85,max-num-batched-tokens=32768'), 1, 'the shortage is run once');
    assert.equal(runs('engine:gpu-memory-utilization=0.95,max-num-batched-tokens=32768'), 2, 'more memory for the cache is tried and fits');
    assert.equal(runs('engine:gpu-memory-utilization=0.85,max-num-batched-tokens=65536'), 0);
    assert.equal(runs('engine:max-num-batched-tokens=65536'), 0, 'gmu 0.9 (the default) past the 0.9 shortage');
    assert.match(reasons.get('engine:max-num-batched-tokens=65536') ?? '', /^pruned without running: leaves the KV cache no more room than mnbt=32768, which ran out of KV-cache memory$/);
    assert.equal(runs('engine:gpu-memory-utilization=0.95,max-num-batched-tokens=65536'), 1, 'not pruned: more room than any shortage seen');
  });

  it('a CUDA OOM prunes a larger gpu-memory-utilization too, the default one counting as 0.9', () => {
    const w: EngineWorld = { ...DENSE_SMALL, memory: 28 };
    const tier: Tier = { ...TIER0, axes: [{ name: 'max-num-batched-tokens', values: [16384, 32768] }, { name: 'gpu-memory-utilization', values: [0.9, 0.95] }] };
    const d = drive(tiersPolicy, ctx(space({ tiers: [tier], search: 'grid' })), w);
    const keys = d.steps.map((s) => s.trial.key);
    assert.equal(keys.filter((k) => k === 'engine:max-num-batched-tokens=32768').length, 1);
    assert.ok(!keys.includes('engine:gpu-memory-utilization=0.95,max-num-batched-tokens=32768'));
  });

  it('rejects invalid points before running them, with the reason as a decision', () => {
    const tier: Tier = { ...TIER0, axes: [{ name: 'tensor-parallel-size', values: [1, 3, 8] }] };
    const d = drive(tiersPolicy, ctx(space({ tiers: [tier], search: 'grid' })), DENSE_SMALL);
    const keys = new Set(d.steps.map((s) => s.trial.key));
    assert.deepEqual([...keys], ['engine:default'], 'tensor-parallel-size 1 is vLLM default: the same configuration');
    const reasons = new Map(d.events.flatMap((e) => (e.type === 'decision' ? [[e.subject, e.reason] as const] : [])));
    assert.equal(reasons.get('engine:tensor-parallel-size=3'), "rejected before running: tensor-parallel-size 3 does not divide the model's 32 attention heads");
    assert.equal(reasons.get('engine:tensor-parallel-size=8'), 'rejected before running: needs 8 GPUs (tp x pp x dp), 4 visible');
    assert.equal(reasons.get('engine:default'), 'tier batching winner');
  });

  it('a model too large for one GPU gets the first tensor-parallel size that fits as its default', () => {
    const w: EngineWorld = { ...DENSE_SMALL, weightsGiB: 100, memory: 75 };
    const d = drive(tiersPolicy, ctx(space()), w);
    assert.ok(d.result?.engine !== undefined, d.failed ?? '');
    assert.deepEqual(d.result.engine.defaultArgs, ['--max-num-batched-tokens', '8192', '--max-num-seqs', '256', '--tensor-parallel-size', '2']);
    assert.equal(d.steps.filter((s) => s.trial.key === 'engine:max-num-batched-tokens=8192,max-num-seqs=256').length, 1, 'the default at tp=1 fails once and is not tried again');
    for (const s of d.steps.filter((x) => !x.trial.extraArgs.includes('--tensor-parallel-size'))) {
      assert.ok(!d.steps.some((x) => x !== s && x.trial.key === s.trial.key), `${s.trial.key} ran out of memory and ran again`);
    }
  });

  it('grid search measures every valid point of a tier num-runs times', () => {
    const tier: Tier = { ...TIER0, axes: [{ name: 'max-num-seqs', values: [256, 512] }, { name: 'max-num-batched-tokens', values: [8192, 16384] }] };
    const d = drive(tiersPolicy, ctx(space({ tiers: [tier], search: 'grid' })), DENSE_SMALL);
    assert.equal(d.steps.length, 8);
    assert.equal(new Set(d.steps.map((s) => s.trial.key)).size, 4);
  });

  it('a later tier starts from the earlier winner and searches only its own axes', () => {
    const t1: Tier = { name: 'memory', axes: [{ name: 'gpu-memory-utilization', values: [0.9, 0.95] }], fixed: {}, independent: false };
    const d = drive(tiersPolicy, ctx(space({ tiers: [TIER0, t1] })), DENSE_SMALL);
    const tier1 = d.steps.filter((s) => s.trial.round === 'memory');
    assert.ok(tier1.length > 0);
    const winner0 = d.result?.summary.find((l) => l.startsWith('Tier batching winner: '));
    assert.ok(winner0 !== undefined);
    for (const s of tier1) assert.ok(s.trial.extraArgs.includes('--gpu-memory-utilization'));
  });

  it('independent tiers (a sweep file\'s experiments) answer with the best of their winners, not the last', () => {
    const good: Tier = { name: 'big-batches', axes: [{ name: 'max-num-seqs', values: [512, 1024] }], fixed: { 'max-num-batched-tokens': 32768 }, independent: true };
    const poor: Tier = { name: 'small-batches', axes: [{ name: 'max-num-seqs', values: [64, 128] }], fixed: { 'max-num-batched-tokens': 4096 }, independent: true };
    const d = drive(tiersPolicy, ctx(space({ tiers: [good, poor], search: 'grid' })), DENSE_SMALL);
    const args = d.result?.engine?.args ?? [];
    assert.ok(args.includes('32768'), `chose ${args.join(' ')}`);
    assert.ok(d.steps.some((s) => s.trial.round === 'small-batches'), 'the last experiment ran');
  });

  it('tries every value of an unordered axis: one speculative method losing says nothing of the next', () => {
    const spec: Tier = { name: 'speculative', axes: [{ name: 'speculative-config', values: [null, 'ngram', 'suffix'] }], fixed: {}, independent: false };
    const w: EngineWorld = { ...DENSE_SMALL, speculative: { ngram: 0.9, suffix: 1.05 } };
    const d = drive(tiersPolicy, ctx(space({ tiers: [TIER0, spec] })), w);
    assert.ok(d.steps.some((s) => s.trial.extraArgs.includes('suffix')), 'suffix was measured after ngram lost');
    assert.ok(d.result?.engine?.args.includes('suffix'), `chose ${d.result?.engine?.args.join(' ')}`);
  });

  it('replays: the same observations give the same steps', () => {
    const a = drive(tiersPolicy, ctx(space()), DENSE_SMALL);
    const b = drive(tiersPolicy, ctx(space()), DENSE_SMALL);
    assert.deepEqual(a.steps.map((s) => [s.trial.key, s.kind]), b.steps.map((s) => [s.trial.key, s.kind]));
  });

  it('the budget caps the invocations', () => {
    const d = drive(tiersPolicy, ctx(space(), { budget: 7 }), DENSE_SMALL);
    assert.ok(d.steps.length <= 7, `${d.steps.length}`);
    assert.ok(d.result?.engine !== undefined);
  });

  it('an operator tier runs the operator search with the winning engine arguments on every trial', () => {
    const d = drive(tiersPolicy, ctx(space({ operators: true }), { discovery: { explicitOps: ['rms_norm'], configOps: null } }), DENSE_SMALL);
    const ops = d.steps.filter((s) => s.trial.round.startsWith('ops-'));
    assert.ok(ops.length > 0);
    const args = d.result?.engine?.args ?? [];
    for (const s of ops) assert.deepEqual(s.trial.extraArgs.slice(0, args.length), [...args]);
  });
});
