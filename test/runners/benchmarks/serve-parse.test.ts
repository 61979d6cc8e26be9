import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { buildBenchServeArgv, buildServeArgv, maxModelLenArg, splitServeModel } from '../../../src/runners/benchmarks/serve/args.js';
import { classifyLoad, classifyServerFailure } from '../../../src/runners/benchmarks/serve/classify.js';
import { mergeServeResults, parseServeJson, parseServeLog } from '../../../src/runners/benchmarks/serve/parse.js';
import { apiServerAddress, logShowsStartupComplete, parseServerMemory } from '../../../src/runners/benchmarks/serve/server-log.js';
import { SseParser } from '../../../src/runners/benchmarks/serve/sse.js';
import { parseCase } from '../../../src/tuner/serve-cases.js';
import { fixtureLog } from '../fixture-logs.js';

describe('vllm bench serve console summary', () => {
  it('reads every field of the current format, percentiles and E2EL included', () => {
    const s = parseServeLog(fixtureLog('serve-bench-current.log'));
    assert.ok(s !== null);
    assert.equal(s.completed, 256);
    assert.equal(s.failed, 0);
    assert.equal(s.durationS, 52.31);
    assert.equal(s.totalInputTokens, 262144);
    assert.equal(s.totalOutputTokens, 262144);
    assert.equal(s.requestThroughput, 4.89);
    assert.equal(s.outputThroughput, 5011.39);
    assert.equal(s.totalTokenThroughput, 10022.78);
    assert.deepEqual(s.latency.ttft, { meanMs: 183.22, medianMs: 170.01, stdMs: null, percentilesMs: { '50': 170.01, '90': 301.77, '99': 412.5 } });
    assert.equal(s.latency.tpot?.meanMs, 12.58);
    assert.equal(s.latency.itl?.percentilesMs['99'], 25.71);
    assert.equal(s.latency.e2el?.percentilesMs['90'], 13290.12);
  });

  it('reads the older format: no Failed line (unknown, not 0), "Total Token throughput", no E2EL block', () => {
    const s = parseServeLog(fixtureLog('serve-bench-legacy.log'));
    assert.ok(s !== null);
    assert.equal(s.completed, 32);
    assert.equal(s.failed, null);
    assert.equal(s.totalTokenThroughput, 868.8);
    assert.equal(s.latency.ttft?.percentilesMs['99'], 10999.46);
    assert.equal(s.latency.e2el, undefined);
  });

  it('keeps the last block, ignores an incomplete one and lines outside it', () => {
    const two = `${fixtureLog('serve-bench-legacy.log')}\n${fixtureLog('serve-bench-current.log')}`;
    assert.equal(parseServeLog(two)?.completed, 256);
    assert.equal(parseServeLog('Maximum request concurrency: 64\nSuccessful requests: 3\n'), null);
    const cut = fixtureLog('serve-bench-current.log').split('\n').slice(0, 11).join('\n');
    assert.equal(parseServeLog(cut), null, 'a block without request throughput is no measurement');
  });

  it('reads srun-labelled and container-prefixed lines', () => {
    const labelled = fixtureLog('serve-bench-current.log').split('\n').map((l) => `0: ${l}`).join('\n');
    assert.equal(parseServeLog(labelled)?.latency.tpot?.medianMs, 12.55);
  });
});

describe('vllm bench serve --save-result JSON', () => {
  it('reads counts, throughputs, std and pNN keys; a bare NaN costs only that value', () => {
    const s = parseServeJson(fixtureLog('serve-bench-result.json'));
    assert.ok(s !== null);
    assert.equal(s.completed, 3);
    assert.equal(s.failed, 1);
    assert.equal(s.durationS, 2.0312446029996575);
    assert.equal(s.latency.ttft?.stdMs, 8.16496580927726);
    assert.deepEqual(s.latency.ttft?.percentilesMs, { '50': 110, '90': 118, '99': 119.8 });
    assert.equal(s.latency.e2el?.stdMs, null);
    assert.equal(s.latency.e2el?.meanMs, 1550);
  });

  it('counts failures from errors when an older file has no failed key', () => {
    const data = JSON.parse(fixtureLog('serve-bench-result.json').replace('NaN', 'null')) as Record<string, unknown>;
    delete data['failed'];
    assert.equal(parseServeJson(JSON.stringify(data))?.failed, 1);
  });

  it('refuses files that are not a result', () => {
    assert.equal(parseServeJson('{'), null);
    assert.equal(parseServeJson('[]'), null);
    assert.equal(parseServeJson('{"completed": 3}'), null);
  });

  it('merges: JSON precision wins, the console fills what the JSON lacks', () => {
    const json = parseServeJson('{"completed": 256, "duration": 52.3111, "request_throughput": 4.8938, "mean_ttft_ms": 183.2201, "median_ttft_ms": 170.0149}');
    const merged = mergeServeResults(json, parseServeLog(fixtureLog('serve-bench-current.log')));
    assert.equal(merged?.durationS, 52.3111);
    assert.equal(merged?.failed, 0);
    assert.equal(merged?.latency.ttft?.meanMs, 183.2201);
    assert.equal(merged?.latency.ttft?.percentilesMs['99'], 412.5);
    assert.equal(merged?.latency.tpot?.meanMs, 12.58);
  });
});

describe('vllm serve log', () => {
  it('reads model memory, KV-cache memory and tokens (first rank), max concurrency, address and readiness', () => {
    const log = fixtureLog('serve-startup-tp2.log');
    assert.deepEqual(parseServerMemory(log), { modelMemoryGiB: 30.5913, kvCacheMemoryGiB: 91.37, kvCacheTokens: 748528, maxConcurrency: { tokensPerRequest: 40960, factor: 18.27 }, graphCaptureS: null, graphMemoryGiB: null });
    assert.equal(apiServerAddress(log), 'http://127.0.0.1:39811');
    assert.equal(logShowsStartupComplete(log), true);
    assert.equal(logShowsStartupComplete(log.replace('Application startup complete.', '')), false);
  });

  it('reads the newer "GiB memory and" wording', () => {
    assert.equal(parseServerMemory('INFO [gpu_model_runner.py:2653] Model loading took 15.27 GiB memory and 4.33 seconds').modelMemoryGiB, 15.27);
  });

  it('classifies an OOM at start from the engine root cause', () => {
    const c = classifyServerFailure({ kind: 'exited', log: fixtureLog('serve-startup-oom.log'), exitCode: 1, signal: null, waitedS: 40, modelsAnswered: false, startupLogged: false });
    assert.equal(c.outcome, 'oom');
    assert.match(c.failure ?? '', /CUDA out of memory: torch.OutOfMemoryError/);
  });

  it('classifies an unexplained exit as engine_failure and a silent wait as timeout', () => {
    const exited = classifyServerFailure({ kind: 'exited', log: 'ValueError: something odd\n', exitCode: 1, signal: null, waitedS: 3, modelsAnswered: false, startupLogged: false });
    assert.deepEqual(exited, { outcome: 'engine_failure', failure: 'server exited with code 1: ValueError: something odd' });
    const never = classifyServerFailure({ kind: 'never_ready', log: 'Model loading took 1.0 GiB and 1 seconds\n', exitCode: null, signal: null, waitedS: 600, modelsAnswered: false, startupLogged: false });
    assert.deepEqual(never, { outcome: 'timeout', failure: 'server not ready after 600 s (no startup complete in the log)' });
  });
});

describe('load classification', () => {
  const end = { log: '', exitCode: 0, signal: null, timedOut: false, interrupted: false, spawnError: null };
  it('fails a run with any failed request, with its counts', () => {
    const s = parseServeLog(fixtureLog('serve-bench-failed.log'));
    assert.deepEqual(classifyLoad({ ...end, summary: s }), { outcome: 'nonzero_exit', failure: '3 of 100 requests failed' });
  });
  it('passes a clean run and names a missing block', () => {
    assert.equal(classifyLoad({ ...end, summary: parseServeLog(fixtureLog('serve-bench-current.log')) }).outcome, 'ok');
    assert.equal(classifyLoad({ ...end, summary: null }).outcome, 'no_result');
  });
});

describe('serve argv', () => {
  it('bench serve: the case, exact lengths, ignore_eos and the result file replace the user spellings', () => {
    const argv = buildBenchServeArgv(['--model', 'm', '--num_prompts', '5', '--max-concurrency=3', '--save-result', '--seed', '9', '--backend', 'openai'], {
      baseUrl: 'http://127.0.0.1:4000',
      case: parseCase('1024x128@64/256'),
      resultDir: '/tmp/r',
      resultFilename: 'x.json',
      percentiles: ['95'],
      seed: 1,
    });
    assert.deepEqual(argv.slice(0, 6), ['bench', 'serve', '--model', 'm', '--backend', 'openai']);
    const value = (flag: string): string | undefined => argv[argv.indexOf(flag) + 1];
    assert.equal(value('--num-prompts'), '256');
    assert.equal(value('--max-concurrency'), '64');
    assert.equal(value('--random-input-len'), '1024');
    assert.equal(value('--metric-percentiles'), '50,90,95,99');
    assert.equal(value('--seed'), '1');
    assert.equal(argv.filter((a) => a === '--save-result').length, 1);
    assert.ok(!argv.includes('--num_prompts') && !argv.includes('--max-concurrency=3'));
    const rate = buildBenchServeArgv([], { baseUrl: 'u', case: parseCase('128x128r2.5'), resultDir: 'd', resultFilename: 'f', percentiles: [], seed: 0 });
    assert.equal(rate[rate.indexOf('--request-rate') + 1], '2.5');
    assert.ok(!rate.includes('--max-concurrency'));
  });

  it('vllm serve: loopback host and our port replace the user ones; model from positional or --model', () => {
    assert.deepEqual(buildServeArgv('m', ['--port', '8000', '--host=0.0.0.0', '-tp', '2'], 4321), ['serve', 'm', '-tp', '2', '--host', '127.0.0.1', '--port', '4321']);
    assert.deepEqual(splitServeModel(['Qwen/Qwen3-8B', '--max-model-len', '32k']), { model: 'Qwen/Qwen3-8B', engineArgs: ['--max-model-len', '32k'] });
    assert.deepEqual(splitServeModel(['--model=x', '--dtype', 'bf16']), { model: 'x', engineArgs: ['--dtype', 'bf16'] });
    assert.equal(maxModelLenArg(['--max-model-len', '32k']), 32000);
    assert.equal(maxModelLenArg(['--max_model_len=4K']), 4096);
    assert.equal(maxModelLenArg([]), null);
  });
});

describe('SSE parser', () => {
  it('joins events split anywhere, skips comments, handles CRLF and an unterminated last event', () => {
    const p = new SseParser();
    const text = ': ping\r\ndata: {"a":1}\r\n\r\ndata: [DO';
    const events: string[] = [];
    for (const ch of text) events.push(...p.push(ch));
    events.push(...p.push('NE]'));
    assert.deepEqual(events, ['{"a":1}']);
    assert.deepEqual(p.end(), ['[DONE]']);
    assert.deepEqual(new SseParser().push('data: a\ndata: b\n\n'), ['a\nb']);
  });
});
