/** The propose/observe policy API: several runs in flight, answers in any order, replay by step id. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { fromThroughput } from '../../src/tuner/metrics.js';
import { objectiveFor } from '../../src/tuner/objective.js';
import { referencePolicy } from '../../src/tuner/policies/reference.js';
import { sweepCursor, sweepPolicy } from '../../src/tuner/policies/sweep.js';
import type { PolicyContext, Proposal, StudyCursor } from '../../src/tuner/policy.js';
import type { StoredObservation } from '../../src/tuner/ports.js';
import { replay } from '../../src/tuner/session.js';
import { openPolicy, sequentialCursor } from '../../src/tuner/study-cursor.js';
import { baselineTrial, opTrial } from '../../src/tuner/spaces/operators.js';
import type { Observation } from '../../src/tuner/types.js';

const TRIALS = [baselineTrial(), opTrial('mul', 'flagos'), opTrial('add', 'flagos')];

function ok(p: Proposal, total = 1000): Observation {
  return { trialKey: p.trial.key, kind: p.kind, outcome: 'ok', metrics: fromThroughput({ requestsPerSec: 1, totalTokensPerSec: total, outputTokensPerSec: null }), executedOps: null, durationMs: 1 };
}

function runs(cursor: StudyCursor, slots: number): Proposal[] {
  const p = cursor.propose(slots);
  assert.equal(p.type, 'runs');
  return p.type === 'runs' ? [...p.runs] : [];
}

/** Two slots, every pair answered in reverse order; returns what was proposed, in order. */
function driveTwoInFlight(cursor: StudyCursor): string[] {
  const seen: string[] = [];
  for (;;) {
    const p = cursor.propose(2);
    if (p.type !== 'runs') {
      assert.equal(p.type, 'done');
      return seen;
    }
    assert.ok(p.runs.length > 0, 'a sweep with nothing in flight always proposes');
    for (const r of p.runs) seen.push(`${r.step}:${r.trial.key}:${r.kind}`);
    for (const r of [...p.runs].reverse()) cursor.observe(r.step, ok(r));
  }
}

describe('StudyCursor', () => {
  it('a sweep keeps two runs of different trials in flight and takes their answers in any order', () => {
    const cursor = sweepCursor(TRIALS, 2);
    const first = runs(cursor, 2);
    assert.deepEqual(first.map((r) => [r.step, r.trial.key, r.kind]), [[0, 'baseline', 'warmup'], [1, 'op:mul:flagos', 'warmup']]);
    assert.deepEqual(runs(cursor, 0), [], 'no free slot, no proposal');
    cursor.observe(1, ok(first[1] as Proposal));
    const second = runs(cursor, 1);
    assert.deepEqual(second.map((r) => [r.step, r.trial.key, r.kind]), [[2, 'op:mul:flagos', 'measure']]);
    assert.throws(() => cursor.observe(1, ok(first[1] as Proposal)), /no run of op:mul:flagos in flight at step 1/);
    cursor.observe(0, ok(first[0] as Proposal));
    cursor.observe(2, ok(second[0] as Proposal));
    const rest = driveTwoInFlight(cursor);
    assert.equal(rest.length, 3);
  });

  it('given the same calls it proposes the same steps, so replay by step id is exact', () => {
    assert.deepEqual(driveTwoInFlight(sweepCursor(TRIALS, 2)), driveTwoInFlight(sweepCursor(TRIALS, 2)));
    assert.equal(driveTwoInFlight(sweepCursor(TRIALS, 2)).length, 6);
  });

  it('replays a sweep by step id and continues where the stored runs end', () => {
    const ctx: PolicyContext = { numRuns: 1, objective: objectiveFor('total'), minGain: 0, budget: null, seed: 1, discovery: { explicitOps: null, configOps: null }, trials: TRIALS };
    const live = openPolicy(sweepPolicy, ctx);
    const stored: StoredObservation[] = [];
    for (let i = 0; i < 2; i++) {
      const [r] = runs(live, 1);
      assert.ok(r !== undefined);
      stored.push({ ...ok(r), seq: i + 1, step: r.step, failure: null });
      live.observe(r.step, ok(r));
    }
    const replayed = replay(sweepPolicy, ctx, stored);
    assert.equal(replayed.next.type, 'runs');
    assert.deepEqual(replayed.next.type === 'runs' ? replayed.next.runs.map((r) => [r.step, r.trial.key]) : [], [[2, 'op:add:flagos']]);
    assert.throws(() => replay(sweepPolicy, ctx, [{ ...(stored[0] as StoredObservation), step: 5 }]), /does not match/);
  });

  it('a one-at-a-time policy runs through the adapter with step ids 0, 1, 2...', () => {
    const ctx: PolicyContext = { numRuns: 1, objective: objectiveFor('total'), minGain: 0, budget: null, seed: 1, discovery: { explicitOps: ['mul'], configOps: null } };
    const cursor = sequentialCursor(referencePolicy.start(ctx));
    const [a] = runs(cursor, 4);
    assert.equal(a?.step, 0);
    assert.deepEqual(runs(cursor, 4), [], 'never a second run in flight');
    assert.throws(() => cursor.observe(1, ok(a as Proposal)), /step 0 is in flight/);
    cursor.observe(0, ok(a as Proposal));
    assert.deepEqual(runs(cursor, 1).map((r) => [r.step, r.trial.key]), [[1, 'baseline_fake_gems_op']]);
  });
});
