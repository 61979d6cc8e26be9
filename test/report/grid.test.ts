/** A sweep's grid in the report: every point and configuration in grid order, with its measured run's figures. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { buildGrid, type GridRunInput } from '../../src/report/grid.js';
import { renderReportHtml } from '../../src/report/html.js';
import { buildReport } from '../../src/report/model.js';
import { DEFAULT_ENGINE, flagGemsOperatorSet, gridTrials } from '../../src/tuner/spaces/grid.js';

const trials = gridTrials({
  benchmark: 'latency',
  engines: [DEFAULT_ENGINE, { name: 'eager', args: ['--enforce-eager'] }],
  operatorSets: [flagGemsOperatorSet('tuned', { op_backends: { rms_norm: ['vendor'] } })],
  points: [1, 8].map((b) => ({ key: `b${b}-i64-o8`, workload: { batch_size: b, input_len: 64, output_len: 8 } })),
});

const figures = (avg: number): Record<string, number> => ({ latency_avg_s: avg, latency_p99_s: avg * 1.1, output_tokens_per_s: 8 / avg, mfu: 0.0123 });

const runs: GridRunInput[] = [
  { trialKey: 'latency:b1-i64-o8@tuned', kind: 'warmup', outcome: 'ok', metrics: figures(9) },
  { trialKey: 'latency:b1-i64-o8@tuned', kind: 'measure', outcome: 'ok', metrics: figures(0.25) },
  { trialKey: 'latency:b1-i64-o8:eager@tuned', kind: 'measure', outcome: 'oom', metrics: null },
  { trialKey: 'latency:b8-i64-o8@tuned', kind: 'measure', outcome: 'interrupted', metrics: null },
  { trialKey: 'latency:b8-i64-o8@tuned', kind: 'measure', outcome: 'running', metrics: null },
];

describe('report grid', () => {
  it('has one row per point and configuration, the measured run’s figures, and the metrics any row reported', () => {
    const grid = buildGrid(trials, runs);
    assert.deepEqual(
      grid.rows.map((r) => [r.point, r.configuration, r.outcome, r.metrics?.['latency_avg_s'] ?? null]),
      [
        ['b1-i64-o8', 'tuned', 'ok', 0.25],
        ['b1-i64-o8', 'eager_tuned', 'oom', null],
        ['b8-i64-o8', 'tuned', 'running', null],
        ['b8-i64-o8', 'eager_tuned', 'not measured', null],
      ],
    );
    assert.deepEqual(grid.columns.map((c) => c.name), ['output_tokens_per_s', 'latency_avg_s', 'latency_p99_s', 'mfu']);
  });

  it('replaces the operator choice of a tuning report with the grid, for sweeps only', () => {
    const session = { id: 's', state: 'running', model: 'm', args: ['--model', 'm'], options: {}, runDir: '/r', createdAt: 0, updatedAt: 1, error: null, ops: null, final: null };
    const reportRuns = runs.map((r, i) => ({ ...r, seq: i + 1, step: i, slot: null, warmupIndex: null, durationMs: 1000, startedAt: i * 1000, endedAt: i * 1000 + 1000, logPath: `/r/${i}.log`, failure: null }));
    const input = { hardware: null, trials, runs: reportRuns, decisions: [], plannedInvocations: null, outDir: '/r', generatedAt: 0 };
    const sweep = renderReportHtml(buildReport({ ...input, session: { ...session, policy: 'sweep' } }));
    assert.doesNotMatch(sweep, /Validated choice|Operator effects/);
    assert.match(sweep, /<h2>Grid<\/h2>\n<p>1 of 4 point\(s\) and configuration\(s\) measured;/);
    assert.match(sweep, /<tr data-trial="latency:b1-i64-o8@tuned"><td><code>b1-i64-o8<\/code><\/td><td>tuned<\/td><td class="ok">ok<\/td><td>32\.00<\/td><td>0\.2500<\/td><td>0\.2750<\/td><td>1\.2%<\/td><\/tr>/);
    const tuning = renderReportHtml(buildReport({ ...input, session: { ...session, policy: 'noise-aware' } }));
    assert.match(tuning, /<h2>Validated choice<\/h2>/);
    assert.doesNotMatch(tuning, /<h2>Grid<\/h2>/);
  });
});
