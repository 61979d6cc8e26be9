import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { noiseAwarePolicy } from '../../../src/tuner/policies/noise-aware.js';
import { candidatesOf, defaultBudget, referenceInvocations } from '../../../src/tuner/policies/noise/schedule.js';
import { platformDispatchOps } from '../../../src/tuner/plugin-ops.js';
import type { Decision, OpsDiscovered, PolicyEvent, Step } from '../../../src/tuner/policy.js';
import type { Observation } from '../../../src/tuner/types.js';
import { seededRandom } from '../../../src/tuner/policies/noise/schedule.js';
import { context, drive, observe, type Drive } from './fake-world.js';

const executedOps = ['mul', 'add', 'mm', 'silu', 'exp'];
const ctx = context({ seed: 3 });

function allEvents(d: Drive): PolicyEvent[] {
  return [...d.runs.flatMap((r) => r.events), ...d.end.events];
}

function decisions(d: Drive): Decision[] {
  return allEvents(d).filter((e): e is Decision => e.type === 'decision');
}

/** The operator table the session discovered (its ops event). */
function discovered(d: Drive): OpsDiscovered['final'] {
  const ops = allEvents(d).filter((e): e is OpsDiscovered => e.type === 'ops');
  assert.equal(ops.length, 1);
  return ops[0]?.final ?? {};
}

/** What discovery proposes without --ops or a config: the plugin's dispatch ops plus round 1c's oplist. */
function expectedTable(executed: readonly string[]): Record<string, readonly string[]> {
  return { ...platformDispatchOps(), ...Object.fromEntries(executed.map((op) => [op, ['flagos']])) };
}

function result(d: Drive) {
  assert.equal(d.end.type, 'done');
  if (d.end.type !== 'done') throw new Error('unreachable');
  return d.end.result;
}

describe('noise-aware policy', () => {
  it('keeps a clear winner and validates it as combined_best', () => {
    const d = drive(noiseAwarePolicy, ctx, { executedOps, effects: { 'mul=flagos': 0.03 } });
    const r = result(d);
    assert.equal(r.opBackends['mul'], 'flagos');
    assert.equal(r.validated, true);
    assert.ok(r.speedup !== null && r.low !== null && r.low > 0 && Math.abs(r.speedup - 0.03) < 0.01);
    assert.ok(d.runs.some((s) => s.trial.prefix === 'combined_best' && s.kind === 'measure' && s.trial.opBackends['mul'] === 'flagos'));
    assert.ok(r.summary.some((l) => /Validated speed-up: \+\d\.\d\d% \(95% interval/.test(l)));
  });

  it('drops a big loser after its warm-up and one measured run', () => {
    const d = drive(noiseAwarePolicy, ctx, { executedOps, effects: { 'mm=flagos': -0.13 } });
    const mm = decisions(d).filter((x) => x.subject === 'op:mm:flagos');
    assert.equal(mm.length, 1);
    assert.equal(mm[0]?.verdict, 'dropped');
    assert.equal(mm[0]?.runs, 2);
    assert.ok((mm[0]?.high ?? 0) < -0.1, JSON.stringify(mm[0]));
    assert.deepEqual(
      d.runs.filter((s) => s.trial.key === 'op:mm:flagos' && s.kind === 'measure').length,
      1,
    );
  });

  it('fails a crashing candidate after one run', () => {
    const d = drive(noiseAwarePolicy, ctx, { executedOps, failing: { 'op:add:flagos': 'oom' } });
    assert.equal(d.runs.filter((s) => s.trial.key === 'op:add:flagos').length, 1);
    assert.equal(decisions(d).find((x) => x.subject === 'op:add:flagos')?.verdict, 'failed');
  });

  it('never returns interfering winners together', () => {
    const world = {
      executedOps,
      effects: { 'mul=flagos': 0.02, 'silu=flagos': 0.025 },
      interactions: [{ members: ['mul=flagos', 'silu=flagos'], effect: -0.06 }],
    };
    for (const seed of [1, 2, 3, 4, 5]) {
      const r = result(drive(noiseAwarePolicy, { ...ctx, seed }, { ...world, seed }));
      assert.ok(Object.keys(r.opBackends).length <= 1, JSON.stringify(r.opBackends));
      if (Object.keys(r.opBackends).length === 1) assert.equal(r.validated, true);
    }
  });

  it('returns the baseline with a reason when nothing helps', () => {
    // Neutral operators: whichever of them looks faster by chance is not confirmed when measured again.
    const r = result(drive(noiseAwarePolicy, ctx, { executedOps, effects: { 'mm=flagos': -0.05 } }));
    assert.deepEqual(r.opBackends, {});
    assert.equal(r.validated, false);
    assert.equal(r.speedup, null);
    assert.ok(r.summary.some((l) => /No set validated \(.{20,}\): best_config keeps the baseline/.test(l)), r.summary.join('\n'));
    // Every candidate clearly slower (the dispatch ops' vendor backend included): none even makes the candidate set.
    const slower = Object.fromEntries([...executedOps.map((op) => `${op}=flagos`), ...Object.keys(platformDispatchOps()).map((op) => `${op}=vendor`)].map((k) => [k, -0.02]));
    const s = result(drive(noiseAwarePolicy, ctx, { executedOps, effects: { ...slower, 'mm=flagos': -0.05 } }));
    assert.deepEqual(s.opBackends, {});
    assert.equal(s.validated, false);
    assert.ok(s.summary.some((l) => /No set validated \(no operator measured faster than the baseline\)/.test(l)), s.summary.join('\n'));
  });

  it('stays within a given budget and within 1.5x the reference by default', () => {
    const noisy = { executedOps, sigma: 0.01, effects: { 'mul=flagos': 0.006, 'exp=flagos': 0.004 } };
    const tight = drive(noiseAwarePolicy, { ...ctx, budget: 20 }, noisy);
    assert.ok(tight.runs.length <= 20, `${tight.runs.length}`);
    const free = drive(noiseAwarePolicy, ctx, noisy);
    const table = discovered(free);
    assert.deepEqual(table, expectedTable(executedOps));
    assert.ok(free.runs.length <= defaultBudget(2, table), `${free.runs.length} > ${defaultBudget(2, table)}`);
    assert.equal(defaultBudget(2, table), Math.floor(1.5 * referenceInvocations(2, table)));
  });

  it('explains every candidate with exactly one decision', () => {
    const d = drive(noiseAwarePolicy, ctx, { executedOps, sigma: 0.008, effects: { 'mul=flagos': 0.01, 'mm=flagos': -0.13 } });
    const perCandidate = decisions(d).filter((x) => x.op !== null);
    const table = discovered(d);
    assert.deepEqual(table, expectedTable(executedOps));
    // Every operator/backend candidate, the dispatch ops' three backends (reference once per attention backend) included.
    const subjects = candidatesOf(table).map((c) => c.trial.key);
    assert.equal(subjects.length, executedOps.length + 4 * 4);
    assert.deepEqual(perCandidate.map((x) => x.subject).sort(), subjects.sort());
    for (const x of perCandidate) {
      assert.ok(x.reason.length > 20, x.reason);
      assert.ok(x.verdict === 'failed' || (x.estimate !== null && x.low !== null && x.high !== null && x.low <= x.estimate && x.estimate <= x.high));
      assert.ok(x.runs >= 1);
    }
  });

  it('keeps many small gains that no single run could confirm', () => {
    const small = ['mul', 'add', 'silu', 'exp', 'sub', 'cos', 'sin', 'gather'];
    const effects = Object.fromEntries(small.map((op) => [`${op}=flagos`, 0.004]));
    const r = result(drive(noiseAwarePolicy, ctx, { executedOps: [...small, 'mm'], effects: { ...effects, 'mm=flagos': -0.13 } }));
    assert.equal(r.validated, true);
    assert.ok(small.filter((op) => r.opBackends[op] === 'flagos').length >= 6, JSON.stringify(r.opBackends));
    assert.equal(r.opBackends['mm'], undefined);
    // The dispatch ops discovery adds are neutral on vendor and slower elsewhere: none of the slower ones is kept.
    for (const op of Object.keys(platformDispatchOps())) assert.ok([undefined, 'vendor'].includes(r.opBackends[op]), JSON.stringify(r.opBackends));
  });

  it('replays the same steps from the same observations', () => {
    const world = { executedOps, sigma: 0.006, effects: { 'mul=flagos': 0.01, 'mm=flagos': -0.13 } };
    const random = seededRandom(11);
    const first = noiseAwarePolicy.start(ctx);
    const steps: Step[] = [];
    const observations: Observation[] = [];
    for (let step = first.next(); ; ) {
      steps.push(step);
      if (step.type !== 'run') break;
      const o = observe(world, step, observations.length, random);
      observations.push(o);
      step = first.next(o);
    }
    const replay = noiseAwarePolicy.start(ctx);
    assert.deepEqual(replay.next(), steps[0]);
    observations.forEach((o, i) => assert.deepEqual(replay.next(o), steps[i + 1]));
  });

  it('fails with E_NO_OPS when discovery finds nothing', () => {
    const d = drive(noiseAwarePolicy, ctx, { executedOps: [] });
    assert.equal(d.end.type, 'fail');
    assert.equal(d.end.type === 'fail' && d.end.code, 'E_NO_OPS');
  });
});
