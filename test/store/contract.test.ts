/** One contract, run against an in-memory database and a file. */
import { fromThroughput } from '../../src/tuner/metrics.js';
import { toThroughput } from '../support/metrics.js';
import { objectiveFor } from '../../src/tuner/objective.js';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { openStore, type Store } from '../../src/store/db.js';
import { loadDecisions, upsertDecision } from '../../src/store/decisions.js';
import { acquireLease, heartbeat, isLeaseStale, releaseLease } from '../../src/store/lease.js';
import { sessionProgress } from '../../src/store/progress.js';
import {
  beginRun,
  finishRun,
  loadObservations,
  loadRuns,
  markRunningRunsInterrupted,
  nextSeq,
  setRunHandle,
  type NewRun,
  type StoredRunFiles,
} from '../../src/store/runs.js';
import { fenced, requestStop, startWorking, transition, TRANSITIONS, withdrawStop } from '../../src/store/session-state.js';
import {
  createSession,
  findSessionByRunDir,
  getSession,
  listSessions,
  makeSessionId,
  modelFromArgs,
  setSessionOps,
  type NewSession,
} from '../../src/store/sessions.js';
import { loadTrials, upsertTrial } from '../../src/store/trials.js';
import type { Decision, FinalResult } from '../../src/tuner/policy.js';
import type { RunResult } from '../../src/tuner/ports.js';
import { baselineTrial, opTrial } from '../../src/tuner/spaces/operators.js';
import type { RunKind, TrialSpec } from '../../src/tuner/types.js';
import { ManualClock, tempDir } from './helpers.js';

const NEW: NewSession = {
  runDir: '/tmp/autotune-contract/autotune_20261123_061455',
  policy: 'noise-aware',
  args: ['--model', 'Qwen/Qwen3-8B', '--num-prompts', '100'],
  options: { num_runs: 2, objective: objectiveFor('total'), min_gain: 0.005, budget: null },
  env: { CUDA_VISIBLE_DEVICES: '0', USE_FLAGGEMS: '1' },
};

const OK: RunResult = {
  outcome: 'ok',
  exitCode: 0,
  signal: null,
  metrics: fromThroughput({ requestsPerSec: 3.66, totalTokensPerSec: 26237.36, outputTokensPerSec: 3748.19 }),
  durationMs: 61_000.5,
  failure: null,
  executedOps: null,
};

const FAILED: RunResult = {
  outcome: 'oom',
  exitCode: 1,
  signal: null,
  metrics: null,
  durationMs: 12_000,
  failure: 'torch.OutOfMemoryError: CUDA out of memory',
  executedOps: null,
};

interface TestFiles extends StoredRunFiles {
  readonly oplistPath: string;
}

function run(trial: TrialSpec, step: number, kind: RunKind = 'measure', warmupIndex: number | null = null, slot = 0): NewRun<TestFiles> {
  const files = (seq: number): TestFiles => ({ logPath: `/logs/${seq}.log`, configPath: `/cfg/${seq}.yaml`, oplistPath: `/oplist/${seq}` });
  return { trial, kind, warmupIndex, step, slot, files };
}

function code(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (error) {
    return (error as { code?: string }).code ?? 'no code';
  }
  return undefined;
}

const modes: [string, () => string][] = [
  ['memory', () => ':memory:'],
  ['file', () => join(tempDir(), 'autotune.db')],
];

for (const [mode, pathFor] of modes) {
  describe(`store contract (${mode})`, () => {
    let store: Store;
    let clock: ManualClock;
    beforeEach(() => {
      clock = new ManualClock();
      store = openStore(pathFor(), { clock: clock.now });
    });
    afterEach(() => store.close());

    describe('sessions', () => {
      it('creates a session in state created with every column it was given', () => {
        const s = createSession(store, NEW);
        assert.match(s.id, /^\d{8}-\d{6}-[0-9a-f]{4}$/);
        assert.equal(s.state, 'created');
        assert.equal(s.createdAt, clock.ms);
        assert.equal(s.updatedAt, clock.ms);
        assert.equal(s.runDir, NEW.runDir);
        assert.equal(s.policy, 'noise-aware');
        assert.deepEqual(s.args, NEW.args);
        assert.deepEqual(s.options, NEW.options);
        assert.deepEqual(s.env, NEW.env);
        assert.equal(s.model, 'Qwen/Qwen3-8B');
        assert.equal(s.ops, null);
        assert.equal(s.error, null);
        assert.equal(s.final, null);
        assert.equal(s.lease, null);
        assert.equal(s.stopRequestedAt, null);
      });

      it('refuses a second session in the same run directory', () => {
        createSession(store, { ...NEW, id: 'a' });
        assert.equal(code(() => createSession(store, { ...NEW, id: 'b', runDir: `${NEW.runDir}/.` })), 'E_SESSION_STATE');
      });

      it('finds by id, unique prefix and normalised run directory', () => {
        createSession(store, { ...NEW, id: '20261123-061455-a1b2' });
        createSession(store, { ...NEW, id: '20261123-061455-a1c3', runDir: '/tmp/other' });
        createSession(store, { ...NEW, id: '20261124-000000-ffff', runDir: '/tmp/third' });
        assert.equal(getSession(store, '20261123-061455-a1b2')?.id, '20261123-061455-a1b2');
        assert.equal(getSession(store, '20261124')?.id, '20261124-000000-ffff');
        assert.equal(getSession(store, '20261123-061455-a1c')?.id, '20261123-061455-a1c3');
        assert.equal(getSession(store, '2025'), null);
        assert.equal(getSession(store, ''), null);
        assert.equal(getSession(store, '%'), null, 'no LIKE wildcards');
        assert.throws(
          () => getSession(store, '20261123'),
          (e: unknown) => (e as { code: string }).code === 'E_USAGE' && /ambiguous: 20261123-061455-a1b2, 20261123-061455-a1c3$/.test((e as Error).message),
        );
        assert.equal(findSessionByRunDir(store, '/tmp/x/../third/')?.id, '20261124-000000-ffff');
        assert.equal(findSessionByRunDir(store, '/tmp/nowhere'), null);
      });

      it('lists newest first, up to the limit', () => {
        for (const id of ['a', 'b', 'c']) {
          createSession(store, { ...NEW, id, runDir: `/tmp/${id}` });
          clock.advance(1000);
        }
        assert.deepEqual(
          listSessions(store, 2).map((s) => s.id),
          ['c', 'b'],
        );
      });

      it('moves through the state machine, fenced by the lease token', () => {
        const { id, state } = createSession(store, NEW);
        assert.equal(state, 'created');
        const mine = { pid: 100, host: 'node-a', token: 'tok-a', staleAfterMs: 30_000, isAlive: () => true };
        assert.equal(code(() => transition(store, id, 'running', { token: 'tok-a' })), 'E_LEASE_LOST', 'no lease yet');
        acquireLease(store, id, mine);
        assert.equal(startWorking(store, id, 'tok-a'), 'running');
        clock.advance(10);
        transition(store, id, 'failed', { token: 'tok-a' }, { error: 'E_RUN: vllm exited 1\nTraceback (most recent call last):' });
        setSessionOps(store, id, { rms_norm: ['flagos', 'vendor'] });
        let s = getSession(store, id);
        assert.equal(s?.state, 'failed');
        assert.equal(s?.error, 'E_RUN: vllm exited 1');
        assert.deepEqual(s?.ops, { rms_norm: ['flagos', 'vendor'] });
        assert.equal(code(() => transition(store, id, 'completed', { token: 'tok-a' })), 'E_SESSION_STATE', 'failed -> completed is not a move');
        transition(store, id, 'running', { token: 'tok-a' });
        clock.advance(5);
        assert.equal(requestStop(store, id), 'stopping');
        const stopAt = clock.ms;
        clock.advance(5);
        requestStop(store, id);
        s = getSession(store, id);
        assert.equal(s?.stopRequestedAt, stopAt, 'the first request is kept');
        assert.equal(s?.updatedAt, clock.ms);
        const final: FinalResult = {
          opBackends: { rms_norm: 'flagos' },
          attention: null,
          validated: true,
          speedup: 1.02,
          low: 1.01,
          high: 1.03,
          summary: ['kept rms_norm'],
        };
        assert.equal(code(() => transition(store, id, 'completed', { token: 'tok-b' })), 'E_LEASE_LOST');
        transition(store, id, 'completed', { token: 'tok-a' }, { finalJson: JSON.stringify(final), clearStop: true });
        s = getSession(store, id);
        assert.equal(s?.stopRequestedAt, null);
        assert.equal(s?.state, 'completed');
        assert.deepEqual(s?.final, final);
        assert.deepEqual(TRANSITIONS.completed, [], 'completed is final');
      });

      it('keeps a stop request that came before the worker until the worker acknowledges it', () => {
        const { id } = createSession(store, NEW);
        assert.equal(requestStop(store, id), 'stopped', 'no worker yet: stopped at once');
        acquireLease(store, id, { pid: 100, host: 'node-a', token: 'tok-a', staleAfterMs: 30_000, isAlive: () => true });
        assert.equal(startWorking(store, id, 'tok-a'), 'stopped', 'the worker obeys it');
        const s = getSession(store, id);
        assert.equal(s?.state, 'stopped');
        assert.equal(s?.stopRequestedAt, null, 'acknowledged');
        releaseLease(store, id, 'tok-a');
        requestStop(store, id);
        withdrawStop(store, id);
        assert.equal(getSession(store, id)?.stopRequestedAt, null, 'resume withdraws an unacknowledged request');
      });

      it('refuses every fenced write once the lease is someone else\'s', () => {
        const { id } = createSession(store, NEW);
        acquireLease(store, id, { pid: 100, host: 'node-a', token: 'tok-a', staleAfterMs: 30_000, isAlive: () => true });
        let wrote = false;
        assert.equal(code(() => fenced(store, id, 'tok-b', () => (wrote = true))), 'E_LEASE_LOST');
        assert.equal(wrote, false);
        assert.equal(fenced(store, id, 'tok-a', () => 'ok'), 'ok');
      });

      it('reports an unknown session on every update', () => {
        for (const update of [
          () => transition(store, 'nope', 'failed', 'unleased'),
          () => setSessionOps(store, 'nope', {}),
          () => requestStop(store, 'nope'),
          () => withdrawStop(store, 'nope'),
        ]) {
          assert.equal(code(update), 'E_SESSION_NOT_FOUND');
        }
      });
    });

    describe('lease', () => {
      const mine = { pid: 100, host: 'node-a', token: 'tok-a', staleAfterMs: 30_000, isAlive: () => true };

      it('is taken when free, renewed by heartbeats and released by its token only', () => {
        const { id } = createSession(store, NEW);
        assert.deepEqual(acquireLease(store, id, mine), { acquired: true, previous: null });
        assert.deepEqual(getSession(store, id)?.lease, { pid: 100, host: 'node-a', token: 'tok-a', heartbeatAt: clock.ms });
        clock.advance(20_000);
        assert.equal(heartbeat(store, id, 'tok-a'), true);
        assert.equal(getSession(store, id)?.lease?.heartbeatAt, clock.ms);
        assert.equal(heartbeat(store, id, 'tok-other'), false);
        assert.deepEqual(acquireLease(store, id, mine), { acquired: true, previous: null }, 'same token re-acquires');
        assert.equal(releaseLease(store, id, 'tok-other'), false);
        assert.equal(releaseLease(store, id, 'tok-a'), true);
        assert.equal(getSession(store, id)?.lease, null);
        assert.equal(releaseLease(store, id, 'tok-a'), false);
      });

      it('blocks a second claimant while the holder is alive and fresh', () => {
        const { id } = createSession(store, NEW);
        acquireLease(store, id, mine);
        clock.advance(29_000);
        const result = acquireLease(store, id, { ...mine, pid: 200, token: 'tok-b' });
        assert.equal(result.acquired, false);
        assert.equal(result.acquired ? null : result.holder.token, 'tok-a');
      });

      it('is taken over when its heartbeat is stale, wherever the holder runs', () => {
        const { id } = createSession(store, NEW);
        acquireLease(store, id, { ...mine, host: 'node-b' });
        clock.advance(30_001);
        const result = acquireLease(store, id, { ...mine, pid: 200, token: 'tok-b' });
        assert.equal(result.acquired, true);
        assert.equal(result.acquired ? result.previous?.host : null, 'node-b');
        assert.equal(heartbeat(store, id, 'tok-a'), false, 'the old holder learns it lost the lease');
        assert.equal(getSession(store, id)?.lease?.token, 'tok-b');
      });

      it('is taken over at once when its holder is dead on this host, not on another', () => {
        const { id } = createSession(store, NEW);
        acquireLease(store, id, mine);
        const asked: number[] = [];
        const deadHere = { pid: 200, token: 'tok-b', staleAfterMs: 30_000, isAlive: (pid: number) => (asked.push(pid), false) };
        assert.equal(acquireLease(store, id, { ...deadHere, host: 'node-b' }).acquired, false);
        assert.deepEqual(asked, [], 'liveness is only asked about pids on our own host');
        assert.equal(acquireLease(store, id, { ...deadHere, host: 'node-a' }).acquired, true);
        assert.deepEqual(asked, [100]);
      });

      it('isLeaseStale follows the same rules', () => {
        const lease = { pid: 1, host: 'h', token: 't', heartbeatAt: 1000 };
        const alive = { staleAfterMs: 100, isAlive: () => true };
        assert.equal(isLeaseStale(lease, 1100, 'h', alive), false);
        assert.equal(isLeaseStale(lease, 1101, 'h', alive), true);
        assert.equal(isLeaseStale(lease, 1000, 'h', { ...alive, isAlive: () => false }), true);
      });

      it('reports an unknown session', () => {
        assert.equal(code(() => acquireLease(store, 'nope', mine)), 'E_SESSION_NOT_FOUND');
      });
    });

    describe('trials and runs', () => {
      it('records trials once, in first-seen order, keeping the first time', () => {
        const { id } = createSession(store, NEW);
        upsertTrial(store, id, baselineTrial());
        clock.advance(1);
        upsertTrial(store, id, opTrial('rms_norm', 'flagos'));
        clock.advance(1);
        const changed = { ...baselineTrial(), extraArgs: ['--seed', '1'] };
        upsertTrial(store, id, changed);
        const trials = loadTrials(store, id);
        assert.deepEqual(
          trials.map((t) => t.spec.key),
          ['baseline', 'op:rms_norm:flagos'],
        );
        assert.deepEqual(trials[0]?.spec, changed);
        assert.equal(trials[0]?.firstSeenAt, clock.ms - 2);
      });

      it('numbers runs per session, names files from the seq and records the trial', () => {
        const a = createSession(store, { ...NEW, id: 'a' }).id;
        const b = createSession(store, { ...NEW, id: 'b', runDir: '/tmp/b' }).id;
        assert.equal(nextSeq(store, a), 1);
        const first = beginRun(store, a, run(baselineTrial(), 0, 'warmup', 1));
        assert.deepEqual(first, { runId: first.runId, seq: 1, files: { logPath: '/logs/1.log', configPath: '/cfg/1.yaml', oplistPath: '/oplist/1' } });
        assert.equal(beginRun(store, a, run(baselineTrial(), 1)).seq, 2);
        assert.equal(beginRun(store, b, run(baselineTrial(), 0)).seq, 1);
        assert.equal(nextSeq(store, a), 3);
        assert.deepEqual(
          loadTrials(store, a).map((t) => t.spec.key),
          ['baseline'],
        );
        const [row] = loadRuns(store, a);
        assert.deepEqual(row, {
          id: first.runId,
          sessionId: a,
          seq: 1,
          step: 0,
          trialKey: 'baseline',
          kind: 'warmup',
          warmupIndex: 1,
          outcome: 'running',
          exitCode: null,
          signal: null,
          metrics: null,
          durationMs: null,
          startedAt: clock.ms,
          endedAt: null,
          logPath: '/logs/1.log',
          configPath: '/cfg/1.yaml',
          pid: null,
          runner: null,
          handle: null,
          slot: 0,
          failure: null,
          executedOps: null,
        });
      });

      it('records the slot each run ran on, kept when a later worker takes a left-running row over', () => {
        const { id } = createSession(store, NEW);
        finishRun(store, beginRun(store, id, run(baselineTrial(), 0, 'measure', null, 0)).runId, OK);
        const left = beginRun(store, id, run(baselineTrial(), 1, 'measure', null, 3));
        const again = beginRun(store, id, run(baselineTrial(), 1, 'measure', null, 3));
        assert.equal(again.runId, left.runId);
        assert.deepEqual(loadRuns(store, id).map((r) => [r.seq, r.slot]), [[1, 0], [2, 3]]);
        assert.throws(() => beginRun(store, id, run(baselineTrial(), 2, 'measure', null, -1)), /CHECK constraint/);
      });

      it('refuses a run for an unknown session', () => {
        assert.throws(() => beginRun(store, 'nope', run(baselineTrial(), 0)), /FOREIGN KEY/);
      });

      it('finishes a run once, with its pid and numbers', () => {
        const { id } = createSession(store, NEW);
        const r = beginRun(store, id, run(baselineTrial(), 0));
        setRunHandle(store, r.runId, 'local', '4242', 4242);
        clock.advance(61_000);
        const withOps = { ...OK, executedOps: ['rms_norm', 'silu_and_mul'] };
        assert.equal(finishRun(store, r.runId, withOps), true);
        assert.equal(finishRun(store, r.runId, FAILED), false, 'a finished run never changes');
        setRunHandle(store, r.runId, 'local', '1', 1);
        const [row] = loadRuns(store, id);
        assert.equal(row?.pid, 4242);
        assert.equal(row?.outcome, 'ok');
        assert.equal(row?.step, 0);
        assert.equal(row?.endedAt, clock.ms);
        assert.equal(row?.exitCode, 0);
        assert.deepEqual(toThroughput(row?.metrics ?? null), toThroughput(OK.metrics));
        assert.equal(row?.durationMs, 61_000.5);
        assert.deepEqual(row?.executedOps, ['rms_norm', 'silu_and_mul']);
      });

      it('stores every named metric of a run and its handle', () => {
        const { id } = createSession(store, NEW);
        const r = beginRun(store, id, run(baselineTrial(), 0));
        setRunHandle(store, r.runId, 'slurm', '812345', null);
        const metrics = { latency_avg_s: 1.25, latency_p99_s: 1.5, total_tokens_per_s: 800, kv_cache_tokens: 123456 };
        finishRun(store, r.runId, { ...OK, metrics });
        const [row] = loadRuns(store, id);
        assert.deepEqual(row?.metrics, metrics);
        assert.deepEqual([row?.runner, row?.handle, row?.pid], ['slurm', '812345', null]);
        assert.deepEqual(loadObservations(store, id)[0]?.metrics, metrics);
      });

      it('keeps an output-less (legacy) throughput and a failure line', () => {
        const { id } = createSession(store, NEW);
        const legacy = beginRun(store, id, run(baselineTrial(), 0));
        finishRun(store, legacy.runId, {
          ...OK,
          metrics: fromThroughput({ requestsPerSec: null, totalTokensPerSec: 12345.67, outputTokensPerSec: null }),
        });
        const failed = beginRun(store, id, run(baselineTrial(), 1));
        finishRun(store, failed.runId, FAILED);
        const [first, second] = loadRuns(store, id);
        assert.deepEqual(toThroughput(first?.metrics ?? null), { requestsPerSec: null, totalTokensPerSec: 12345.67, outputTokensPerSec: null });
        assert.equal(toThroughput(second?.metrics ?? null), null);
        assert.equal(second?.failure, FAILED.failure);
      });

      it('an interrupted step is answered again; observations leave interrupted runs out', () => {
        const { id } = createSession(store, NEW);
        const flagos = opTrial('rms_norm', 'flagos');
        finishRun(store, beginRun(store, id, run(baselineTrial(), 0, 'warmup', 1)).runId, OK);
        const cut = beginRun(store, id, run(baselineTrial(), 1));
        finishRun(store, cut.runId, { ...OK, outcome: 'interrupted', metrics: null });
        finishRun(store, beginRun(store, id, run(baselineTrial(), 1)).runId, FAILED);
        const inFlight = beginRun(store, id, run(flagos, 2));
        setRunHandle(store, inFlight.runId, 'local', '777', 777);
        assert.deepEqual(loadObservations(store, id), [
          { trialKey: 'baseline', kind: 'warmup', outcome: 'ok', metrics: OK.metrics, executedOps: null, durationMs: OK.durationMs, seq: 1, step: 0, failure: null },
          { trialKey: 'baseline', kind: 'measure', outcome: 'oom', metrics: null, executedOps: null, durationMs: FAILED.durationMs, seq: 3, step: 1, failure: FAILED.failure },
        ]);

        // crash recovery
        const interrupted = markRunningRunsInterrupted(store, id);
        assert.deepEqual(
          interrupted.map((r) => [r.seq, r.pid, r.outcome, r.step, r.endedAt]),
          [[4, 777, 'interrupted', 2, clock.ms]],
        );
        assert.match(interrupted[0]?.failure ?? '', /^interrupted/);
        assert.deepEqual(markRunningRunsInterrupted(store, id), []);
        assert.equal(finishRun(store, inFlight.runId, OK), false, 'a reaped run cannot be finished late');
        assert.equal(nextSeq(store, id), 5, 'an interrupted run keeps its number; the next one gets a fresh log');
        finishRun(store, beginRun(store, id, run(flagos, 2)).runId, OK);
        assert.deepEqual(
          loadRuns(store, id).map((r) => [r.seq, r.step, r.outcome]),
          [
            [1, 0, 'ok'],
            [2, 1, 'interrupted'],
            [3, 1, 'oom'],
            [4, 2, 'interrupted'],
            [5, 2, 'ok'],
          ],
        );
        assert.deepEqual(
          loadObservations(store, id).map((o) => o.step),
          [0, 1, 2],
        );
      });

      it('refuses a second observation for one step', () => {
        const { id } = createSession(store, NEW);
        finishRun(store, beginRun(store, id, run(baselineTrial(), 0)).runId, OK);
        const again = beginRun(store, id, run(baselineTrial(), 0));
        assert.throws(() => finishRun(store, again.runId, OK), /UNIQUE constraint failed: runs.session_id, runs.step/);
      });

      it('summarises progress for status and list', () => {
        const { id } = createSession(store, NEW);
        assert.deepEqual(sessionProgress(store, id), {
          runsStarted: 0,
          runsFinished: 0,
          runsOk: 0,
          runsFailed: 0,
          runsInterrupted: 0,
          trialsSeen: 0,
          finishedDurationMs: 0,
          spentDurationMs: 0,
          failuresByClass: {},
          meanOkDurationMs: null,
          lastRun: null,
          currentRun: null,
          currentTrial: null,
          currentIsAnchor: false,
        });
        const flagos = opTrial('rms_norm', 'flagos');
        finishRun(store, beginRun(store, id, run(baselineTrial(), 0)).runId, { ...OK, durationMs: 60_000 });
        finishRun(store, beginRun(store, id, run(baselineTrial(), 1)).runId, { ...OK, durationMs: 70_000 });
        finishRun(store, beginRun(store, id, run(flagos, 2, 'warmup', 1)).runId, FAILED);
        finishRun(store, beginRun(store, id, run(flagos, 3)).runId, { ...OK, outcome: 'interrupted', durationMs: 1 });
        const current = beginRun(store, id, run(flagos, 3));
        const p = sessionProgress(store, id);
        assert.equal(p.runsStarted, 5);
        assert.equal(p.runsFinished, 3);
        assert.equal(p.runsOk, 2);
        assert.equal(p.runsFailed, 1);
        assert.equal(p.runsInterrupted, 1);
        assert.equal(p.trialsSeen, 2);
        assert.equal(p.finishedDurationMs, 142_000);
        // Interrupted runs used the GPU too.
        assert.equal(p.spentDurationMs, 142_001);
        assert.deepEqual(p.failuresByClass, { [FAILED.outcome]: 1 });
        assert.equal(p.meanOkDurationMs, 65_000);
        assert.equal(p.lastRun?.seq, 4);
        assert.equal(p.currentRun?.id, current.runId);
        assert.deepEqual(p.currentTrial, flagos);
      });
    });

    describe('decisions', () => {
      it('keeps the latest verdict per subject, in first-decided order', () => {
        const { id } = createSession(store, NEW);
        const kept: Decision = {
          type: 'decision',
          subject: 'op:rms_norm',
          op: 'rms_norm',
          backend: 'flagos',
          verdict: 'kept',
          estimate: 0.012,
          low: 0.004,
          high: 0.02,
          runs: 4,
          reason: 'faster than baseline',
          basis: 'runs',
        };
        const failed: Decision = { ...kept, subject: 'op:mm', op: 'mm', backend: null, verdict: 'failed', estimate: null, low: null, high: null, runs: 1, reason: 'oom' };
        upsertDecision(store, id, kept);
        clock.advance(1);
        upsertDecision(store, id, failed);
        clock.advance(1);
        const dropped: Decision = { ...kept, verdict: 'dropped', estimate: -0.001, runs: 6, reason: 'no gain after 6 runs' };
        upsertDecision(store, id, dropped);
        assert.deepEqual(loadDecisions(store, id), [dropped, failed]);
      });

      it('marks a model estimate as one, and a decision without a basis as measured', () => {
        const { id } = createSession(store, NEW);
        const base: Decision = { type: 'decision', subject: 'op:mul:flagos', op: 'mul', backend: 'flagos', verdict: 'kept', estimate: 0.01, low: 0.004, high: 0.016, runs: 30, reason: 'model estimate from group runs' };
        upsertDecision(store, id, { ...base, basis: 'model' });
        upsertDecision(store, id, { ...base, subject: 'op:add:flagos', op: 'add' });
        assert.deepEqual(
          loadDecisions(store, id).map((d) => [d.subject, d.basis, d.low, d.high]),
          [
            ['op:mul:flagos', 'model', 0.004, 0.016],
            ['op:add:flagos', 'runs', 0.004, 0.016],
          ],
        );
      });
    });

    it('reuses prepared statements and passes the integrity check', () => {
      const sql = 'SELECT COUNT(*) FROM sessions';
      assert.equal(store.statement(sql), store.statement(sql));
      assert.deepEqual(store.integrityCheck(), ['ok']);
    });
  });
}

describe('session ids and models', () => {
  it('makeSessionId uses the local time and a suffix', () => {
    assert.equal(makeSessionId(new Date(2026, 10, 23, 6, 14, 55), 'a1b2'), '20261123-061455-a1b2');
    assert.match(makeSessionId(new Date()), /^\d{8}-\d{6}-[0-9a-f]{4}$/);
  });

  it('modelFromArgs reads --model in both spellings, last one winning', () => {
    assert.equal(modelFromArgs(['--model', 'a', '--tp', '2']), 'a');
    assert.equal(modelFromArgs(['--model=b']), 'b');
    assert.equal(modelFromArgs(['--model', 'a', '--model=b']), 'b');
    assert.equal(modelFromArgs(['--dataset-name', 'random']), null);
    assert.equal(modelFromArgs(['--model']), null);
  });
});
