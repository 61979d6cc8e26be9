/** The report's view model, its HTML (escaping included) and the comparison of two sessions. */
import { fromThroughput } from '../../src/tuner/metrics.js';
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { compareReports, formatComparison } from '../../src/report/compare.js';
import { escapeHtml, hrefOf, jsonForScript } from '../../src/report/escape.js';
import { gpuHours, gpusPerRun } from '../../src/report/gpus.js';
import { renderReportHtml } from '../../src/report/html.js';
import { buildReport, type ReportInput, type ReportRun } from '../../src/report/model.js';
import { niceTicks } from '../../src/report/svg.js';
import type { Decision, FinalResult } from '../../src/tuner/policy.js';
import { baselineTrial, combinedTrial, opTrial } from '../../src/tuner/spaces/operators.js';
import { engineTrial } from '../../src/tuner/spaces/engine.js';
import type { RunKind, RunOutcome } from '../../src/tuner/types.js';

const T0 = Date.UTC(2026, 10, 23, 6, 0, 0);
const HOSTILE = `<img src=x onerror="alert(1)">'&</script><!--`;

let seq = 0;
function run(trialKey: string, total: number | null, opts: { kind?: RunKind; outcome?: RunOutcome | 'running'; failure?: string; durationMs?: number } = {}): ReportRun {
  seq += 1;
  const durationMs = opts.durationMs ?? 60_000;
  const startedAt = T0 + seq * 70_000;
  return {
    seq,
    step: seq - 1,
    slot: 0,
    trialKey,
    kind: opts.kind ?? 'measure',
    warmupIndex: opts.kind === 'warmup' ? 1 : null,
    outcome: opts.outcome ?? (total === null ? 'oom' : 'ok'),
    metrics: fromThroughput(total === null ? null : { requestsPerSec: 1, totalTokensPerSec: total, outputTokensPerSec: total / 3 }),
    durationMs,
    startedAt,
    endedAt: startedAt + durationMs,
    logPath: `/runs/autotune_1/${String(seq).padStart(4, '0')}_${trialKey.replace(/[^a-z]/g, '_')}_benchmark.log`,
    failure: opts.failure ?? (total === null ? 'CUDA out of memory' : null),
  };
}

const base = baselineTrial();
const rms = opTrial('rms_norm', 'vendor');
const silu = opTrial('silu_and_mul', 'flagos');
// Names are validated as identifiers on the way in; the report escapes them anyway (an older database, a future source).
const hostileOp = { ...opTrial('placeholder', 'flagos'), key: `op:${HOSTILE}:flagos`, op: HOSTILE, prefix: 'op_hostile_flagos' };
const combined = combinedTrial({ rms_norm: 'vendor' }, 'combined_best', null);

function decision(subject: string, op: string, estimate: number, low: number, high: number, verdict: Decision['verdict']): Decision {
  return { type: 'decision', subject, op, backend: 'vendor', verdict, estimate, low, high, runs: 2, reason: `because ${HOSTILE}` };
}

const final: FinalResult = { opBackends: { rms_norm: 'vendor' }, attention: null, validated: true, speedup: 0.02, low: 0.01, high: 0.03, summary: [`Validated ${HOSTILE}`] };

function input(overrides: Partial<ReportInput> = {}): ReportInput {
  seq = 0;
  const runs = [
    run(base.key, 1000, { kind: 'warmup' }),
    run(base.key, 1000),
    run(base.key, 1020),
    run(rms.key, 1030),
    run(rms.key, 1010),
    run(silu.key, 990),
    run(hostileOp.key, null, { failure: `boom ${HOSTILE}` }),
    run(combined.key, 1031, { durationMs: 200_000 }),
    run(base.key, 1010),
  ];
  return {
    session: {
      id: '20261123-060000-abcd',
      state: 'completed',
      policy: 'noise-aware',
      model: `/models/${HOSTILE}`,
      args: ['--model', `/models/${HOSTILE}`, '-tp', '2', '--pipeline-parallel-size=2'],
      options: { metric: 'total', numRuns: 2, note: HOSTILE },
      runDir: '/runs/autotune_1',
      createdAt: T0,
      updatedAt: T0 + 20 * 60_000,
      error: null,
      ops: { rms_norm: ['vendor'], silu_and_mul: ['flagos'], [HOSTILE]: ['flagos'] },
      final,
    },
    hardware: { host: 'node-a', gpus: [{ name: `H100 ${HOSTILE}`, driver: '550.54', memoryMiB: 81559 }], software: { python: '3.11', vllm: '0.11.0', plugin: null, flagGems: '3.0', torch: null }, notes: [] },
    trials: [base, rms, silu, hostileOp, combined],
    runs,
    decisions: [decision(rms.key, 'rms_norm', 0.02, 0.005, 0.035, 'kept')],
    plannedInvocations: 12,
    outDir: '/runs/autotune_1',
    generatedAt: T0 + 21 * 60_000,
    ...overrides,
  };
}

describe('gpus per run', () => {
  it('multiplies tensor and pipeline parallel sizes in every spelling, the last one winning', () => {
    assert.equal(gpusPerRun(['--model', 'x']), 1);
    assert.equal(gpusPerRun(['--tensor-parallel-size', '4']), 4);
    assert.equal(gpusPerRun(['-tp=2', '-pp', '2']), 4);
    assert.equal(gpusPerRun(['--tensor_parallel_size=8', '--tensor-parallel-size', '2']), 2);
    assert.equal(gpusPerRun(['-tp', 'abc']), 1);
    assert.equal(gpuHours(3_600_000, 4), 4);
  });

  it("counts each run's GPUs from its own arguments when an engine study varies the parallelism", () => {
    const one = engineTrial({ 'max-num-seqs': 256 }, '0', null);
    const two = engineTrial({ 'max-num-seqs': 256, 'tensor-parallel-size': 2 }, '0', one.key);
    const base = input();
    const session = { ...base.session, policy: 'tiers' as const, args: ['--model', 'm'], final: null };
    seq = 0;
    const runs = [run(one.key, 1000, { durationMs: 3_600_000 }), run(two.key, 1500, { durationMs: 3_600_000 })];
    const m = buildReport({ ...base, session, trials: [one, two], runs, decisions: [], plannedInvocations: null });
    assert.equal(m.totals.gpusPerRun, 2);
    assert.equal(m.totals.gpusVary, true);
    assert.equal(m.totals.gpuHours, 1 + 2);
    assert.match(renderReportHtml(m), /GPU-hours \(up to 2 GPUs per run\)/);
    assert.equal(buildReport(input()).totals.gpusVary, false);
  });
});

describe('report model', () => {
  it('takes effects from decisions where the policy stored them, else from trial values vs the baseline', () => {
    const m = buildReport(input());
    const byKey = new Map(m.effects.map((e) => [e.trialKey, e]));
    assert.equal(m.effects.length, 3);
    assert.deepEqual(byKey.get(rms.key), {
      trialKey: rms.key, label: 'rms_norm (vendor)', op: 'rms_norm', backend: 'vendor', estimate: 0.02, low: 0.005, high: 0.035, runs: 2, verdict: 'kept', chosen: true, source: 'decision',
    });
    // Baseline = mean of its measured runs (1000, 1020, 1010), as history.csv computes it.
    assert.equal(m.baseline.value, 1010);
    assert.equal(m.baseline.runs, 3);
    assert.ok(Math.abs((byKey.get(silu.key)?.estimate ?? 0) - (990 / 1010 - 1)) < 1e-12);
    assert.equal(byKey.get(silu.key)?.source, 'runs');
    assert.equal(byKey.get(hostileOp.key)?.estimate, null);
    assert.ok(Math.abs((m.baseline.relativeSd ?? 0) - 10 / 1010) < 1e-12);
  });

  it('counts invocations, GPU-hours (tp x pp), failures by class, and links logs relative to the report', () => {
    const m = buildReport(input());
    assert.equal(m.totals.invocations, 9);
    assert.equal(m.totals.warmups, 1);
    assert.equal(m.totals.failed, 1);
    assert.equal(m.totals.gpusPerRun, 4);
    assert.ok(Math.abs(m.totals.gpuHours - ((8 * 60_000 + 200_000) * 4) / 3_600_000) < 1e-12);
    assert.ok(m.totals.plannedGpuHours !== null && m.totals.plannedGpuHours > m.totals.gpuHours);
    assert.deepEqual(m.failuresByClass, { oom: 1 });
    assert.equal(m.failures.length, 1);
    const failedLog = input().runs.find((r) => r.seq === 7)?.logPath ?? '';
    assert.equal(m.failures[0]?.logHref, failedLog.slice('/runs/autotune_1/'.length));
    const elsewhere = buildReport(input({ outDir: '/tmp/reports' }));
    assert.match(elsewhere.failures[0]?.logHref ?? '', /^\.\.\/\.\.\/runs\/autotune_1\/0007_/);
    assert.equal(m.timeline.length, 9);
    assert.equal(m.timeline.find((p) => p.seq === 8)?.slow, true);
    assert.equal(m.timeline.find((p) => p.seq === 7)?.value, null);
  });
});

describe('report html', () => {
  it('escapes every string from the session, the hardware and the logs', () => {
    const html = renderReportHtml(buildReport(input()));
    assert.ok(!html.includes('<img'), 'a raw tag from the data');
    assert.ok(!html.includes('onerror="'), 'a raw attribute from the data');
    assert.ok(html.includes('&lt;img src=x onerror=&quot;alert(1)&quot;&gt;&#39;&amp;&lt;/script&gt;&lt;!--'));
    // Exactly one script element (the JSON island), closed once.
    assert.equal(html.match(/<script/g)?.length, 1);
    assert.equal(html.match(/<\/script>/g)?.length, 1);
    assert.equal(html.match(/<!--/g), null);
    const island = /<script type="application\/json" id="report-data">([^<]*)<\/script>/.exec(html)?.[1];
    assert.ok(island !== undefined);
    assert.equal(JSON.parse(island).session.model, `/models/${HOSTILE}`);
  });

  it('draws one bar or marker per operator trial and one mark per finished run', () => {
    const html = renderReportHtml(buildReport(input()));
    assert.equal(html.match(/class="effect-bar /g)?.length, 2);
    assert.equal(html.match(/class="effect-missing"/g)?.length, 1);
    assert.equal(html.match(/class="run-point /g)?.length, 8);
    assert.equal(html.match(/class="run-failed"/g)?.length, 1);
    assert.equal(html.match(/<g class="whisker">/g)?.length, 1);
    assert.equal(html.match(/class="noise-band"/g)?.length, 1);
    assert.match(html, /<a href="0007_[^"]*_benchmark\.log">log<\/a>/);
  });

  it('writes no external resource and forbids any', () => {
    const html = renderReportHtml(buildReport(input()));
    assert.match(html, /Content-Security-Policy" content="default-src 'none'/);
    assert.equal(html.match(/(?:src|href)="(?:https?:)?\/\//g), null);
  });

  it('escapes for attributes, scripts and links', () => {
    assert.equal(escapeHtml(`a<b>"c'&`), 'a&lt;b&gt;&quot;c&#39;&amp;');
    assert.equal(jsonForScript({ s: '</script>&' }), '{"s":"\\u003c/script\\u003e\\u0026"}');
    assert.equal(hrefOf('../a b/c"d.log'), '../a%20b/c%22d.log');
    assert.deepEqual(niceTicks(0, 1, 5), [0, 0.2, 0.4, 0.6, 0.8, 1]);
  });
});

describe('compare', () => {
  it('puts two sessions side by side: kept operators with their estimates, gains and hardware', () => {
    const a = buildReport(input());
    const b = buildReport(input({ session: { ...input().session, id: 'other', final: { ...final, opBackends: { silu_and_mul: 'flagos' }, speedup: -0.01, low: null, high: null, validated: false } }, hardware: null }));
    const c = compareReports(a, b);
    assert.equal(c.a.gpus, `1x H100 ${HOSTILE}`);
    assert.equal(c.b.gpus, null);
    assert.deepEqual(c.ops.map((r) => r.op).slice(0, 2), ['rms_norm', 'silu_and_mul']);
    assert.deepEqual(c.ops[0]?.a, { chosen: 'vendor', backend: 'vendor', estimate: 0.02, low: 0.005, high: 0.035 });
    assert.equal(c.ops[0]?.b?.chosen, null);
    assert.equal(c.ops[1]?.b?.chosen, 'flagos');
    const text = formatComparison(c);
    assert.match(text, /^rms_norm\s+kept vendor \+2\.00% \[\+0\.50%, \+3\.50%\]\s+not kept \(vendor\) \+2\.00%/m);
    assert.match(text, /^gain\s+\+2\.00% \[\+1\.00%, \+3\.00%\] validated\s+-1\.00%$/m);
  });
});
