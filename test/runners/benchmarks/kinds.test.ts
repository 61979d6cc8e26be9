/** Benchmark kinds behind the runner: the trial picks its kind; LocalRunner runs each the same way. */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { benchmarkOf } from '../../../src/runners/benchmarks/index.js';
import { parseLatencyJson } from '../../../src/runners/benchmarks/latency/parse.js';
import { LocalRunner } from '../../../src/runners/local.js';
import type { RunRequest } from '../../../src/tuner/ports.js';
import { baselineTrial } from '../../../src/tuner/spaces/operators.js';
import type { TrialSpec } from '../../../src/tuner/types.js';
import { SIM_BIN } from '../../support/cli.js';

const dir = mkdtempSync(join(tmpdir(), 'autotune-kinds-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const LATENCY: TrialSpec = {
  ...baselineTrial(),
  key: 'grid:b8-i128-o32',
  prefix: 'b8-i128-o32',
  kind: 'point',
  round: 'grid',
  benchmark: 'latency',
  workload: { batch_size: 8, input_len: 128, output_len: 32, num_iters_warmup: 1, num_iters: 3 },
};

function request(trial: TrialSpec, name: string, passthrough: string[]): RunRequest {
  return {
    trial,
    passthrough,
    vllmBin: join(SIM_BIN, 'vllm'),
    baseEnv: { PATH: process.env['PATH'], VLLM_SIM_TIME_SCALE: '0', VLLM_SIM_SCENARIO: 'typical' },
    logPath: join(dir, name, 'run.log'),
    configPath: join(dir, name, 'config.yaml'),
    oplistPath: join(dir, name, 'oplist.txt'),
    outputJsonPath: join(dir, name, 'out.json'),
    runKey: `kinds:0:0:${trial.key}`,
    timeoutMs: 20_000,
  };
}

describe('benchmark kinds', () => {
  it('a trial without a kind is throughput; an unknown kind is refused', () => {
    assert.equal(benchmarkOf(baselineTrial()).name, 'throughput');
    assert.equal(benchmarkOf(LATENCY).name, 'latency');
    assert.throws(() => benchmarkOf({ ...LATENCY, benchmark: 'serve-x' }), /unknown benchmark kind 'serve-x'/);
  });

  it('latency: the workload point replaces the user flags autotune owns; figures become named metrics', async () => {
    const req = request(LATENCY, 'latency', ['--model', 'm', '--batch-size', '64', '--num-iters=9']);
    assert.deepEqual(benchmarkOf(LATENCY).argv(req), [
      'bench', 'latency', '--model', 'm', '--batch-size', '8', '--input-len', '128', '--output-len', '32',
      '--num-iters-warmup', '1', '--num-iters', '3', '--output-json', req.outputJsonPath,
    ]);
    const result = await new LocalRunner({ killGraceMs: 200 }).run(req);
    assert.equal(result.outcome, 'ok', result.failure ?? '');
    const json = parseLatencyJson(readFileSync(req.outputJsonPath ?? '', 'utf8'));
    assert.ok(json !== null);
    assert.equal(json.latenciesS?.length, 3);
    assert.equal(result.metrics?.['latency_avg_s'], json.avgS);
    assert.equal(result.metrics?.['latency_p50_s'], json.percentilesS[50]);
    assert.equal(result.metrics?.['latency_p99_s'], json.percentilesS[99]);
    assert.equal(result.metrics?.['output_tokens_per_s'], (8 * 32) / json.avgS);
    assert.equal(result.metrics?.['total_tokens_per_s'], (8 * 160) / json.avgS);
  });

  it('throughput: unchanged, through the same runner', async () => {
    const req = request(baselineTrial(), 'throughput', ['--model', 'm', '--input-len', '512', '--output-len', '128']);
    const result = await new LocalRunner({ killGraceMs: 200 }).run(req);
    assert.equal(result.outcome, 'ok', result.failure ?? '');
    assert.ok((result.metrics?.['total_tokens_per_s'] ?? 0) > 0);
    assert.equal(result.metrics?.['latency_avg_s'], undefined);
  });
});
