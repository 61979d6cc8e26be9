import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { memoryMetrics, parseLogMemory, type LogMemory } from '../../src/runners/log-memory.js';
import { throughputBenchmark } from '../../src/runners/benchmarks/throughput/index.js';
import type { RunRequest } from '../../src/tuner/ports.js';
import { fixtureLog } from './fixture-logs.js';

const NONE: LogMemory = { modelMemoryGiB: null, kvCacheMemoryGiB: null, kvCacheTokens: null, maxConcurrency: null, graphCaptureS: null, graphMemoryGiB: null };

describe('engine memory lines', () => {
  it('reads a v1 start-up (latency-success.log, vLLM 0.10-0.11 lines)', () => {
    const m = parseLogMemory(fixtureLog('latency-success.log'));
    assert.equal(m.modelMemoryGiB, 15.27);
    assert.equal(m.kvCacheMemoryGiB, 104.53);
    assert.equal(m.kvCacheTokens, 761248);
  });

  it('keeps the first rank of a tensor-parallel server and its maximum concurrency', () => {
    const m = parseLogMemory(fixtureLog('serve-startup-tp2.log'));
    assert.deepEqual(
      { model: m.modelMemoryGiB, kv: m.kvCacheMemoryGiB, tokens: m.kvCacheTokens, conc: m.maxConcurrency },
      { model: 30.5913, kv: 91.37, tokens: 748528, conc: { tokensPerRequest: 40960, factor: 18.27 } },
    );
  });

  it('reads the negative KV-cache figure printed before "No available memory for the cache blocks" (vllm-bench-throughput.md 6.2)', () => {
    const m = parseLogMemory(fixtureLog('kv-cache.log'));
    assert.equal(m.kvCacheMemoryGiB, -0.53);
    assert.equal(m.modelMemoryGiB, 15.2683, '"Loading model weights took 15.2683 GiB" (v1 0.8-0.9)');
  });

  it('reads every wording vLLM releases used', () => {
    const cases: [string, Partial<LogMemory>][] = [
      ['(EngineCore_DP0 pid=212) INFO 10-06 12:00:21 [gpu_model_runner.py:2653] Model loading took 14.9935 GiB and 4.210123 seconds', { modelMemoryGiB: 14.9935 }],
      ['INFO [gpu_model_runner.py:2653] Model loading took 55.22 GiB memory and 20.3s', { modelMemoryGiB: 55.22 }],
      ['INFO 09-12 10:01:02 model_runner.py:1014] Loading model weights took 14.9888 GB', { modelMemoryGiB: 14.9888 }],
      ['INFO [gpu_worker.py:298] Available KV cache memory: 104.73 GiB', { kvCacheMemoryGiB: 104.73 }],
      [
        'INFO [worker.py:267] model weights take 14.99GiB; non_torch_memory takes 0.16GiB; PyTorch activation peak memory takes 1.23GiB; the rest of the memory reserved for KV Cache is 54.89GiB.',
        { kvCacheMemoryGiB: 54.89 },
      ],
      ['INFO [kv_cache_utils.py:1087] GPU KV cache size: 49,152 tokens', { kvCacheTokens: 49152 }],
      ['INFO [executor_base.py:115] Maximum concurrency for 32768 tokens per request: 13.67x', { maxConcurrency: { tokensPerRequest: 32768, factor: 13.67 } }],
      ['(EngineCore_DP0 pid=212) INFO 10-06 12:00:40 [gpu_model_runner.py:3480] Graph capturing finished in 8 secs, took 0.31 GiB', { graphCaptureS: 8, graphMemoryGiB: 0.31 }],
      ['INFO 11-03 15:47:45 [model_runner.py:1671] Graph capturing finished in 2 secs, took 0.11 GiB', { graphCaptureS: 2, graphMemoryGiB: 0.11 }],
      ['INFO 08-01 10:00:00 model_runner.py:1225] Graph capturing finished in 12 secs.', { graphCaptureS: 12, graphMemoryGiB: null }],
      ['INFO Graph capturing finished in 1 secs', { graphCaptureS: 1, graphMemoryGiB: null }],
    ];
    for (const [line, want] of cases) assert.deepEqual(parseLogMemory(`noise\n${line}\nmore noise\n`), { ...NONE, ...want }, line);
  });

  it('ignores the CUDA-graph warning and lines that only look alike', () => {
    const log = [
      'INFO [gpu_model_runner.py:3480] CUDA graphs can take additional 1~3 GiB memory per GPU. If you are running out of memory, consider decreasing `gpu_memory_utilization`',
      'Capturing CUDA graphs (mixed prefill-decode, PIECEWISE): 100%|██████████| 67/67 [00:03<00:00, 18.02it/s]',
      'Total num prompt tokens:  5014',
    ].join('\n');
    assert.deepEqual(parseLogMemory(log), NONE);
  });

  it('turns the figures into named metrics, leaving out what the log lacked', () => {
    assert.deepEqual(memoryMetrics({ ...NONE, modelMemoryGiB: 15.27, maxConcurrency: { tokensPerRequest: 40960, factor: 18.27 }, graphCaptureS: 8, graphMemoryGiB: 0.31 }), {
      model_memory_gib: 15.27,
      max_concurrency: 18.27,
      cuda_graph_capture_s: 8,
      cuda_graph_memory_gib: 0.31,
    });
    assert.deepEqual(memoryMetrics(NONE), {});
  });
});

describe('the throughput benchmark stores the memory lines beside its result', () => {
  const request = {} as RunRequest;
  it('adds them to a result', () => {
    const log = `${fixtureLog('latency-success.log')}\nThroughput: 7.15 requests/s, 4656.00 total tokens/s, 1072.15 output tokens/s\n`;
    assert.deepEqual(throughputBenchmark.measure(log, null, request), {
      total_tokens_per_s: 4656,
      output_tokens_per_s: 1072.15,
      requests_per_s: 7.15,
      model_memory_gib: 15.27,
      kv_cache_gib: 104.53,
      kv_cache_tokens: 761248,
    });
  });
  it('a run without a result has no measurement, memory lines or not', () => {
    assert.equal(throughputBenchmark.measure(fixtureLog('kv-cache.log'), null, request), null);
  });
});
