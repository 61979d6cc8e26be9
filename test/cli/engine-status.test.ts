/** What `status` says about an engine study mid-tier: the tier, the best point so far with its interval, the points never run. */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { formatStatus } from '../../src/cli/commands/status.js';
import { sessionView } from '../../src/cli/session-view.js';
import { openStore } from '../../src/store/db.js';
import { upsertDecision } from '../../src/store/decisions.js';
import { beginRun, finishRun } from '../../src/store/runs.js';
import { createSession, getSession } from '../../src/store/sessions.js';
import type { Decision } from '../../src/tuner/policy.js';
import { engineTrial, pointKey } from '../../src/tuner/spaces/engine.js';
import { tempDir } from '../store/helpers.js';

const OK = { outcome: 'ok' as const, exitCode: 0, signal: null, metrics: { total_tokens_per_s: 100, output_tokens_per_s: 10, requests_per_s: 1 }, durationMs: 1000, failure: null, executedOps: null };

function decision(subject: string, verdict: Decision['verdict'], reason: string, estimate: number | null = null): Decision {
  return { type: 'decision', subject, op: null, backend: null, verdict, estimate, low: estimate === null ? null : estimate - 0.01, high: estimate === null ? null : estimate + 0.01, runs: 2, reason };
}

describe('engine study status', () => {
  it('shows the newest tier, the best kept point with its gain, the pruned and rejected points with why, and each point\'s GPUs in the GPU-hours', () => {
    const dir = tempDir();
    const store = openStore(join(dir, 'autotune.db'));
    const { id } = createSession(store, { runDir: join(dir, 'run'), policy: 'tiers', args: [], options: { numRuns: 2, budget: null }, env: {} });
    const files = (seq: number) => ({ logPath: `${seq}.log`, configPath: `${seq}.yaml` });
    const base = engineTrial({}, 'batching', null);
    const big = engineTrial({ 'max-num-seqs': 512 }, 'batching', base.key);
    const spec = engineTrial({ 'max-num-seqs': 512, 'gpu-memory-utilization': 0.95, 'tensor-parallel-size': 2 }, 'memory', base.key);
    [base, base, big, big, spec].forEach((trial, step) => finishRun(store, beginRun(store, id, { trial, kind: 'measure', warmupIndex: null, step, slot: 0, files }).runId, OK));
    upsertDecision(store, id, decision(base.key, 'kept', 'the default configuration', 0));
    upsertDecision(store, id, decision(big.key, 'kept', 'tier batching leader: beats vLLM defaults beyond the noise', 0.25));
    upsertDecision(store, id, decision(pointKey({ 'max-num-seqs': 4096 }), 'failed', 'pruned without running: needs at least the memory of mns=2048, which ran out of memory'));
    upsertDecision(store, id, decision(pointKey({ 'tensor-parallel-size': 3 }), 'failed', "rejected before running: tensor-parallel-size 3 does not divide the model's 32 attention heads"));
    const view = sessionView(store, getSession(store, id) ?? assert.fail('no session'), Date.now());
    assert.deepEqual(view.engine?.best, { point: 'mns=512', gain: 0.25, low: 0.24, high: 0.26, final: false });
    const text = formatStatus(view, null);
    assert.match(text, /^tier {6}memory$/m);
    assert.match(text, /^engine {4}mns=512 \(\+25\.00% \[\+24\.00%, \+26\.00%\] per GPU over the default configuration, best so far\)$/m);
    assert.match(text, /^skipped   1 pruned past a memory ceiling, 1 rejected before running$/m);
    assert.match(text, /^ {2}rejected tp=3: tensor-parallel-size 3 does not divide the model's 32 attention heads$/m);
    // Four 1 s runs on one GPU and one on two: 6 GPU-seconds.
    assert.ok(Math.abs(view.gpuHours.spent - 6000 / 3_600_000) < 1e-12, String(view.gpuHours.spent));
    assert.match(text, /^gpu-hours 0\.00 spent \(up to 2 GPUs per run\)$/m);
    assert.doesNotMatch(text, /^best /m, 'no operator line for an engine study without operators');
    store.close();
  });
});
