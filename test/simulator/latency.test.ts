import assert from 'node:assert/strict';
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { buildLatencyArgv, splitLatencyArgs } from '../../src/runners/benchmarks/latency/args.js';
import { classifyLatencyRun } from '../../src/runners/benchmarks/latency/classify.js';
import { parseLatencyJson, parseLatencyLog } from '../../src/runners/benchmarks/latency/parse.js';
import { batchSeconds, latencyStats, percentile, pyFloat, readLatencyArgs, simulateLatency, type LatencyArgs } from '../../simulator/latency.js';
import { simulate } from '../../simulator/model.js';
import { input, readJsonLines, runVllm, tempDir, tinyScenario } from './support.js';

const OFF = { USE_FLAGGEMS: '0', VLLM_FL_OOT_ENABLED: '0' };
const MODEL = ['--model', 'meta-llama/Llama-3.1-8B-Instruct', '--load-format', 'dummy'];

function latencyArgs(extra: Partial<LatencyArgs> = {}): LatencyArgs {
  const read = readLatencyArgs([]);
  assert.ok(!('problem' in read));
  return { ...read, warmup: 2, measured: 5, ...extra };
}

const classify = (log: string, exitCode: number | null, hasResult = false) =>
  classifyLatencyRun({ log, hasResult, exitCode, signal: null, timedOut: false, interrupted: false, spawnError: null });

describe('simulated vllm bench latency: the bin', () => {
  it('runs the argv autotune builds and prints what the parser reads, console and JSON agreeing', () => {
    const dir = tempDir();
    after(() => rmSync(dir, { recursive: true, force: true }));
    const json = join(dir, 'b4-i512-o64.json');
    const { rest } = splitLatencyArgs(MODEL);
    const argv = buildLatencyArgv(rest, { batchSize: 4, inputLen: 512, outputLen: 64 }, { warmup: 3, measured: 7 }, json);
    const r = runVllm(argv, { ...OFF, VLLM_SIM_SCENARIO: 'typical', VLLM_SIM_STATE_DIR: dir });
    assert.equal(r.status, 0, r.all);
    assert.match(r.stdout, /^Warming up\.\.\.$/m);
    assert.match(r.stderr, /\rWarmup iterations: 100%\|██████████\| 3\/3 \[/);
    assert.match(r.stderr, /\rBench iterations: 100%\|██████████\| 7\/7 \[/);
    assert.match(r.stdout, /^Avg latency: \d+\.\d+ seconds$/m);
    assert.match(r.stdout, /^Std latency: \d+\.\d+(e-\d\d)? seconds$/m);
    for (const p of [10, 25, 50, 75, 90, 99]) assert.match(r.stdout, new RegExp(`^${p}% percentile latency: \\d+\\.\\d+ seconds$`, 'm'));
    const text = readFileSync(json, 'utf8');
    assert.deepEqual(Object.keys(JSON.parse(text) as object), ['avg_latency', 'std_latency', 'latencies', 'percentiles']);
    const fromJson = parseLatencyJson(text);
    const fromLog = parseLatencyLog(r.all);
    assert.ok(fromJson !== null && fromLog !== null);
    assert.equal(fromJson.latenciesS?.length, 7);
    assert.deepEqual({ ...fromLog, latenciesS: fromJson.latenciesS }, fromJson);
    // The figures are the statistics of the iterations: mean and numpy's linear percentiles.
    const values = fromJson.latenciesS ?? [];
    const sorted = [...values].sort((a, b) => a - b);
    assert.ok(Math.abs(fromJson.avgS - values.reduce((a, b) => a + b, 0) / 7) < 1e-15);
    assert.equal(fromJson.percentilesS[50], sorted[3]);
    assert.ok(Math.abs((fromJson.percentilesS[90] ?? 0) - (sorted[5] as number) - 0.4 * ((sorted[6] as number) - (sorted[5] as number))) < 1e-15);
    assert.deepEqual(classify(r.all, 0, true), { outcome: 'ok', failure: null });
    const end = readJsonLines(join(dir, 'invocations.jsonl')).find((e) => e['event'] === 'end');
    assert.deepEqual(end?.['point'], { batchSize: 4, inputLen: 512, outputLen: 64, n: 1, warmup: 3, measured: 7 });
    assert.deepEqual((end?.['latency'] as { latencies: number[] }).latencies, values);
  });

  it('reproduces a run with the same run key and draws new noise for another trial', () => {
    const args = ['bench', 'latency', ...MODEL, '--num-iters-warmup', '0', '--num-iters', '4'];
    const noisy = { ...OFF, VLLM_SIM_SCENARIO: 'noisy' };
    const a = parseLatencyLog(runVllm(args, { ...noisy, AUTOTUNE_RUN_KEY: 's:1:0:lat:b8' }).all);
    const b = parseLatencyLog(runVllm(args, { ...noisy, AUTOTUNE_RUN_KEY: 's:1:0:lat:b8' }).all);
    const c = parseLatencyLog(runVllm(args, { ...noisy, AUTOTUNE_RUN_KEY: 's:2:0:lat:other' }).all);
    assert.deepEqual(a, b);
    assert.notEqual(a?.avgS, c?.avgS);
  });

  it('fails a point longer than max-model-len after the engine started, as vLLM asserts', () => {
    const r = runVllm(['bench', 'latency', ...MODEL, '--max-model-len', '1024', '--input-len', '1000', '--output-len', '128'], OFF);
    assert.equal(r.status, 1);
    assert.match(r.stdout, /Using max model len 1024/);
    assert.match(r.stderr, /^AssertionError: Please ensure that max_model_len is greater than the sum of input_len and output_len\.$/m);
    assert.doesNotMatch(r.all, /Warming up/);
    assert.match(classify(r.all, r.status).failure ?? '', /^input \+ output exceed max_model_len/);
  });

  it('refuses a --max-model-len above the model\'s before starting the engine', () => {
    const r = runVllm(['bench', 'latency', ...MODEL, '--max-model-len', '200000'], OFF);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /User-specified max_model_len \(200000\) is greater than the derived max_model_len/);
    assert.doesNotMatch(r.all, /EngineCore/);
    assert.match(classify(r.all, r.status).failure ?? '', /^configuration error: .*User-specified max_model_len \(200000\) is greater than the derived/);
  });

  it('runs out of memory in the first warm-up batch when B x (I + O) is too large', () => {
    const r = runVllm(['bench', 'latency', ...MODEL, '--batch-size', '1024', '--input-len', '4096', '--output-len', '128'], OFF);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /Warmup iterations:   0%/);
    assert.doesNotMatch(r.all, /Avg latency/);
    const c = classify(r.all, r.status);
    assert.equal(c.outcome, 'oom');
    assert.match(c.failure ?? '', /^CUDA out of memory: torch\.OutOfMemoryError/);
  });

  it('fails like numpy on zero measured iterations, and prints nothing with --profile', () => {
    const empty = runVllm(['bench', 'latency', ...MODEL, '--num-iters', '0', '--num-iters-warmup', '1'], OFF);
    assert.equal(empty.status, 1);
    assert.match(empty.stderr, /IndexError: index -1 is out of bounds for axis 0 with size 0/);
    assert.equal(classify(empty.all, empty.status).outcome, 'no_result');
    const profile = runVllm(['bench', 'latency', ...MODEL, '--profile', '--num-iters-warmup', '1'], OFF);
    assert.equal(profile.status, 0);
    assert.equal(parseLatencyLog(profile.all), null);
    assert.equal(classify(profile.all, profile.status).outcome, 'no_result');
  });

  it('answers a bad integer the way argparse does', () => {
    const r = runVllm(['bench', 'latency', '--batch-size', 'eight'], OFF);
    assert.equal(r.status, 2);
    assert.match(r.stderr, /^usage: vllm bench latency \[options\]\nvllm bench latency: error: argument --batch-size: invalid int value: 'eight'$/m);
  });

  it('keeps the scenario failures: a faulting kernel kills the first batch, an op without result prints none', () => {
    const only = (op: string) => ({ VLLM_SIM_SCENARIO: 'failures', USE_FLAGGEMS: '1', VLLM_FL_FLAGOS_WHITELIST: op, VLLM_FL_OOT_ENABLED: '0' });
    const fault = runVllm(['bench', 'latency', ...MODEL, '--num-iters-warmup', '0'], only('index_select'));
    assert.equal(fault.status, 1);
    assert.match(fault.stderr, /Bench iterations:   0%/);
    assert.deepEqual(classify(fault.all, fault.status), {
      outcome: 'engine_failure',
      failure: 'kernel fault: torch.AcceleratorError: CUDA error: an illegal memory access was encountered',
    });
    const silent = runVllm(['bench', 'latency', ...MODEL], only('argmax'));
    assert.equal(silent.status, 0);
    assert.deepEqual(classify(silent.all, silent.status), { outcome: 'no_result', failure: 'exited with code 0 without printing an Avg latency line' });
  });
});

describe('simulated vllm bench latency: the model', () => {
  const s = tinyScenario();
  const base = simulate(s, input({ USE_FLAGGEMS: '0', VLLM_FL_OOT_ENABLED: '0' }));

  it('times prefill of B x I tokens and O - 1 decode steps growing with the batch and the context', () => {
    // Defaults: 27 ms per 1000 prefill tokens; a step costs 6.5 ms + 0.02 ms per sequence + 0.04 ms per 1000 context tokens.
    const prefill = (27 * 8 * 1024) / 1000; // 221.184 ms
    const step = 6.5 + 0.02 * 8 + (0.04 * 8 * (1024 + 64)) / 1000; // 7.00816 ms
    assert.ok(Math.abs(batchSeconds(s.latency, 8, 1024, 128) - (prefill + 127 * step) / 1000) < 1e-12);
    assert.ok(batchSeconds(s.latency, 32, 1024, 128) > batchSeconds(s.latency, 8, 1024, 128));
    assert.ok(batchSeconds(s.latency, 8, 4096, 128) > batchSeconds(s.latency, 8, 1024, 128));
    assert.ok(batchSeconds(s.latency, 8, 1024, 256) > 1.9 * batchSeconds(s.latency, 8, 1024, 128) - 0.25);
  });

  it('discards slower warm-up iterations and, without noise, measures the batch time exactly', () => {
    const run = simulateLatency(s, base, latencyArgs({ batchSize: 8, inputLen: 1024, outputLen: 128, warmup: 3, measured: 4 }), 'k');
    assert.equal(run.outcome, 'ok');
    assert.equal(run.warmupS.length, 3);
    assert.equal(run.measuredS.length, 4);
    const t = batchSeconds(s.latency, 8, 1024, 128);
    assert.ok(Math.abs((run.warmupS[0] as number) - 1.3 * t) < 1e-12); // the first batch pays +30 %
    assert.ok((run.warmupS[0] as number) > (run.measuredS[0] as number));
    assert.ok(Math.abs((run.measuredS[3] as number) - t) / t < 1e-4); // 0.3 x 0.2^6 = 2e-5 left
  });

  it('follows the op effects: a -10 % throughput op takes 1/0.9 of the time', () => {
    const config = { op_backends: { mm: ['flagos'] } };
    const env = { USE_FLAGGEMS: '1', VLLM_FL_FLAGOS_WHITELIST: 'mm', VLLM_FL_OOT_ENABLED: '0', VLLM_FL_CONFIG: 'x.yaml' };
    const withMm = simulate(s, input(env, { config }));
    const a = latencyArgs({ warmup: 20, measured: 1 });
    const ratio = (simulateLatency(s, withMm, a, 'k').measuredS[0] as number) / (simulateLatency(s, base, a, 'k').measuredS[0] as number);
    assert.ok(Math.abs(ratio - 1 / 0.9) < 1e-9, String(ratio));
  });

  it('counts --n sequences, and fails points over max-model-len or memory', () => {
    const a = latencyArgs({ batchSize: 4, n: 2, warmup: 30, measured: 1 });
    const t = batchSeconds(s.latency, 8, a.inputLen, a.outputLen);
    assert.ok(Math.abs((simulateLatency(s, base, a, 'k').measuredS[0] as number) - t) / t < 1e-12);
    assert.equal(simulateLatency(s, base, latencyArgs({ inputLen: 2000, outputLen: 100, maxModelLen: 2048 }), 'k').outcome, 'too_long');
    const oom = tinyScenario({ latency: { oomTokens: 10_000 } });
    assert.equal(simulateLatency(oom, simulate(oom, input(OFF)), latencyArgs({ batchSize: 64, inputLen: 128, outputLen: 32 }), 'k').outcome, 'oom');
  });

  it('computes numpy statistics and prints Python floats', () => {
    assert.equal(percentile([4, 1, 3, 2], 50), 2.5);
    assert.equal(percentile([1, 2, 3, 4, 5], 10), 1.4);
    assert.equal(percentile([7], 99), 7);
    const stats = latencyStats([1, 2, 3, 4]);
    assert.equal(stats.avg, 2.5);
    assert.equal(stats.std, Math.sqrt(1.25));
    assert.deepEqual([pyFloat(2), pyFloat(0.5), pyFloat(1.5e-5), pyFloat(1e16), pyFloat(0.0001)], ['2.0', '0.5', '1.5e-05', '1e+16', '0.0001']);
  });
});
