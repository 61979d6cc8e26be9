/** The engine with several slots: order independent of completion, stop/resume in flight, slot retirement. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { fromThroughput } from '../../src/tuner/metrics.js';
import { objectiveFor } from '../../src/tuner/objective.js';
import { sweepPolicy } from '../../src/tuner/policies/sweep.js';
import type { PolicyContext } from '../../src/tuner/policy.js';
import type { RunRequest, RunResult, Runner, SessionJournal } from '../../src/tuner/ports.js';
import { runSession, type EngineEvent, type EngineOutcome } from '../../src/tuner/session.js';
import { comparisonGroup } from '../../src/tuner/slot-plan.js';
import { DEFAULT_ENGINE, DEFAULT_OPERATOR_SET, gridTrials } from '../../src/tuner/spaces/grid.js';
import { MemoryJournal } from '../support/memory-journal.js';
import { sessionOptions } from '../support/session-options.js';

const TRIALS = gridTrials({
  benchmark: 'latency',
  points: Array.from({ length: 6 }, (_, i) => ({ key: `p${i}`, workload: { batch_size: i + 1 } })),
  operatorSets: [DEFAULT_OPERATOR_SET, { name: 'gems', env: { USE_FLAGGEMS: '1' }, config: {} }],
  engines: [DEFAULT_ENGINE],
});
const CTX: PolicyContext = { numRuns: 2, objective: objectiveFor('total'), minGain: 0, budget: null, seed: 1, discovery: { explicitOps: null, configOps: null }, trials: TRIALS };

/**
 * Answers after a delay of its own choosing (so runs end out of order), with throughput keyed
 * on the run key alone; records each run's slot and the most runs a slot ever had at once.
 */
class TimedRunner implements Runner {
  readonly name = 'timed';
  readonly slotOf = new Map<string, number>();
  readonly busy = new Map<number, number>();
  peakPerSlot = 0;
  inFlight = 0;
  peak = 0;
  calls = 0;
  constructor(
    private readonly delayMs: (call: number) => number,
    private readonly outcome: (req: RunRequest) => RunResult['outcome'] = () => 'ok',
  ) {}
  reap(): boolean {
    return false;
  }
  async run(req: RunRequest): Promise<RunResult> {
    const slot = req.slot ?? 0;
    this.calls += 1;
    this.slotOf.set(req.runKey, slot);
    this.busy.set(slot, (this.busy.get(slot) ?? 0) + 1);
    this.peakPerSlot = Math.max(this.peakPerSlot, this.busy.get(slot) ?? 0);
    this.inFlight += 1;
    this.peak = Math.max(this.peak, this.inFlight);
    const aborted = new Promise<void>((resolve) => req.signal?.addEventListener('abort', () => resolve(), { once: true }));
    await Promise.race([sleep(this.delayMs(this.calls)), aborted]);
    this.inFlight -= 1;
    this.busy.set(slot, (this.busy.get(slot) ?? 1) - 1);
    if (req.signal?.aborted === true) return { outcome: 'interrupted', exitCode: null, signal: 'SIGTERM', metrics: null, durationMs: 1, failure: 'stopped', executedOps: null };
    const outcome = this.outcome(req);
    const total = 1000 + (req.runKey.length % 17);
    return {
      outcome,
      exitCode: outcome === 'ok' ? 0 : 1,
      signal: null,
      metrics: outcome === 'ok' ? fromThroughput({ requestsPerSec: 1, totalTokensPerSec: total, outputTokensPerSec: null }) : null,
      durationMs: 1,
      failure: outcome === 'ok' ? null : `run ended with ${outcome}`,
      executedOps: null,
    };
  }
}

function engine(journal: SessionJournal, runner: Runner, slots: number, signal = new AbortController().signal, events: EngineEvent[] = []): Promise<EngineOutcome> {
  return runSession(sessionOptions({ policy: sweepPolicy, context: CTX, runner, journal, slots, signal, report: (e) => events.push(e) }));
}

describe('runSession with several slots', () => {
  it('numbers, orders and answers runs the same whatever order they end in', async () => {
    const a = new MemoryJournal();
    const b = new MemoryJournal();
    const fast = new TimedRunner((call) => (call * 7) % 11);
    const reversed = new TimedRunner((call) => 30 - (call % 4) * 9);
    const [ra, rb] = [await engine(a, fast, 4), await engine(b, reversed, 4)];
    assert.equal(ra.state, 'completed');
    assert.deepEqual(rb, ra);
    assert.deepEqual(b.ledger(), a.ledger());
    assert.equal(a.rows.length, TRIALS.length * 2);
    assert.equal(fast.peak, 4, 'four runs side by side');
    assert.equal(fast.peakPerSlot, 1, 'never two runs on one slot');
  });

  it("keeps a point's configurations on one slot, so they are compared on the same GPUs", async () => {
    const journal = new MemoryJournal();
    const runner = new TimedRunner((call) => (call * 5) % 9);
    await engine(journal, runner, 3);
    const slotsOfGroup = new Map<string, Set<number>>();
    for (const [runKey, slot] of runner.slotOf) {
      const trial = TRIALS.find((t) => runKey.endsWith(`:${t.key}`));
      assert.ok(trial !== undefined);
      const set = slotsOfGroup.get(comparisonGroup(trial)) ?? new Set<number>();
      set.add(slot);
      slotsOfGroup.set(comparisonGroup(trial), set);
    }
    assert.equal(slotsOfGroup.size, 6);
    for (const [group, slots] of slotsOfGroup) assert.equal(slots.size, 1, `${group} ran on slots ${[...slots].join(', ')}`);
  });

  it('one slot runs the same runs, with the same run keys, one at a time', async () => {
    const one = new TimedRunner(() => 0);
    const four = new TimedRunner((call) => (call * 3) % 7);
    const j1 = new MemoryJournal();
    const j4 = new MemoryJournal();
    assert.deepEqual(await engine(j1, one, 1), await engine(j4, four, 4));
    assert.equal(one.peak, 1);
    const keys = (r: TimedRunner): string[] => [...r.slotOf.keys()].map((k) => k.split(':').slice(2).join(':')).sort();
    assert.deepEqual(keys(four), keys(one), 'every trial gets the same ordinals: the same noise draws in the simulator');
  });

  it('a stop kills every run in flight; resume repeats no completed run and ends as an uninterrupted session', async () => {
    const reference = new MemoryJournal();
    await engine(reference, new TimedRunner(() => 1), 4);

    const journal = new MemoryJournal();
    const stop = new AbortController();
    // Run 9 and later ones take long; the stop comes while four are in flight, some done out of order.
    const first = new TimedRunner((call) => (call >= 9 && call % 2 === 1 ? 500 : 2));
    const stopping = engine(journal, first, 4, stop.signal);
    await sleep(120);
    stop.abort();
    assert.equal((await stopping).state, 'stopped');
    assert.equal(journal.state, 'stopped');
    assert.equal(first.inFlight, 0, 'nothing left running');
    const interrupted = journal.rows.filter((r) => r.result?.outcome === 'interrupted').length;
    assert.ok(interrupted >= 1, 'runs were in flight when it stopped');
    const completed = journal.completedObservations().map((o) => o.step);

    const second = new TimedRunner(() => 1);
    const events: EngineEvent[] = [];
    const resumed = await engine(journal, second, 4, new AbortController().signal, events);
    assert.equal(resumed.state, 'completed');
    const rerun = [...second.slotOf.keys()].map((k) => Number(k.split(':')[1]));
    assert.deepEqual(rerun.filter((step) => completed.includes(step)), [], 'no completed step ran again');
    assert.equal(second.calls, TRIALS.length * 2 - completed.length);
    const outcomes = (j: MemoryJournal): string[] =>
      j.completedObservations().map((o) => `${o.step} ${o.trialKey} ${o.kind}`).sort();
    assert.deepEqual(outcomes(journal), outcomes(reference));
    assert.deepEqual(resumed, { state: 'completed', result: reference.final });
  });

  it('retires a slot whose runs keep failing while the others measure, and its work goes to them', async () => {
    const journal = new MemoryJournal();
    const events: EngineEvent[] = [];
    const runner = new TimedRunner(() => 1, (req) => (req.slot === 1 ? 'engine_failure' : 'ok'));
    const outcome = await engine(journal, runner, 3, new AbortController().signal, events);
    assert.equal(outcome.state, 'completed');
    const notes = events.flatMap((e) => (e.type === 'policy' && e.event.type === 'note' ? [e.event.message] : []));
    assert.equal(notes.length, 1);
    assert.match(notes[0] ?? '', /^slot 1 \(GPUs 1\) retired: its last 3 runs \(.+\) failed while other slots measured; its work goes to the other slots$/);
    const retiredAt = events.findIndex((e) => e.type === 'policy' && e.event.type === 'note');
    const slotOneAfter = events.slice(retiredAt).filter((e) => e.type === 'run-start' && e.slot === 1);
    assert.deepEqual(slotOneAfter, [], 'nothing more is sent to a retired slot');
    const failed = journal.rows.filter((r) => r.result?.outcome === 'engine_failure');
    assert.equal(new Set(failed.map((r) => r.trial.key)).size, 3, 'three different trials failed there: the slot, not a trial, is the cause');
  });
});
