import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ConcurrencyObservation } from '../../src/tuner/concurrency-search.js';
import { scoreOf } from '../../src/tuner/objective.js';
import { parseCase } from '../../src/tuner/serve-cases.js';
import { latencyStatsOf, type ServeSummary } from '../../src/tuner/serve-metrics.js';
import { nextProbe, probeCase, runMeasurement, sloConstraints, sloMetricName, sloSample } from '../../src/tuner/serve-study.js';
import { parseSlo, parseSlos } from '../../src/tuner/slo.js';

function summary(durationS: number, outputPerS: number, ttfts: number[], failed = 0): ServeSummary {
  return {
    completed: ttfts.length,
    failed,
    durationS,
    totalInputTokens: null,
    totalOutputTokens: null,
    requestThroughput: ttfts.length / durationS,
    outputThroughput: outputPerS,
    totalTokenThroughput: 2 * outputPerS,
    latency: { ttft: latencyStatsOf(ttfts), tpot: latencyStatsOf([10]), itl: latencyStatsOf([10]), e2el: latencyStatsOf(ttfts.map((t) => t + 100)) },
  };
}

describe('serving study', () => {
  it('names each SLO by its metric, p50 as the median, and refuses statistics without one', () => {
    assert.equal(sloMetricName(parseSlo('ttft_p99_ms<=2000')), 'ttft_p99_ms');
    assert.equal(sloMetricName(parseSlo('tpot_p50_ms<=20')), 'tpot_median_ms');
    assert.equal(sloMetricName(parseSlo('e2el_p90_ms<3000')), 'e2el_p90_ms');
    assert.throws(() => sloMetricName(parseSlo('ttft_p99.9_ms<=1')), { code: 'E_USAGE' });
    assert.deepEqual(sloConstraints(parseSlos('ttft_p99_ms<=2000,tpot_mean_ms<50')), [
      { metric: 'ttft_p99_ms', op: '<=', value: 2000 },
      { metric: 'tpot_mean_ms', op: '<', value: 50 },
    ]);
  });

  it('pools throughput over cases by duration and keeps the worst case of every latency statistic', () => {
    const a = parseCase('64x16@4/8');
    const b = parseCase('1024x128@8/16');
    const m = runMeasurement(
      [
        { case: a, summary: summary(1, 100, [10, 20]), goodput: 2 },
        { case: b, summary: summary(3, 300, [50, 60]), goodput: 0 },
      ],
      { model_memory_gib: 15.27, kv_cache_gib: 104.73, kv_cache_tokens: 4_000_000, cuda_graph_capture_s: 21 },
    );
    assert.equal(m['output_tokens_per_s'], (100 * 1 + 300 * 3) / 4);
    assert.equal(m['goodput_requests_per_s'], 0.5);
    assert.equal(m['ttft_mean_ms'], 55);
    assert.equal(m['ttft_p99_ms'], latencyStatsOf([50, 60]).percentilesMs['99']);
    assert.equal(m['requests_completed'], 4);
    assert.equal(m['requests_failed'], 0);
    assert.equal(m['kv_cache_tokens'], 4_000_000);
    assert.equal(m['cuda_graph_capture_s'], 21);
    assert.equal(m['max_concurrency_under_slo'], undefined);
  });

  it('makes an SLO-breaking run score nothing, whatever its throughput', () => {
    const constraints = sloConstraints(parseSlos('ttft_p99_ms<=40'));
    const objective = { metric: 'output_tokens_per_s', direction: 'maximize' as const, constraints };
    const c = parseCase('64x16@4/8');
    const fast = runMeasurement([{ case: c, summary: summary(1, 1000, [50, 60]), goodput: null }], null);
    const slow = runMeasurement([{ case: c, summary: summary(1, 100, [10, 20]), goodput: null }], null);
    assert.equal(scoreOf(objective, fast), null);
    assert.equal(scoreOf(objective, slow), 100);
  });

  it('searches a case\'s concurrency up to its own, and reports the smallest answer over cases', () => {
    const slos = parseSlos('ttft_p99_ms<=100');
    const c = parseCase('64x16@64');
    // TTFT grows with concurrency: 3 ms per request in flight.
    const observations: ConcurrencyObservation[] = [];
    for (let i = 0; i < 40; i++) {
      const step = nextProbe(slos, c, observations);
      if (step.kind === 'done') {
        assert.ok(step.best !== null && step.best * 3 <= 100 * 0.95 && (step.firstInfeasible ?? 0) * 3 > 100 * 0.95 - 30);
        const m = runMeasurement([{ case: probeCase(c, step.best), summary: summary(1, 10, [3 * step.best]), goodput: 1, maxConcurrency: step.best }, { case: c, summary: null, goodput: null, maxConcurrency: 4 }], null);
        assert.equal(m['max_concurrency_under_slo'], 4);
        return;
      }
      assert.ok(step.concurrency <= 64);
      observations.push({ concurrency: step.concurrency, sample: sloSample(slos, summary(1, 10, [3 * step.concurrency]), true) });
    }
    assert.fail('the search did not end');
  });
});
