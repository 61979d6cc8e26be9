/** The parser against real `vllm bench serve` output (test/fixtures/serve/README.md says where each comes from). */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { mergeServeResults, parseServeJson, parseServeLog } from '../../../src/runners/benchmarks/serve/parse.js';
import { ROOT } from '../../support/cli.js';

const capture = (name: string): string => readFileSync(join(ROOT, 'test', 'fixtures', 'serve', name), 'utf8');

describe('real vllm bench serve captures', () => {
  it('the current format with four percentiles and E2EL, at a configured request rate', () => {
    assert.deepEqual(parseServeLog(capture('bench-serve-rate-percentiles.log')), {
      completed: 50,
      failed: 0,
      durationS: 2616.66,
      totalInputTokens: 57622,
      totalOutputTokens: 209303,
      requestThroughput: 0.02,
      outputThroughput: 79.99,
      totalTokenThroughput: 102.01,
      latency: {
        ttft: { meanMs: 1889.96, medianMs: 1797.45, stdMs: null, percentilesMs: { '50': 1797.45, '90': 2624.52, '95': 2874.47, '99': 3157.65 } },
        tpot: { meanMs: 365.28, medianMs: 370.94, stdMs: null, percentilesMs: { '50': 370.94, '90': 379.81, '95': 382.86, '99': 387.58 } },
        itl: { meanMs: 358.96, medianMs: 363.81, stdMs: null, percentilesMs: { '50': 363.81, '90': 376.22, '95': 378.19, '99': 742.45 } },
        e2el: { meanMs: 1504049.94, medianMs: 1455660.58, stdMs: null, percentilesMs: { '50': 1455660.58, '90': 2263712.96, '95': 2433987.04, '99': 2487832.65 } },
      },
    });
  });

  it('a block right after the progress bar and a tip line; no Failed line reads as unknown', () => {
    assert.deepEqual(parseServeLog(capture('bench-serve-sharegpt-tqdm.log')), {
      completed: 100,
      failed: null,
      durationS: 115.87,
      totalInputTokens: 23260,
      totalOutputTokens: 22061,
      requestThroughput: 0.86,
      outputThroughput: 190.4,
      totalTokenThroughput: 391.14,
      latency: {
        ttft: { meanMs: 8387.8, medianMs: 9066.78, stdMs: null, percentilesMs: { '99': 14937.16 } },
        tpot: { meanMs: 324.13, medianMs: 215.65, stdMs: null, percentilesMs: { '99': 1288.01 } },
        itl: { meanMs: 191.4, medianMs: 180.39, stdMs: null, percentilesMs: { '99': 1299.17 } },
      },
    });
  });

  it('a speculative-decoding section inside the block changes nothing of the serving figures', () => {
    assert.deepEqual(parseServeLog(capture('bench-serve-speculative.log')), {
      completed: 20,
      failed: 0,
      durationS: 309.35,
      totalInputTokens: 81920,
      totalOutputTokens: 20480,
      requestThroughput: 0.06,
      outputThroughput: 66.2,
      totalTokenThroughput: 331.02,
      latency: {
        ttft: { meanMs: 2522.55, medianMs: 2795.87, stdMs: null, percentilesMs: { '99': 2798.58 } },
        tpot: { meanMs: 12.65, medianMs: 11.9, stdMs: null, percentilesMs: { '99': 17.05 } },
        itl: { meanMs: 40.5, medianMs: 40.5, stdMs: null, percentilesMs: { '99': 41.16 } },
      },
    });
  });

  it('a run\'s console and its --save-result file: the file\'s full precision and std win, both agree to the console\'s 2 decimals', () => {
    const log = parseServeLog(capture('bench-serve-ascend-rate1.log'));
    const json = parseServeJson(capture('bench-serve-ascend-rate1.json'));
    assert.deepEqual(json, {
      completed: 200,
      failed: 0,
      durationS: 203.5104987300001,
      totalInputTokens: 40000,
      totalOutputTokens: 25600,
      requestThroughput: 0.9827502819171137,
      outputThroughput: 125.79203608539055,
      totalTokenThroughput: 322.3420924688133,
      latency: {
        ttft: { meanMs: 95.6344293046277, medianMs: 95.6995899323374, stdMs: 12.71286480609931, percentilesMs: { '99': 143.32562107359988 } },
        tpot: { meanMs: 27.911832109121164, medianMs: 27.67841275561395, stdMs: 1.0193481469453176, percentilesMs: { '99': 31.202747922493362 } },
        itl: { meanMs: 27.911833959895617, medianMs: 27.339585009030998, stdMs: 3.1292647193476784, percentilesMs: { '99': 42.0829780306667 } },
      },
    });
    assert.ok(log !== null && json !== null);
    const round = (x: number): number => Math.round(x * 100) / 100;
    assert.equal(round(json.durationS), log.durationS);
    assert.equal(round(json.outputThroughput ?? 0), log.outputThroughput);
    assert.equal(round(json.requestThroughput), log.requestThroughput);
    for (const m of ['ttft', 'tpot', 'itl'] as const) {
      assert.equal(round(json.latency[m]?.meanMs ?? 0), log.latency[m]?.meanMs, m);
      assert.equal(round(json.latency[m]?.percentilesMs['99'] ?? 0), log.latency[m]?.percentilesMs['99'], m);
    }
    assert.deepEqual(mergeServeResults(json, log), json);
  });

  it('benchmark_serving.py of 2025: no failed key, the rate as a string, extra metadata keys', () => {
    const json = parseServeJson(capture('benchmark-serving-llmd-inf.json'));
    assert.ok(json !== null);
    assert.equal(json.completed, 900);
    assert.equal(json.failed, null, 'no failed key and no errors list: unknown');
    assert.equal(json.durationS, 20.918269691000205);
    assert.equal(json.outputThroughput, 11481.016525153933);
    assert.deepEqual(json.latency.tpot, { meanMs: 44.35695594492121, medianMs: 43.742781012684844, stdMs: 7.88600060931539, percentilesMs: { '99': 67.41057380823649 } });
    assert.equal(json.latency.e2el, undefined);
    const log = parseServeLog(capture('benchmark-serving-llmd-inf.log'));
    assert.equal(log?.totalTokenThroughput, 54462.58);
    assert.equal(log?.latency.itl?.percentilesMs['99'], 66.37);
    // The console has no Failed line either: the merge keeps it unknown.
    assert.equal(mergeServeResults(json, log)?.failed, null);
  });

  it('a saved result with a failed request counts it', () => {
    const json = parseServeJson(capture('bench-serve-one-failed.json'));
    assert.equal(json?.completed, 199);
    assert.equal(json?.failed, 1);
    assert.equal(json?.latency.ttft?.percentilesMs['99'], 113.88637554366143);
  });
});
