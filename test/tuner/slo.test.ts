import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { latencyStatsOf, summarizeRequests, type RequestRecord, type ServeSummary } from '../../src/tuner/serve-metrics.js';
import { checkSlos, describeBreaches, goodput, parseSlos, requiredPercentiles } from '../../src/tuner/slo.js';

const request = (ttftMs: number, tpotMs: number, ok = true): RequestRecord => ({
  ok,
  error: ok ? null : 'http 500',
  inputTokens: 100,
  outputTokens: 11,
  ttftMs: ok ? ttftMs : null,
  tpotMs: ok ? tpotMs : null,
  itlMs: ok ? Array.from({ length: 10 }, () => tpotMs) : [],
  e2elMs: ok ? ttftMs + 10 * tpotMs : null,
});

describe('SLOs', () => {
  it('parses metric, statistic, limit and strictness', () => {
    const [a, b, c] = parseSlos('ttft_p99_ms<=2000, tpot_mean_ms<50,e2el_median_ms<=9000');
    assert.deepEqual(a, { text: 'ttft_p99_ms<=2000', metric: 'ttft', statistic: { kind: 'percentile', p: '99' }, limitMs: 2000, strict: false });
    assert.equal(b?.strict, true);
    assert.deepEqual(c?.statistic, { kind: 'median' });
    assert.deepEqual(requiredPercentiles(parseSlos('ttft_p99.9_ms<=1,itl_p90_ms<=2')), ['99.9', '90']);
  });

  it('refuses unknown metrics, bad forms, zero limits and duplicates', () => {
    assert.throws(() => parseSlos('ttfx_p99_ms<=1'), /unknown metric 'ttfx'/);
    assert.throws(() => parseSlos('ttft_p99<=1'), /METRIC_STAT_ms<=LIMIT/);
    assert.throws(() => parseSlos('ttft_p99_ms>=1'), /METRIC_STAT_ms<=LIMIT/);
    assert.throws(() => parseSlos('ttft_p100_ms<=1'), /between 0 and 100/);
    assert.throws(() => parseSlos('ttft_mean_ms<=0'), /above 0/);
    assert.throws(() => parseSlos('ttft_mean_ms<=5,ttft_mean_ms<10'), /limited twice/);
  });

  it('checks a summary; a statistic the run did not report is a breach', () => {
    const summary: ServeSummary = summarizeRequests([request(100, 10), request(300, 12)], 1);
    const checks = checkSlos(summary, parseSlos('ttft_p99_ms<=250,tpot_mean_ms<=50,ttft_p95_ms<=1000'));
    assert.deepEqual(checks.map((c) => c.met), [false, true, false]);
    assert.equal(describeBreaches(checks), 'ttft_p99_ms<=250 (was 298.00), ttft_p95_ms<=1000 (not reported)');
  });

  it('goodput counts requests meeting every limit one by one, or the whole run on a summary', () => {
    const slos = parseSlos('ttft_p99_ms<=200,tpot_mean_ms<=50');
    const reqs = [request(100, 10), request(150, 60), request(250, 10), request(50, 5, false), request(120, 20)];
    const summary = summarizeRequests(reqs, 2);
    assert.equal(goodput(summary, slos, reqs), 1, '2 of 5 requests met both limits in 2 s');
    assert.equal(goodput(summary, slos, null), 0, 'the run as a whole breaks the p99');
    const fast = summarizeRequests([request(100, 10)], 2);
    assert.equal(goodput(fast, slos, null), 0.5);
  });

  it('summarises like vLLM: numpy percentiles, population std, failed requests excluded', () => {
    const stats = latencyStatsOf([1, 2, 3, 4]);
    assert.equal(stats.medianMs, 2.5);
    assert.equal(stats.percentilesMs['90'], 3.7);
    assert.equal(stats.stdMs, Math.sqrt(1.25));
    const s = summarizeRequests([request(100, 10), request(0, 0, false)], 4);
    assert.equal(s.completed, 1);
    assert.equal(s.failed, 1);
    assert.equal(s.outputThroughput, 11 / 4);
  });
});
