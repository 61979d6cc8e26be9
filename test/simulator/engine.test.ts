import assert from 'node:assert/strict';
import { test } from 'node:test';
import { readEngineArgs } from '../../simulator/engine-args.js';
import { engineOptimum, engineTruth, expandGrid, memoryOf, normaliseEngine, planEngine, resolvePoint, type GridPoint } from '../../simulator/engine.js';
import { simulate } from '../../simulator/model.js';
import { loadScenario } from '../../simulator/scenario.js';
import { parseLogMemory } from '../../src/runners/log-memory.js';
import { input, runVllm, tinyScenario } from './support.js';

const OFF = { USE_FLAGGEMS: '0', VLLM_FL_OOT_ENABLED: '0' };
const args = (argv: string[]) => {
  const read = readEngineArgs(argv);
  if ('problem' in read) throw new Error(read.problem);
  return read.args;
};

test('engine arguments are read with their short aliases, = forms and argparse rejections', () => {
  const a = args(['-tp', '2', '--pipeline-parallel-size=2', '--max_num_seqs', '512', '--kv-cache-dtype', 'fp8', '--no-enable-chunked-prefill']);
  assert.equal(a.tp, 2);
  assert.equal(a.pp, 2);
  assert.equal(a.maxNumSeqs, 512);
  assert.equal(a.kvCacheDtype, 'fp8');
  assert.equal(a.chunkedPrefill, false);
  assert.deepEqual(args(['--speculative-config', '{"method": "ngram", "num_speculative_tokens": 5}']).speculative, { method: 'ngram', numSpeculativeTokens: 5 });
  assert.equal(args(['--speculative-config', 'null']).speculative, null);
  assert.deepEqual(readEngineArgs(['-tp', 'two']), { problem: "argument --tensor-parallel-size: invalid int value: 'two'" });
  assert.deepEqual(readEngineArgs(['--block-size', '24']), { problem: 'argument --block-size: invalid choice: 24 (choose from 1, 8, 16, 32, 64, 128)' });
  assert.match(JSON.stringify(readEngineArgs(['--speculative-config', '{ngram'])), /invalid loads value/);
});

test('the memory plan: weights over tp, fp8 doubling the KV cache, the default 8 B model at 428k tokens', () => {
  const s = tinyScenario({ engine: {} });
  const e = normaliseEngine({});
  const base = memoryOf(e, resolvePoint(s, e, args([])));
  assert.ok(Math.abs(base.weightsGiB - 14.96) < 1e-9);
  assert.ok(base.kvCacheTokens > 400_000 && base.kvCacheTokens < 460_000, String(base.kvCacheTokens));
  const fp8 = memoryOf(e, resolvePoint(s, e, args(['--kv-cache-dtype', 'fp8'])));
  assert.ok(Math.abs(fp8.kvCacheTokens / base.kvCacheTokens - 2) < 1e-3);
  const tp2 = memoryOf(e, resolvePoint(s, e, args(['-tp', '2'])));
  assert.ok(Math.abs(tp2.weightsGiB - 7.48) < 1e-9);
  assert.ok(tp2.kvCacheTokens > 2 * base.kvCacheTokens, 'halved weights and KV heads more than double the tokens');
});

test('the baseline configuration reproduces the baseline; explicit defaults are the same configuration', () => {
  const s = loadScenario('engine-moe');
  assert.ok(Math.abs(engineTruth(s, {}).throughput - s.baseline.outputTokensPerSec) < 1e-6);
  const spelled = engineTruth(s, { 'max-num-seqs': 256, 'max-num-batched-tokens': 8192, 'gpu-memory-utilization': 0.9 });
  assert.equal(spelled.throughput, engineTruth(s, {}).throughput);
  const a = simulate(s, input(OFF, { args: [] }));
  const b = simulate(s, input(OFF, { args: ['--max-num-seqs', '256', '--block-size', '16'] }));
  assert.equal(a.signature, b.signature);
  assert.deepEqual(a.throughput, b.throughput);
  const c = simulate(s, input(OFF, { args: ['-tp', '2'] }));
  assert.notEqual(c.signature, a.signature);
});

test('failures past the memory ceiling, in the order vLLM meets them', () => {
  const s = loadScenario('engine-moe');
  const kind = (point: GridPoint) => engineTruth(s, point).failure?.kind ?? 'ok';
  assert.equal(kind({ 'tensor-parallel-size': 3 }), 'heads_not_divisible');
  assert.equal(kind({ 'tensor-parallel-size': 16 }), 'too_many_gpus');
  assert.equal(kind({ 'max-num-batched-tokens': 128 }), 'batched_tokens_below_seqs');
  assert.equal(kind({ 'no-enable-chunked-prefill': true }), 'batched_tokens_below_model_len');
  assert.equal(kind({ 'max-num-batched-tokens': 65536 }), 'no_kv_memory');
  assert.equal(kind({ 'gpu-memory-utilization': 0.99 }), 'cuda_oom');
  assert.equal(kind({ 'max-model-len': 65536 }), 'max_model_len_too_large');
  const large = loadScenario('engine-large-dense');
  assert.equal(engineTruth(large, {}).failure?.kind, 'kv_too_small');
  assert.equal(engineTruth(large, { 'kv-cache-dtype': 'fp8' }).failure, null, 'fp8 KV fits one request on one GPU');
  assert.equal(engineTruth(large, { 'tensor-parallel-size': 2 }).failure, null);
  const huge = tinyScenario({ engine: { weightsGiB: 100 } });
  assert.equal(planEngine(huge, huge.engine ?? normaliseEngine({}), args([])).failure?.stage, 'load');
});

test('memory failures are monotone in max-num-batched-tokens and gpu-memory-utilization', () => {
  const s = loadScenario('engine-moe');
  for (const axis of [
    { flag: 'max-num-batched-tokens', values: [8192, 16384, 32768, 65536, 131072] },
    { flag: 'gpu-memory-utilization', values: [0.9, 0.95, 0.98, 0.99, 1] },
  ]) {
    const fails = axis.values.map((v) => engineTruth(s, { [axis.flag]: v }).failure !== null);
    const first = fails.indexOf(true);
    assert.ok(first > 0, axis.flag);
    assert.ok(fails.slice(first).every(Boolean), `${axis.flag}: ${fails.join(',')}`);
  }
});

test('throughput rises to a knee in max-num-seqs, tp pays per GPU only where memory starves the batch', () => {
  const small = loadScenario('engine-small-dense');
  const bySeqs = [64, 128, 256, 512].map((n) => engineTruth(small, { 'max-num-seqs': n }).throughput);
  for (let i = 1; i < bySeqs.length; i++) assert.ok((bySeqs[i] ?? 0) > (bySeqs[i - 1] ?? 0));
  const gain = (bySeqs[3] ?? 0) / (bySeqs[2] ?? 1);
  assert.ok(gain < (bySeqs[1] ?? 0) / (bySeqs[0] ?? 1), 'diminishing returns past the knee');
  const perGpu = (s: typeof small, tp: number) => engineTruth(s, { 'tensor-parallel-size': tp, 'max-num-seqs': 1024 }).perGpu;
  assert.ok(perGpu(small, 2) < perGpu(small, 1), 'a small dense model loses per GPU with tp');
  const moe = loadScenario('engine-moe');
  assert.ok(perGpu(moe, 2) > 1.5 * perGpu(moe, 1), 'the starved MoE gains per GPU with tp=2');
});

test('speculative gains depend on the scenario and can be below 1', () => {
  const ngram = (k: number) => ({ 'speculative-config': `{"method": "ngram", "num_speculative_tokens": ${k}}` });
  const ratio = (name: string, k: number) => engineTruth(loadScenario(name), ngram(k)).throughput / engineTruth(loadScenario(name), {}).throughput;
  assert.ok(Math.abs(ratio('engine-small-dense', 6) - 1.25) < 1e-9, 'the full gain at its best token count');
  assert.ok(ratio('engine-small-dense', 3) < 1.25 && ratio('engine-small-dense', 3) > 1);
  assert.ok(Math.abs(ratio('engine-moe', 5) - 0.92) < 1e-9, 'a loss where speculation costs more than it saves');
});

test('engineOptimum is the best point of the grid by output tokens/s per GPU', () => {
  const s = loadScenario('engine-moe');
  const axes = { 'tensor-parallel-size': [1, 2, 4], 'max-num-seqs': [256, 512, 1024, 2048], 'max-num-batched-tokens': [8192, 16384, 32768] };
  const o = engineOptimum(s, axes);
  assert.equal(o.points.length, expandGrid(axes).length);
  assert.deepEqual(o.best.point, { 'tensor-parallel-size': 2, 'max-num-seqs': 2048, 'max-num-batched-tokens': 32768 });
  for (const p of o.points) assert.ok(p.perGpu <= o.best.perGpu);
  assert.equal(o.best.gpus, 2);
});

test('the bin prints the memory lines vLLM prints, from the plan, and a failing point fails with vLLM\'s message', () => {
  const env = { ...OFF, VLLM_SIM_SCENARIO: 'engine-moe', VLLM_SIM_TIME_SCALE: '0' };
  const ok = runVllm(['bench', 'throughput', '--model', 'openai/gpt-oss-120b', '-tp', '2'], env);
  assert.equal(ok.status, 0, ok.all);
  assert.match(ok.all, /Model loading took 30\.4000 GiB and [\d.]+ seconds/);
  assert.match(ok.all, /Available KV cache memory: 38\.67 GiB/);
  assert.match(ok.all, /GPU KV cache size: 1,126,368 tokens/);
  assert.match(ok.all, /Maximum concurrency for 32,768 tokens per request: 34\.37x/);
  assert.match(ok.all, /Graph capturing finished in \d+ secs, took 0\.81 GiB/);
  assert.match(ok.all, /Chunked prefill is enabled with max_num_batched_tokens=8192\./);
  const kv = runVllm(['bench', 'throughput', '--model', 'm', '--max-num-batched-tokens', '65536'], env);
  assert.equal(kv.status, 1);
  assert.match(kv.all, /Available KV cache memory: -\d+\.\d\d GiB/);
  assert.match(kv.all, /ValueError: No available memory for the cache blocks/);
  assert.doesNotMatch(kv.all, /^Throughput:/m);
  const heads = runVllm(['bench', 'throughput', '--model', 'm', '-tp', '3'], env);
  assert.equal(heads.status, 1);
  assert.match(heads.stderr, /ValueError: Total number of attention heads \(64\) must be divisible by tensor parallel size \(3\)\./);
  const usage = runVllm(['bench', 'throughput', '--model', 'm', '--kv-cache-dtype', 'fp4'], env);
  assert.equal(usage.status, 2);
  assert.match(usage.stderr, /argument --kv-cache-dtype: invalid choice: 'fp4'/);
});

test('a scenario without an engine section ignores engine arguments', () => {
  const s = tinyScenario();
  const a = simulate(s, input(OFF, { args: [] }));
  const b = simulate(s, input(OFF, { args: ['-tp', '4', '--max-num-seqs', '8'] }));
  assert.deepEqual(b.throughput, a.throughput);
  assert.equal(b.signature, a.signature);
  assert.equal(b.engine, null);
});

test("autotune's parser reads every memory line the bin prints, with or without an engine model", () => {
  const moe = runVllm(['bench', 'throughput', '--model', 'openai/gpt-oss-120b', '-tp', '2'], { ...OFF, VLLM_SIM_SCENARIO: 'engine-moe', VLLM_SIM_TIME_SCALE: '0' });
  assert.equal(moe.status, 0, moe.all);
  const m = parseLogMemory(moe.all);
  assert.deepEqual({ ...m, graphCaptureS: null }, {
    modelMemoryGiB: 30.4,
    kvCacheMemoryGiB: 38.67,
    kvCacheTokens: 1126368,
    maxConcurrency: { tokensPerRequest: 32768, factor: 34.37 },
    graphCaptureS: null,
    graphMemoryGiB: 0.81,
  });
  assert.ok(m.graphCaptureS !== null && Number.isInteger(m.graphCaptureS), 'vLLM prints whole seconds');
  const plain = runVllm(['bench', 'throughput', '--model', '/models/Qwen3-4B', '--input-len', '512', '--output-len', '128'], { ...OFF, VLLM_SIM_SCENARIO: 'typical', VLLM_SIM_TIME_SCALE: '0' });
  assert.equal(plain.status, 0, plain.all);
  assert.deepEqual(parseLogMemory(plain.all), {
    modelMemoryGiB: 14.99,
    kvCacheMemoryGiB: 52.31,
    kvCacheTokens: 428528,
    maxConcurrency: { tokensPerRequest: 131072, factor: 3.27 },
    graphCaptureS: 4,
    graphMemoryGiB: 0.52,
  });
});
