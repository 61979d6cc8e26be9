/**
 * Tuning policies on several slots: the reference runs operators in parallel, each judged
 * against its own slot's baseline; the noise-aware and screening policies screen and validate
 * on every slot, their models fitting each slot's level from that slot's anchors.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { fromThroughput } from '../../../src/tuner/metrics.js';
import { objectiveFor } from '../../../src/tuner/objective.js';
import { noiseAwarePolicy } from '../../../src/tuner/policies/noise-aware.js';
import { referencePolicy } from '../../../src/tuner/policies/reference.js';
import { seededRandom } from '../../../src/tuner/policies/noise/schedule.js';
import { screeningPolicy } from '../../../src/tuner/policies/screening.js';
import type { Decision, Policy, PolicyContext } from '../../../src/tuner/policy.js';
import type { RunRequest, RunResult, Runner } from '../../../src/tuner/ports.js';
import { runSession, type EngineOutcome } from '../../../src/tuner/session.js';
import { MemoryJournal } from '../../support/memory-journal.js';
import { sessionOptions } from '../../support/session-options.js';

/** Effects far above the runner's noise (none): every sound comparison reaches the same verdict. */
const EFFECTS: Readonly<Record<string, number>> = { mul: 0.02, silu: -0.03, exp: 0.015, mm: -0.13, add: 0.01, sub: -0.02, cos: 0.012, sin: -0.011 };
const OPS = Object.keys(EFFECTS);
const CTX: PolicyContext = { numRuns: 2, objective: objectiveFor('total'), minGain: 0, budget: null, seed: 1, discovery: { explicitOps: OPS, configOps: null } };

/** Throughput from the trial's operators times its slot's speed; delays of its own choosing, so runs end out of order. */
class SlotWorld implements Runner {
  readonly name = 'slot-world';
  readonly slotsOfTrial = new Map<string, Set<number>>();
  inFlight = 0;
  peak = 0;
  calls = 0;
  constructor(private readonly speeds: readonly number[]) {}
  reap(): boolean {
    return false;
  }
  async run(req: RunRequest): Promise<RunResult> {
    const slot = req.slot ?? 0;
    this.calls += 1;
    const seen = this.slotsOfTrial.get(req.trial.key) ?? new Set<number>();
    seen.add(slot);
    this.slotsOfTrial.set(req.trial.key, seen);
    this.inFlight += 1;
    this.peak = Math.max(this.peak, this.inFlight);
    let onAbort = (): void => {};
    const aborted = new Promise<void>((resolve) => {
      onAbort = resolve;
      req.signal?.addEventListener('abort', onAbort, { once: true });
    });
    await Promise.race([sleep((this.calls * 7) % 5), aborted]);
    req.signal?.removeEventListener('abort', onAbort);
    this.inFlight -= 1;
    if (req.signal?.aborted === true) return { outcome: 'interrupted', exitCode: null, signal: 'SIGTERM', metrics: null, durationMs: 1, failure: 'stopped', executedOps: null };
    let factor = this.speeds[slot] ?? 1;
    for (const op of Object.keys(req.trial.opBackends)) factor *= 1 + (EFFECTS[op] ?? 0);
    if (req.trial.recordOplist) factor *= 0.9;
    return {
      outcome: 'ok',
      exitCode: 0,
      signal: null,
      metrics: fromThroughput({ requestsPerSec: 1, totalTokensPerSec: 10_000 * factor, outputTokensPerSec: null }),
      durationMs: 1,
      failure: null,
      executedOps: req.trial.recordOplist ? OPS : null,
    };
  }
}

/** The runs (trial and kind) a policy's one-run-at-a-time cursor asks for, in order, on one slot. */
async function sequentialSteps(policy: Policy, context: PolicyContext): Promise<string[]> {
  const cursor = policy.start(context);
  const keys: string[] = [];
  const world = new SlotWorld([1]);
  for (let step = cursor.next(); step.type === 'run'; ) {
    keys.push(`${step.trial.key} ${step.kind}`);
    const r = await world.run({ trial: step.trial, passthrough: [], vllmBin: 'vllm', baseEnv: {}, logPath: '', configPath: '', oplistPath: '', outputJsonPath: null, runKey: 'k', timeoutMs: 1 });
    step = cursor.next({ trialKey: step.trial.key, kind: step.kind, outcome: r.outcome === 'interrupted' ? 'ok' : r.outcome, metrics: r.metrics, executedOps: r.executedOps, durationMs: 1 });
  }
  return keys;
}

function engine(journal: MemoryJournal, runner: Runner, slots: number, signal = new AbortController().signal, policy: Policy = referencePolicy): Promise<EngineOutcome> {
  return runSession(sessionOptions({ policy, context: CTX, runner, journal, slots, signal }));
}

const verdicts = (journal: MemoryJournal): Record<string, string> =>
  Object.fromEntries(journal.events.filter((e): e is Decision => e.type === 'decision').map((d) => [d.subject, d.verdict]));

describe('reference policy on several slots', () => {
  it('runs operators side by side and decides as one slot does, though one slot is 10% slower', async () => {
    const one = new MemoryJournal();
    const oneOutcome = await engine(one, new SlotWorld([1]), 1);
    const many = new MemoryJournal();
    const world = new SlotWorld([1, 1, 0.9]);
    const manyOutcome = await engine(many, world, 3);
    assert.equal(oneOutcome.state, 'completed');
    assert.equal(manyOutcome.state, 'completed');
    assert.deepEqual(verdicts(many), verdicts(one));
    for (const op of OPS) assert.ok(op in verdicts(one), `${op} decided`);
    assert.deepEqual(manyOutcome.state === 'completed' ? manyOutcome.result.opBackends : null, { mul: 'flagos', exp: 'flagos', add: 'flagos', cos: 'flagos' });
    assert.equal(world.peak, 3, 'three runs in flight at once');
    // Every slot measured the baseline itself; each configuration stayed on one slot.
    assert.deepEqual([...(world.slotsOfTrial.get('baseline') ?? [])], [0]);
    assert.deepEqual([...(world.slotsOfTrial.get('baseline#slot1') ?? [])], [1]);
    assert.deepEqual([...(world.slotsOfTrial.get('baseline#slot2') ?? [])], [2]);
    for (const [key, slots] of world.slotsOfTrial) assert.equal(slots.size, 1, `${key} ran on one slot`);
    const onSlow = [...world.slotsOfTrial].filter(([key, slots]) => key.startsWith('op:') && slots.has(2)).map(([key]) => key);
    assert.ok(onSlow.length > 0, 'the slow slot measured operators');
    const summary = manyOutcome.state === 'completed' ? manyOutcome.result.summary.join('\n') : '';
    assert.match(summary, /^Baseline per slot .*slot 2 9000\.00 total tokens\/s \(x0\.9000\)$/m);
  });

  it('with one slot takes exactly the one-run-at-a-time steps (runs, order, step ids)', async () => {
    const viaOpen = new MemoryJournal();
    await engine(viaOpen, new SlotWorld([1]), 1);
    const keys = await sequentialSteps(referencePolicy, CTX);
    assert.deepEqual(viaOpen.rows.map((r) => `${r.trial.key} ${r.kind}`), keys);
    assert.deepEqual(viaOpen.rows.map((r) => r.step), keys.map((_, i) => i));
  });

  it('resumes after a stop with runs in flight and ends as an uninterrupted session does', async () => {
    const whole = new MemoryJournal();
    const wholeOutcome = await engine(whole, new SlotWorld([1, 0.95, 1]), 3);
    const journal = new MemoryJournal();
    const stop = new AbortController();
    const world = new SlotWorld([1, 0.95, 1]);
    const first = engine(journal, world, 3, stop.signal);
    while (journal.rows.filter((r) => r.result !== null).length < 9) await sleep(1);
    stop.abort();
    assert.equal((await first).state, 'stopped');
    const resumed = await engine(journal, new SlotWorld([1, 0.95, 1]), 3);
    assert.deepEqual(resumed, wholeOutcome);
    assert.deepEqual(verdicts(journal), verdicts(whole));
  });
});

describe('noise-aware policy on several slots', () => {
  const tuned = async (speeds: readonly number[]): Promise<{ outcome: EngineOutcome; world: SlotWorld; journal: MemoryJournal }> => {
    const journal = new MemoryJournal();
    const world = new SlotWorld(speeds);
    const outcome = await engine(journal, world, speeds.length, new AbortController().signal, noiseAwarePolicy);
    return { outcome, world, journal };
  };

  it('screens and validates on every slot and finds the set one slot finds, though one slot is 10% slower', async () => {
    const one = await tuned([1]);
    const many = await tuned([1, 1, 0.9]);
    assert.equal(one.outcome.state, 'completed');
    assert.equal(many.outcome.state, 'completed');
    const chosen = (o: EngineOutcome): unknown => (o.state === 'completed' ? o.result.opBackends : null);
    assert.deepEqual(chosen(many.outcome), chosen(one.outcome));
    assert.deepEqual(Object.keys(chosen(one.outcome) as object).sort(), ['add', 'cos', 'exp', 'mul']);
    assert.equal(many.world.peak, 3, 'three runs in flight at once');
    // Each slot anchors itself; the model's level for slot 2 is the 10% it lost.
    for (const key of ['baseline', 'baseline#slot1', 'baseline#slot2']) assert.ok(many.world.slotsOfTrial.has(key), key);
    const summary = many.outcome.state === 'completed' ? many.outcome.result.summary.join('\n') : '';
    assert.match(summary, /^Slot levels vs slot 0 .*: slot 1 x1\.000\d, slot 2 x0\.900\d$/m);
    // Candidates went to every slot (a candidate may run on another slot later: the model knows each slot's level).
    const used = new Set([...many.world.slotsOfTrial].filter(([key]) => key.startsWith('op:')).flatMap(([, slots]) => [...slots]));
    assert.deepEqual([...used].sort(), [0, 1, 2]);
  });

  it('resumes after a stop with runs in flight and ends as an uninterrupted session does', async () => {
    const whole = await tuned([1, 0.95, 1]);
    const journal = new MemoryJournal();
    const stop = new AbortController();
    const first = engine(journal, new SlotWorld([1, 0.95, 1]), 3, stop.signal, noiseAwarePolicy);
    while (journal.rows.filter((r) => r.result !== null).length < 12) await sleep(1);
    stop.abort();
    assert.equal((await first).state, 'stopped');
    const resumed = await engine(journal, new SlotWorld([1, 0.95, 1]), 3, new AbortController().signal, noiseAwarePolicy);
    assert.deepEqual(resumed, whole.outcome);
  });
});

describe('screening policy on several slots', () => {
  // A budget that gives every slot its share of the design runs.
  const context: PolicyContext = { ...CTX, budget: 60 };
  const tuned = async (speeds: readonly number[], journal = new MemoryJournal(), signal = new AbortController().signal): Promise<{ outcome: EngineOutcome; world: SlotWorld; journal: MemoryJournal }> => {
    const world = new SlotWorld(speeds);
    const outcome = await runSession(sessionOptions({ policy: screeningPolicy, context, runner: world, journal, slots: speeds.length, signal }));
    return { outcome, world, journal };
  };
  const chosen = (o: EngineOutcome): unknown => (o.state === 'completed' ? o.result.opBackends : null);

  it('runs its design on every slot and finds the set one slot finds, though one slot is 10% slower', async () => {
    const one = await tuned([1]);
    const many = await tuned([1, 1, 0.9]);
    assert.equal(one.outcome.state, 'completed');
    assert.equal(many.outcome.state, 'completed');
    assert.deepEqual(Object.keys(chosen(one.outcome) as object).sort(), ['add', 'cos', 'exp', 'mul']);
    assert.deepEqual(chosen(many.outcome), chosen(one.outcome));
    assert.equal(many.world.peak, 3, 'three runs in flight at once');
    for (const key of ['baseline', 'baseline#slot1', 'baseline#slot2']) assert.ok(many.world.slotsOfTrial.has(key), key);
    // Design runs went to every slot; the model's level for slot 2 is the 10% it lost.
    const used = new Set([...many.world.slotsOfTrial].filter(([key]) => key.startsWith('combined:')).flatMap(([, slots]) => [...slots]));
    assert.deepEqual([...used].sort(), [0, 1, 2]);
    const summary = many.outcome.state === 'completed' ? many.outcome.result.summary.join('\n') : '';
    assert.match(summary, /^Slot levels vs slot 0 .*: slot 1 x(0\.99|1\.00)\d\d, slot 2 x0\.(89|90)\d\d$/m);
    assert.match(summary, /^Validated set: /m);
  });

  it('keeps every slot busy: 1c and anchors beside 1a, owed anchors in the next round, two rounds to a batch, a pair per slot', () => {
    // Every run takes one unit of time: the session's length is its number of scheduling steps.
    // Noise of 1.5% a run (seeded): without any, every call settles in a few runs and the
    // session is too short for its schedule to show.
    const makespan = (slots: number): { time: number; runs: number } => {
      const cursor = screeningPolicy.open?.({ ...CTX, budget: 120, slots });
      assert.ok(cursor !== undefined);
      const random = seededRandom(7);
      const noise = (): number => 0.015 * Math.sqrt(-2 * Math.log(random() + 1e-12)) * Math.cos(2 * Math.PI * random());
      let time = 0;
      let runs = 0;
      for (;;) {
        const p = cursor.propose(slots);
        if (p.type !== 'runs') return { time, runs };
        assert.ok(p.runs.length > 0, 'a step with nothing in flight proposes a run');
        time += 1;
        runs += p.runs.length;
        for (const r of p.runs) {
          let factor = Math.exp(noise());
          for (const op of Object.keys(r.trial.opBackends)) factor *= 1 + (EFFECTS[op] ?? 0);
          const metrics = fromThroughput({ requestsPerSec: 1, totalTokensPerSec: 10_000 * factor * (r.trial.recordOplist ? 0.9 : 1), outputTokensPerSec: null });
          cursor.observe(r.step, { trialKey: r.trial.key, kind: r.kind, outcome: 'ok', metrics, executedOps: r.trial.recordOplist ? OPS : null, durationMs: 1 });
        }
      }
    };
    const one = makespan(1);
    const four = makespan(4);
    assert.equal(one.time, one.runs);
    // Round 1a's three runs on slot 0 have 1c, 1b and an anchor beside them on slot 1 and
    // anchors on the others; from then on all four slots are busy in every step but one.
    assert.ok(four.time <= Math.ceil(four.runs / 4) + 1, `${four.runs} runs on 4 slots took ${four.time} steps`);
    // Every other slot pays anchors of its own, so four slots end in under a third of the time, not a quarter.
    assert.ok(four.time <= one.time / 3, `${four.time} steps on 4 slots, ${one.time} on one`);
  });

  it('with one slot takes exactly the one-run-at-a-time steps (runs, order, step ids)', async () => {
    const viaOpen = await tuned([1]);
    const keys = await sequentialSteps(screeningPolicy, context);
    assert.deepEqual(viaOpen.journal.rows.map((r) => `${r.trial.key} ${r.kind}`), keys);
    assert.deepEqual(viaOpen.journal.rows.map((r) => r.step), keys.map((_, i) => i));
  });

  it('resumes after a stop with runs in flight and ends as an uninterrupted session does', async () => {
    const whole = await tuned([1, 0.95, 1]);
    const journal = new MemoryJournal();
    const stop = new AbortController();
    const first = tuned([1, 0.95, 1], journal, stop.signal);
    while (journal.rows.filter((r) => r.result !== null).length < 20) await sleep(1);
    stop.abort();
    assert.equal((await first).outcome.state, 'stopped');
    const resumed = await tuned([1, 0.95, 1], journal);
    assert.deepEqual(resumed.outcome, whole.outcome);
  });
});
