import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ResultRun } from '../../src/tuner/results.js';
import { formatServeFiguresCsv, runsDelta, serveFigureRows, spreadOf } from '../../src/tuner/serve-figures.js';

describe('serving figures', () => {
  it('a spread is the mean, the sample standard deviation and the range', () => {
    assert.deepEqual(spreadOf([10, 12, 14]), { mean: 12, sd: 2, min: 10, max: 14, n: 3 });
    assert.deepEqual(spreadOf([5]), { mean: 5, sd: 0, min: 5, max: 5, n: 1 });
    assert.equal(spreadOf([]), null);
  });

  it('counts measured ok runs only, per trial in the order given', () => {
    const runs: ResultRun[] = [
      { trialKey: 'a', kind: 'warmup', outcome: 'ok', metrics: { output_tokens_per_s: 1, ttft_p99_ms: 900 } },
      { trialKey: 'a', kind: 'measure', outcome: 'ok', metrics: { output_tokens_per_s: 100, ttft_p99_ms: 20 } },
      { trialKey: 'a', kind: 'measure', outcome: 'ok', metrics: { output_tokens_per_s: 110, ttft_p99_ms: 30 } },
      { trialKey: 'a', kind: 'measure', outcome: 'timeout', metrics: { output_tokens_per_s: 5 } },
      { trialKey: 'b', kind: 'measure', outcome: 'ok', metrics: { output_tokens_per_s: 50, tpot_mean_ms: 4 } },
    ];
    const rows = serveFigureRows([{ key: 'b', label: 'B' }, { key: 'a' }, { key: 'c' }], runs);
    assert.deepEqual(rows.map((r) => [r.label, r.runs, r.failedRuns]), [['B', 1, 0], ['a', 2, 1], ['c', 0, 0]]);
    assert.equal(rows[1]?.figures['output_tokens_per_s']?.mean, 105);
    assert.equal(rows[1]?.figures['ttft_p99_ms']?.max, 30);
    assert.equal(rows[1]?.figures['tpot_mean_ms'], undefined);
    assert.equal(
      formatServeFiguresCsv(rows),
      'trial,label,runs,failed_runs,output_tokens_per_s,ttft_p99_ms,tpot_mean_ms,output_tokens_per_s_sd\r\n' +
        'b,B,1,0,50,,4,0\r\n' +
        `a,a,2,1,105,25,,${Math.sqrt(50)}\r\n` +
        'c,c,0,0,,,,\r\n',
    );
  });

  it('a change against a baseline is the ratio of the means, bounded by the runs at either end', () => {
    const d = runsDelta(spreadOf([105, 110]), spreadOf([95, 105]));
    assert.ok(d !== null);
    assert.ok(Math.abs(d.delta - (107.5 / 100 - 1)) < 1e-12);
    assert.ok(Math.abs(d.low - (105 / 105 - 1)) < 1e-12);
    assert.ok(Math.abs(d.high - (110 / 95 - 1)) < 1e-12);
    assert.equal(runsDelta(spreadOf([1]), null), null);
    assert.equal(runsDelta(spreadOf([1]), spreadOf([0])), null);
  });
});
