import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { fromThroughput, METRICS, metricInfo } from '../../src/tuner/metrics.js';
import { toThroughput } from '../support/metrics.js';
import { objectiveFor, parseConstraint, score, scoreOf, scoreToValue, storedObjective } from '../../src/tuner/objective.js';

describe('metric registry', () => {
  it('names each metric once, with a unit and a direction', () => {
    const names = METRICS.map((m) => m.name);
    assert.equal(new Set(names).size, names.length);
    assert.equal(metricInfo('tpot_mean_ms')?.direction, 'minimize');
    assert.equal(metricInfo('latency_p99_s')?.unit, 's');
    assert.equal(metricInfo('output_tokens_per_s')?.direction, 'maximize');
    for (const name of ['requests_per_s', 'latency_avg_s', 'latency_p50_s', 'latency_p90_s', 'ttft_median_ms', 'itl_p99_ms', 'model_memory_gib', 'kv_cache_gib', 'kv_cache_tokens', 'cuda_graph_capture_s']) {
      assert.ok(metricInfo(name) !== undefined, name);
    }
  });

  it('round-trips the throughput triple', () => {
    const t = { requestsPerSec: 3, totalTokensPerSec: 900, outputTokensPerSec: null };
    assert.deepEqual(fromThroughput(t), { total_tokens_per_s: 900, requests_per_s: 3 });
    assert.deepEqual(toThroughput(fromThroughput(t)), t);
    assert.equal(toThroughput({ latency_avg_s: 1 }), null);
    assert.equal(fromThroughput(null), null);
  });
});

describe('objective', () => {
  it('keeps the --metric shorthands of release 0.1.0', () => {
    assert.deepEqual(objectiveFor('total'), { metric: 'total_tokens_per_s', direction: 'maximize', constraints: [] });
    assert.equal(objectiveFor('requests').metric, 'requests_per_s');
    assert.deepEqual(storedObjective({ metric: 'output' }), objectiveFor('output'));
    assert.equal(storedObjective({ metric: 'bogus' }), null);
    const o = objectiveFor('tpot_mean_ms', [parseConstraint('ttft_p99_ms <= 200')]);
    assert.deepEqual(storedObjective(JSON.parse(JSON.stringify({ objective: o, metric: 'total' })) as Record<string, unknown>), o);
  });

  it('scores bigger-is-better, a latency as its inverse, so score ratios are relative gains', () => {
    const lat = objectiveFor('latency_avg_s');
    assert.equal(scoreOf(lat, { latency_avg_s: 2 }), 0.5);
    assert.ok((scoreOf(lat, { latency_avg_s: 1 }) ?? 0) > (scoreOf(lat, { latency_avg_s: 2 }) ?? 0));
    assert.equal(scoreToValue(lat, 0.5), 2);
    assert.equal(scoreOf(objectiveFor('total'), { total_tokens_per_s: 1000 }), 1000);
  });

  it('a violated or unverifiable constraint, a failed run or a missing metric scores nothing', () => {
    const o = objectiveFor('output', [parseConstraint('tpot_mean_ms <= 50'), parseConstraint('requests > 1')]);
    assert.equal(scoreOf(o, { output_tokens_per_s: 10, tpot_mean_ms: 50, requests_per_s: 2 }), 10);
    assert.equal(scoreOf(o, { output_tokens_per_s: 10, tpot_mean_ms: 50.1, requests_per_s: 2 }), null);
    assert.equal(scoreOf(o, { output_tokens_per_s: 10, tpot_mean_ms: 40, requests_per_s: 1 }), null);
    assert.equal(scoreOf(o, { output_tokens_per_s: 10, requests_per_s: 2 }), null);
    assert.equal(scoreOf(o, { tpot_mean_ms: 40, requests_per_s: 2 }), null);
    assert.equal(score(o, { outcome: 'oom', metrics: { output_tokens_per_s: 10, tpot_mean_ms: 1, requests_per_s: 2 } }), null);
    assert.throws(() => parseConstraint('tpot_mean_ms == 5'), /not of the form/);
  });
});
