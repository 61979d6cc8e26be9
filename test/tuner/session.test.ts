/** The session engine driven in-process: replay, interruption, failures, run keys. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AutotuneError } from '../../src/errors.js';
import { referencePolicy } from '../../src/tuner/policies/reference.js';
import type { FinalResult, PolicyContext, PolicyEvent } from '../../src/tuner/policy.js';
import type { BegunRun, RunRequest, RunResult, Runner, SessionJournal, StoredObservation } from '../../src/tuner/ports.js';
import { runSession, type EngineEvent } from '../../src/tuner/session.js';
import type { Observation, TrialSpec } from '../../src/tuner/types.js';

const CTX: PolicyContext = { numRuns: 2, metric: 'total', minGain: 0.005, budget: null, seed: 1, discovery: { explicitOps: ['add', 'mul'], configOps: null } };

/** Keeps everything in arrays; observations persist across engine instances like the database. */
class MemoryJournal implements SessionJournal {
  readonly runs: { seq: number; trial: TrialSpec; kind: Observation['kind']; step: number; result: RunResult | null }[] = [];
  readonly events: PolicyEvent[] = [];
  state = 'running';
  final: FinalResult | null = null;
  completedObservations(): readonly StoredObservation[] {
    return this.runs
      .filter((r) => r.result !== null && r.result.outcome !== 'interrupted')
      .map((r, step) => ({ seq: r.seq, step, trialKey: r.trial.key, kind: r.kind, outcome: r.result?.outcome as Observation['outcome'], throughput: r.result?.throughput ?? null, executedOps: r.result?.executedOps ?? null, durationMs: 1, failure: r.result?.failure ?? null }));
  }
  beginRun(trial: TrialSpec, kind: Observation['kind'], _warmupIndex: number | null, step: number): BegunRun {
    const seq = this.runs.length + 1;
    this.runs.push({ seq, trial, kind, step, result: null });
    return { runId: seq, seq, files: { logPath: `/x/${seq}.log`, configPath: `/x/${seq}.yaml`, oplistPath: `/x/${seq}.txt`, outputJsonPath: null } };
  }
  setRunPid(): void {}
  finishRun(runId: number, result: RunResult): void {
    const run = this.runs[runId - 1];
    if (run !== undefined) run.result = result;
  }
  applyEvents(events: readonly PolicyEvent[]): void {
    this.events.push(...events);
  }
  refreshHistory(): void {}
  complete(result: FinalResult): void {
    this.final = result;
    this.state = 'completed';
  }
  fail(): void {
    this.state = 'failed';
  }
  markStopped(): void {
    this.state = 'stopped';
  }
}

/** Throughput by trial: mul is +2%, everything else baseline; optionally aborts at one call. */
class FakeRunner implements Runner {
  readonly requests: RunRequest[] = [];
  constructor(private readonly behaviour: (call: number, req: RunRequest) => Partial<RunResult> = () => ({})) {}
  async run(req: RunRequest): Promise<RunResult> {
    this.requests.push(req);
    const total = req.trial.op === 'mul' ? 1020 : 1000;
    return {
      outcome: 'ok',
      exitCode: 0,
      signal: null,
      throughput: { requestsPerSec: 1, totalTokensPerSec: total, outputTokensPerSec: total / 2 },
      durationMs: 1,
      failure: null,
      executedOps: null,
      ...this.behaviour(this.requests.length, req),
    };
  }
}

function engine(journal: SessionJournal, runner: Runner, events: EngineEvent[] = []) {
  return runSession({
    policy: referencePolicy,
    context: CTX,
    runner,
    journal,
    sessionId: 's1',
    passthrough: ['--model', 'm'],
    vllmBin: 'vllm',
    baseEnv: {},
    timeoutMs: 1000,
    signal: new AbortController().signal,
    report: (e) => events.push(e),
  });
}

describe('runSession', () => {
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
    const first = new FakeRunner((call) => (call === 5 ? { outcome: 'interrupted', throughput: null } : {}));
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
    const tampered = journal.runs[3];
    assert.ok(tampered !== undefined);
    tampered.trial = { ...tampered.trial, key: 'op:other:flagos' };
    await assert.rejects(engine(journal, new FakeRunner()), (e: unknown) => e instanceof AutotuneError && e.code === 'E_REPLAY');
  });

  it('stops at once when vllm cannot be started', async () => {
    const journal = new MemoryJournal();
    const runner = new FakeRunner(() => ({ outcome: 'spawn_error', throughput: null, failure: "vllm executable not found: 'vllm' is not on PATH" }));
    await assert.rejects(engine(journal, runner), (e: unknown) => e instanceof AutotuneError && e.code === 'E_VLLM_NOT_FOUND' && /not on PATH/.test(e.message));
    assert.equal(runner.requests.length, 1);
    assert.equal(journal.state, 'failed');
  });

  it('keeps going past failed runs and records them', async () => {
    const journal = new MemoryJournal();
    const runner = new FakeRunner((_call, req) => (req.trial.op === 'add' ? { outcome: 'oom', throughput: null, exitCode: 1 } : {}));
    const out = await engine(journal, runner);
    assert.equal(out.state, 'completed');
    assert.ok(journal.events.some((e) => e.type === 'decision' && e.op === 'add' && e.verdict === 'failed'));
  });
});
