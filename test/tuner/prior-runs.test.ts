import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { PriorRuns, type PriorRun } from '../../src/tuner/prior-runs.js';

let nextId = 1;
function run(trialKey: string, kind: PriorRun['kind'], outcome: PriorRun['outcome'] = 'ok'): PriorRun {
  return { runId: nextId++, trialKey, kind, outcome, metrics: outcome === 'ok' ? { output_tokens_per_s: 100 } : null, executedOps: null, durationMs: 1000, failure: outcome === 'ok' ? null : outcome };
}

describe('PriorRuns', () => {
  it('answers the n-th run of a trial with its n-th stored run of the same kind', () => {
    const runs = [run('a', 'warmup'), run('b', 'warmup'), run('a', 'measure'), run('a', 'measure')];
    const prior = new PriorRuns(runs, []);
    assert.equal(prior.take('a', 'warmup', 0)?.runId, runs[0]?.runId);
    assert.equal(prior.take('a', 'measure', 1)?.runId, runs[2]?.runId);
    assert.equal(prior.take('a', 'measure', 2)?.runId, runs[3]?.runId);
    assert.equal(prior.take('a', 'measure', 3), null, 'past the stored runs: it runs');
    assert.equal(prior.take('b', 'measure', 0), null, 'another kind: it runs');
    assert.equal(prior.size, 4);
  });

  it('leaves out a failure of a retried class and every later run of its trial; other failures are reused', () => {
    const runs = [run('a', 'warmup'), run('a', 'measure', 'timeout'), run('a', 'measure'), run('b', 'warmup', 'oom'), run('c', 'warmup', 'timeout')];
    const prior = new PriorRuns(runs, ['timeout']);
    assert.equal(prior.take('a', 'warmup', 0)?.runId, runs[0]?.runId, 'the runs before the failure stand');
    assert.equal(prior.take('a', 'measure', 1), null, 'the timed-out run runs again');
    assert.equal(prior.take('a', 'measure', 2), null, 'and so does what came after it');
    assert.equal(prior.take('b', 'warmup', 0)?.outcome, 'oom', 'a class not retried stays failed');
    assert.equal(prior.take('c', 'warmup', 0), null);
    assert.equal(prior.size, 2);
  });
});
