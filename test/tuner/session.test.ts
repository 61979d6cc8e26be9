/** The session engine driven in-process: replay, interruption, failures, run keys. */
import { fromThroughput } from '../../src/tuner/metrics.js';
import { objectiveFor } from '../../src/tuner/objective.js';
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AutotuneError } from '../../src/errors.js';
import { referencePolicy } from '../../src/tuner/policies/reference.js';
import type { PolicyContext } from '../../src/tuner/policy.js';
import type { RunLifecycle, RunRequest, RunResult, Runner, SessionJournal } from '../../src/tuner/ports.js';
import { runSession, type EngineEvent } from '../../src/tuner/session.js';
import { MemoryJournal } from '../support/memory-journal.js';
import { sessionOptions } from '../support/session-options.js';

const CTX: PolicyContext = { numRuns: 2, objective: objectiveFor('total'), minGain: 0.005, budget: null, seed: 1, discovery: { explicitOps: ['add', 'mul'], configOps: null } };

/** Throughput by trial: mul is +2%, everything else baseline; optionally aborts at one call. */
class FakeRunner implements Runner {
  readonly name = 'fake';
  reap(): boolean {
    return false;
  }
  readonly requests: RunRequest[] = [];
  constructor(private readonly behaviour: (call: number, req: RunRequest) => Partial<RunResult> = () => ({})) {}
  async run(req: RunRequest): Promise<RunResult> {
    this.requests.push(req);
    const total = req.trial.op === 'mul' ? 1020 : 1000;
    return {
      outcome: 'ok',
      exitCode: 0,
      signal: null,
      metrics: fromThroughput({ requestsPerSec: 1, totalTokensPerSec: total, outputTokensPerSec: total / 2 }),
      durationMs: 1,
      failure: null,
      executedOps: null,
      ...this.behaviour(this.requests.length, req),
    };
  }
}

function engine(journal: SessionJournal, runner: Runner, events: EngineEvent[] = [], lifecycle?: RunLifecycle) {
  return runSession(sessionOptions({ ...(lifecycle === undefined ? {} : { lifecycle }), policy: referencePolicy, context: CTX, runner, journal, timeoutMs: 1000, report: (e) => events.push(e) }));
}

/** Records the order of prepare, run and dispose calls. */
function recording(calls: string[]): { lifecycle: RunLifecycle; runner: Runner } {
  const inner = new FakeRunner();
  return {
    lifecycle: { prepare: async (t) => void calls.push(`prepare ${t.key}`), dispose: async () => void calls.push('dispose') },
    runner: { name: 'recording', reap: () => false, run: async (req) => (calls.push(`run ${req.trial.key}`), inner.run(req)) },
  };
}

describe('runSession', () => {
  it('prepares before every run and disposes once at the end', async () => {
    const calls: string[] = [];
    const { lifecycle, runner } = recording(calls);
    assert.equal((await engine(new MemoryJournal(), runner, [], lifecycle)).state, 'completed');
    assert.deepEqual(calls.slice(0, 4), ['prepare baseline', 'run baseline', 'prepare baseline', 'run baseline']);
    assert.equal(calls.filter((c) => c === 'dispose').length, 1);
    assert.equal(calls.at(-1), 'dispose');
    assert.equal(calls.filter((c) => c.startsWith('prepare')).length, calls.filter((c) => c.startsWith('run')).length);
  });

  it('disposes when the session fails, too', async () => {
    const calls: string[] = [];
    const { lifecycle } = recording(calls);
    const missing = new FakeRunner(() => ({ outcome: 'spawn_error', metrics: null, failure: 'vllm executable not found' }));
    await assert.rejects(engine(new MemoryJournal(), missing, [], lifecycle), /not found/);
    assert.deepEqual(calls, ['prepare baseline', 'dispose']);
  });

  it('runs the reference plan to completion and tags each run with a replay-stable key', async () => {
    const journal = new MemoryJournal();
    const runner = new FakeRunner();
    const out = await engine(journal, runner);
    assert.equal(out.state, 'completed');
    assert.deepEqual(journal.final?.opBackends, { mul: 'flagos' });
    // 3 baselines + add + mul + combined, 2 runs each.
    assert.equal(runner.requests.length, 12);
    assert.deepEqual(runner.requests.slice(0, 3).map((r) => r.runKey), ['s1:0:0:baseline', 's1:1:1:baseline', 's1:2:0:baseline_fake_gems_op']);
  });

  it('resumes after an interruption without repeating a completed run, reusing the interrupted run key', async () => {
    const journal = new MemoryJournal();
    const first = new FakeRunner((call) => (call === 5 ? { outcome: 'interrupted', metrics: null } : {}));
    assert.equal((await engine(journal, first)).state, 'stopped');
    assert.equal(journal.state, 'stopped');
    const interruptedKey = first.requests[4]?.runKey;

    const events: EngineEvent[] = [];
    const second = new FakeRunner();
    const out = await engine(journal, second, events);
    assert.equal(out.state, 'completed');
    assert.deepEqual(events[0], { type: 'replayed', runs: 4 });
    assert.equal(second.requests[0]?.runKey, interruptedKey);
    assert.equal(first.requests.length - 1 + second.requests.length, 12);

    const fresh = new MemoryJournal();
    await engine(fresh, new FakeRunner());
    assert.deepEqual(journal.final, fresh.final);
  });

  it('refuses to replay runs the policy would not ask for', async () => {
    const journal = new MemoryJournal();
    await engine(journal, new FakeRunner());
    const tampered = journal.rows[3];
    assert.ok(tampered !== undefined);
    tampered.trial = { ...tampered.trial, key: 'op:other:flagos' };
    await assert.rejects(engine(journal, new FakeRunner()), (e: unknown) => e instanceof AutotuneError && e.code === 'E_REPLAY');
  });

  it('stops at once when vllm cannot be started', async () => {
    const journal = new MemoryJournal();
    const runner = new FakeRunner(() => ({ outcome: 'spawn_error', metrics: null, failure: "vllm executable not found: 'vllm' is not on PATH" }));
    await assert.rejects(engine(journal, runner), (e: unknown) => e instanceof AutotuneError && e.code === 'E_VLLM_NOT_FOUND' && /not on PATH/.test(e.message));
    assert.equal(runner.requests.length, 1);
    assert.equal(journal.state, 'failed');
  });

  it('keeps going past failed runs and records them', async () => {
    const journal = new MemoryJournal();
    const runner = new FakeRunner((_call, req) => (req.trial.op === 'add' ? { outcome: 'oom', metrics: null, exitCode: 1 } : {}));
    const out = await engine(journal, runner);
    assert.equal(out.state, 'completed');
    assert.ok(journal.events.some((e) => e.type === 'decision' && e.op === 'add' && e.verdict === 'failed'));
  });
});
