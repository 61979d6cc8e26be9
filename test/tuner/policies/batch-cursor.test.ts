/** batchCursorOf: a batch's runs handed out one per lane, in order, and the policy resumed with all of them. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { batchCursorOf, type BatchGenerator, type BatchRun } from '../../../src/tuner/policies/batch-cursor.js';
import type { Proposal } from '../../../src/tuner/policy.js';
import { opTrial } from '../../../src/tuner/spaces/operators.js';
import type { Observation } from '../../../src/tuner/types.js';

const run = (op: string, kind: BatchRun['kind'], slot?: number): BatchRun => ({ trial: opTrial(op, 'flagos'), kind, warmupIndex: kind === 'warmup' ? 1 : null, ...(slot === undefined ? {} : { slot }) });
const obs = (p: Proposal): Observation => ({ trialKey: p.trial.key, kind: p.kind, outcome: 'ok', metrics: null, executedOps: null, durationMs: 1 });
const names = (runs: readonly Proposal[]): string[] => runs.map((r) => `${r.step}:${r.trial.op}:${r.kind}${r.slot === undefined ? '' : `@${r.slot}`}`);

/** Two batches; records what each resumed with. */
function policy(received: string[][]): BatchGenerator {
  return (function* (): BatchGenerator {
    const first = yield { type: 'batch', runs: [run('a', 'warmup'), run('a', 'measure'), run('b', 'warmup'), run('b', 'measure'), run('c', 'measure')], events: [{ type: 'note', level: 'info', message: 'first' }] };
    received.push(first.map((o) => `${o.trialKey}:${o.kind}`));
    const second = yield { type: 'batch', runs: [run('d', 'measure', 1), run('e', 'measure', 1), run('f', 'measure', 0)], events: [] };
    received.push(second.map((o) => `${o.trialKey}:${o.kind}`));
    return { type: 'done', result: { opBackends: {}, attention: null, validated: false, speedup: null, low: null, high: null, summary: [] }, events: [] };
  })();
}

describe('batchCursorOf', () => {
  it('with one slot hands runs out one at a time in batch order', () => {
    const received: string[][] = [];
    const cursor = batchCursorOf(policy(received));
    const order: string[] = [];
    for (let p = cursor.propose(1); p.type === 'runs'; p = cursor.propose(1)) {
      const r = p.runs[0];
      assert.ok(r !== undefined && p.runs.length === 1);
      assert.deepEqual(cursor.propose(0), { type: 'runs', runs: [] }, 'nothing more while one is out');
      order.push(...names([r]));
      cursor.observe(r.step, obs(r));
    }
    assert.deepEqual(order, ['0:a:warmup', '1:a:measure', '2:b:warmup', '3:b:measure', '4:c:measure', '5:d:measure@1', '6:e:measure@1', '7:f:measure@0']);
    assert.deepEqual(received[0], ['op:a:flagos:warmup', 'op:a:flagos:measure', 'op:b:flagos:warmup', 'op:b:flagos:measure', 'op:c:flagos:measure']);
  });

  it("keeps one run per lane in flight: a trial's warm-up before its measured run, a slot's runs in order", () => {
    const received: string[][] = [];
    const cursor = batchCursorOf(policy(received));
    const p = cursor.propose(4);
    assert.ok(p.type === 'runs');
    assert.deepEqual(names(p.runs), ['0:a:warmup', '1:b:warmup', '2:c:measure']);
    assert.equal(p.runs[0]?.events.length, 1, "the batch's events ride on its first run");
    assert.equal(p.runs[1]?.events.length, 0);
    // Answers in any order; the policy resumes only once the whole batch is answered, in batch order.
    const [a, b, c] = p.runs as [Proposal, Proposal, Proposal];
    cursor.observe(c.step, obs(c));
    cursor.observe(b.step, obs(b));
    const next = cursor.propose(4);
    assert.ok(next.type === 'runs');
    assert.deepEqual(names(next.runs), ['3:b:measure'], "a's measured run waits for its warm-up");
    cursor.observe(a.step, obs(a));
    const last = cursor.propose(4);
    assert.ok(last.type === 'runs');
    assert.deepEqual(names(last.runs), ['4:a:measure']);
    cursor.observe(4, obs(last.runs[0] as Proposal));
    assert.equal(received.length, 0, 'b is still out');
    cursor.observe(3, obs(next.runs[0] as Proposal));
    assert.deepEqual(received[0], ['op:a:flagos:warmup', 'op:a:flagos:measure', 'op:b:flagos:warmup', 'op:b:flagos:measure', 'op:c:flagos:measure']);
    const slots = cursor.propose(4);
    assert.ok(slots.type === 'runs');
    assert.deepEqual(names(slots.runs), ['5:d:measure@1', '6:f:measure@0'], "e waits behind d on slot 1, f's slot is free");
  });

  it('refuses an observation for a step that is not in flight', () => {
    const cursor = batchCursorOf(policy([]));
    cursor.propose(1);
    assert.throws(() => cursor.observe(5, { trialKey: 'op:a:flagos', kind: 'warmup', outcome: 'ok', metrics: null, executedOps: null, durationMs: 1 }), /not in flight/);
  });
});
