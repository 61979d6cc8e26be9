/** What status shows: the trial count of the session's own policy plan, and anchors as anchors. */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { sessionView } from '../../src/cli/session-view.js';
import { openStore } from '../../src/store/db.js';
import { beginRun, finishRun } from '../../src/store/runs.js';
import { createSession, getSession, setSessionOps } from '../../src/store/sessions.js';
import { baselineTrial, opTrial } from '../../src/tuner/spaces/operators.js';
import type { PolicyName } from '../../src/tuner/types.js';
import { tempDir } from '../store/helpers.js';

const OK = { outcome: 'ok' as const, exitCode: 0, signal: null, metrics: { total_tokens_per_s: 100, output_tokens_per_s: 10, requests_per_s: 1 }, durationMs: 1000, failure: null, executedOps: null };

function sessionWith(policy: PolicyName, budget: number | null) {
  const dir = tempDir();
  const store = openStore(join(dir, 'autotune.db'));
  const { id } = createSession(store, { runDir: join(dir, 'run'), policy, args: [], options: { numRuns: 1, budget }, env: {} });
  // 10 operators x flagos: the reference plan is 3 + 10 + 1 trials.
  setSessionOps(store, id, Object.fromEntries(Array.from({ length: 10 }, (_, i) => [`op${i}`, ['flagos']])));
  const files = (seq: number) => ({ logPath: `${seq}.log`, configPath: `${seq}.yaml` });
  let step = 0;
  const run = (trial: ReturnType<typeof baselineTrial>, finish: boolean): void => {
    const begun = beginRun(store, id, { trial, kind: 'measure', warmupIndex: null, step, slot: 0, files });
    if (finish) {
      finishRun(store, begun.runId, OK);
      step += 1;
    }
  };
  return { store, id, run };
}

describe('sessionView', () => {
  it('shows a baseline run after other trials as an anchor, not round 1a', () => {
    const { store, id, run } = sessionWith('noise-aware', null);
    run(baselineTrial(), false);
    const session = () => getSession(store, id) ?? assert.fail('no session');
    assert.equal(sessionView(store, session(), Date.now()).round, '1a', 'the first baseline run is round 1a');
    store.db.prepare(`UPDATE runs SET outcome = 'interrupted'`).run();
    run(baselineTrial(), true);
    run(opTrial('op0', 'flagos', null), true);
    run(baselineTrial(), false);
    assert.equal(sessionView(store, session(), Date.now()).round, 'anchor');
    store.close();
  });

  it('counts trials against the session\'s own policy plan', () => {
    const reference = sessionWith('reference', null);
    assert.equal(sessionView(reference.store, getSession(reference.store, reference.id) ?? assert.fail(), Date.now()).trial.planned, 14);
    const small = sessionWith('noise-aware', 8);
    const view = sessionView(small.store, getSession(small.store, small.id) ?? assert.fail(), Date.now());
    assert.equal(view.runs.planned, 8);
    assert.equal(view.trial.planned, 6, 'a budget of 8 runs cannot reach 14 trials');
    reference.store.close();
    small.store.close();
  });

  it('plans at least the GPU time already spent once the budget is used up, whatever the rounding', () => {
    const { store, id, run } = sessionWith('noise-aware', 3);
    for (let i = 0; i < 3; i++) run(baselineTrial(), true);
    // 3 * (1000.4 / 3) is one ulp below 1000.4.
    store.db.prepare('UPDATE runs SET duration_ms = CASE seq WHEN 1 THEN 1000.4 ELSE 0 END').run();
    const view = sessionView(store, getSession(store, id) ?? assert.fail(), Date.now());
    assert.ok(view.gpuHours.planned !== null && view.gpuHours.planned >= view.gpuHours.spent, JSON.stringify(view.gpuHours));
    store.close();
  });
});
