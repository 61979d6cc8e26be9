import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { buildLatencyArgv, splitLatencyArgs } from '../../../src/runners/benchmarks/latency/args.js';
import { classifyLatencyRun } from '../../../src/runners/benchmarks/latency/classify.js';
import { mergeLatencyResults, parseLatencyJson, parseLatencyLog } from '../../../src/runners/benchmarks/latency/parse.js';
import type { RunEnd } from '../../../src/runners/classify-failure.js';

const FIXTURES = new URL('../../../../test/fixtures/logs/', import.meta.url);
const fixture = (name: string): string => readFileSync(new URL(name, FIXTURES), 'utf8');

/** The figures numpy computed for latency-success.{log,json} (written with vLLM's own format strings). */
const SUCCESS = {
  avgS: 0.8407465747953392,
  stdS: 0.001401084319540189,
  percentilesS: {
    10: 0.8393307749768719,
    25: 0.8398417499568313,
    50: 0.8405650830245577,
    75: 0.8412093750014901,
    90: 0.842359674602747,
    99: 0.8430498543635011,
  },
};
const LATENCIES = [0.8412093750014901, 0.8398417499568313, 0.8405650830245577, 0.8431265410035849, 0.8389901249902323];

describe('splitLatencyArgs', () => {
  it('takes the owned flags out in every spelling, last one winning, and keeps the rest in order', () => {
    const { rest, given } = splitLatencyArgs([
      '--model', 'Qwen/Qwen3-8B',
      '--batch-size', '4',
      '--input_len=256',
      '--load-format', 'dummy',
      '--batch-size=16',
      '--output-len', '64',
      '--num-iters-warmup', '2',
      '--num_iters', '7',
      '--output-json', 'mine.json',
      '-tp', '2',
      '--max-model-len', '32k',
      '--n', '2',
    ]);
    assert.deepEqual(rest, ['--model', 'Qwen/Qwen3-8B', '--load-format', 'dummy', '-tp', '2', '--max-model-len', '32k', '--n', '2']);
    assert.deepEqual(given, {
      batchSize: 16,
      inputLen: 256,
      outputLen: 64,
      warmup: 2,
      measured: 7,
      outputJson: 'mine.json',
      n: 2,
      maxModelLen: 32000,
      tensorParallel: 2,
      pipelineParallel: null,
    });
  });

  it('reads `-tp=2` and `--pipeline-parallel-size=2` in place', () => {
    const { rest, given } = splitLatencyArgs(['-tp=2', '--pipeline_parallel_size=2']);
    assert.deepEqual(rest, ['-tp=2', '--pipeline_parallel_size=2']);
    assert.deepEqual([given.tensorParallel, given.pipelineParallel], [2, 2]);
  });

  it('reads vLLM human-readable max-model-len sizes (k = 1000, K = 1024)', () => {
    assert.equal(splitLatencyArgs(['--max-model-len=32K']).given.maxModelLen, 32768);
    assert.equal(splitLatencyArgs(['--max_model_len', '4096']).given.maxModelLen, 4096);
  });

  it('rejects --profile and --use-beam-search, a missing value and a non-integer', () => {
    assert.throws(() => splitLatencyArgs(['--profile']), { code: 'E_USAGE', message: /print no latency/ });
    assert.throws(() => splitLatencyArgs(['--use_beam_search']), { code: 'E_USAGE', message: /beam-search/ });
    assert.throws(() => splitLatencyArgs(['--batch-size']), { code: 'E_USAGE', message: '--batch-size needs a value' });
    assert.throws(() => splitLatencyArgs(['--num-iters', '2.5']), { code: 'E_USAGE', message: "--num-iters needs a whole number, got '2.5'" });
  });
});

describe('buildLatencyArgv', () => {
  it('puts the point, the iterations and the result file after the pass-through arguments, once each', () => {
    const { rest } = splitLatencyArgs(['--model', 'm', '--batch-size', '4', '--enforce-eager']);
    const argv = buildLatencyArgv(rest, { batchSize: 32, inputLen: 1024, outputLen: 128 }, { warmup: 3, measured: 10 }, '/r/p.json');
    assert.deepEqual(argv, [
      'bench', 'latency', '--model', 'm', '--enforce-eager',
      '--batch-size', '32', '--input-len', '1024', '--output-len', '128',
      '--num-iters-warmup', '3', '--num-iters', '10', '--output-json', '/r/p.json',
    ]);
    assert.equal(argv.filter((a) => a === '--batch-size').length, 1);
  });

  it('refuses arguments that still hold an owned flag, and empty measurements', () => {
    const point = { batchSize: 1, inputLen: 1, outputLen: 1 };
    assert.throws(() => buildLatencyArgv(['--batch_size=2'], point, { warmup: 0, measured: 1 }, 'p'), { code: 'E_USAGE' });
    assert.throws(() => buildLatencyArgv([], point, { warmup: 0, measured: 0 }, 'p'), { code: 'E_USAGE', message: /measured iterations must be/ });
    assert.throws(() => buildLatencyArgv([], { ...point, batchSize: 0 }, { warmup: 1, measured: 1 }, 'p'), { code: 'E_USAGE' });
  });
});

describe('parseLatencyLog', () => {
  it('reads avg, std and every percentile, not the tqdm bars', () => {
    assert.deepEqual(parseLatencyLog(fixture('latency-success.log')), { ...SUCCESS, latenciesS: null });
  });

  it('reads an older block without a Std line or p99', () => {
    const r = parseLatencyLog(fixture('latency-old-no-std.log'));
    assert.equal(r?.avgS, SUCCESS.avgS);
    assert.equal(r?.stdS, null);
    assert.deepEqual(Object.keys(r?.percentilesS ?? {}), ['10', '25', '50', '75', '90']);
  });

  it('takes the last block, behind srun prefixes and ANSI codes, and Python exponents', () => {
    const log = [
      '0: Avg latency: 2.5 seconds',
      '0: 50% percentile latency: 2.4 seconds',
      '\x1b[32m0: Avg latency: 9.5e-05 seconds\x1b[0m',
      '0: 50% percentile latency: 9.25e-05 seconds',
    ].join('\n');
    assert.deepEqual(parseLatencyLog(log), { avgS: 9.5e-5, stdS: null, percentilesS: { 50: 9.25e-5 }, latenciesS: null });
  });

  it('has no result without an Avg line, or when it says nan', () => {
    assert.equal(parseLatencyLog(fixture('latency-max-model-len.log')), null);
    assert.equal(parseLatencyLog('Avg latency: nan seconds\n50% percentile latency: nan seconds'), null);
    assert.equal(parseLatencyLog('10% percentile latency: 1.0 seconds'), null);
  });
});

describe('parseLatencyJson and mergeLatencyResults', () => {
  it('reads every key of the --output-json file', () => {
    assert.deepEqual(parseLatencyJson(fixture('latency-success.json')), { ...SUCCESS, latenciesS: LATENCIES });
  });

  it('gives null for NaN (what Python writes for an empty run), bad JSON and a missing avg', () => {
    assert.equal(parseLatencyJson('{"avg_latency": NaN, "latencies": []}'), null);
    assert.equal(parseLatencyJson('{"avg_latency": 1.0'), null);
    assert.equal(parseLatencyJson('{"std_latency": 1.0}'), null);
    assert.equal(parseLatencyJson('[1.0]'), null);
  });

  it('prefers the file and fills its gaps from the console', () => {
    const json = parseLatencyJson('{"avg_latency": 1.5, "latencies": [1.5], "percentiles": {"50": 1.5}}');
    const log = parseLatencyLog(fixture('latency-success.log'));
    const merged = mergeLatencyResults(json, log);
    assert.equal(merged?.avgS, 1.5);
    assert.equal(merged?.stdS, SUCCESS.stdS);
    assert.equal(merged?.percentilesS[50], 1.5);
    assert.equal(merged?.percentilesS[99], SUCCESS.percentilesS[99]);
    assert.deepEqual(merged?.latenciesS, [1.5]);
    assert.equal(mergeLatencyResults(null, log), log);
    assert.equal(mergeLatencyResults(json, null), json);
  });
});

describe('classifyLatencyRun', () => {
  const end = (log: string, extra: Partial<RunEnd> = {}): RunEnd => ({
    log,
    hasResult: false,
    exitCode: 1,
    signal: null,
    timedOut: false,
    interrupted: false,
    spawnError: null,
    ...extra,
  });

  it('is ok with a result, whatever teardown did', () => {
    assert.deepEqual(classifyLatencyRun(end(fixture('latency-success.log'), { hasResult: true, exitCode: 1 })), { outcome: 'ok', failure: null });
  });

  it('names a point longer than max_model_len', () => {
    assert.deepEqual(classifyLatencyRun(end(fixture('latency-max-model-len.log'))), {
      outcome: 'nonzero_exit',
      failure: 'input + output exceed max_model_len: raise --max-model-len or drop the point',
    });
  });

  it('keeps the shared rules: an OOM in the warm-up batch is an oom with its root cause', () => {
    const c = classifyLatencyRun(end(fixture('latency-oom-warmup.log')));
    assert.equal(c.outcome, 'oom');
    assert.match(c.failure ?? '', /^CUDA out of memory: torch\.OutOfMemoryError: CUDA out of memory\. Tried to allocate 9\.28 GiB/);
  });

  it('says which line was missing on a silent exit, and names an empty measurement', () => {
    assert.deepEqual(classifyLatencyRun(end('Warming up...\n', { exitCode: 0 })), {
      outcome: 'no_result',
      failure: 'exited with code 0 without printing an Avg latency line',
    });
    const empty = 'Traceback (most recent call last):\nIndexError: index -1 is out of bounds for axis 0 with size 0\n';
    assert.equal(classifyLatencyRun(end(empty)).outcome, 'no_result');
    assert.equal(classifyLatencyRun(end('', { timedOut: true, exitCode: null, signal: 'SIGKILL' })).outcome, 'timeout');
  });
});
