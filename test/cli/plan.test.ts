import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { defaultRunOptions, type RunOptions } from '../../src/cli/args.js';
import { formatPlan, gpuHours, gpusOf, planStudy, planSummary, workloadPoints } from '../../src/cli/plan.js';

const run = (over: Partial<RunOptions>): RunOptions => ({ ...defaultRunOptions(), passthrough: ['--model', 'm'], ...over });

describe('planStudy', () => {
  it('counts given operators exactly, with the policy’s own invocations', () => {
    // mm: flagos; rms_norm: flagos, vendor, reference x 2 attention backends.
    const reference = planStudy(run({ ops: ['mm', 'rms_norm'], policy: 'reference', numRuns: 3 }), null);
    assert.equal(reference.lowerBound, false);
    assert.equal(reference.trials, 3 + 5 + 1);
    assert.equal(reference.invocations, 27);
    // The default (screening) spends the reference's own count, noise-aware 1.5 x it.
    const screening = planStudy(run({ ops: ['mm', 'rms_norm'] }), null);
    assert.equal(screening.invocations, 18);
    assert.equal(planStudy(run({ ops: ['mm', 'rms_norm'], policy: 'noise-aware' }), null).invocations, Math.floor(1.5 * 18));
    assert.equal(planStudy(run({ ops: ['mm'], budget: 7 }), null).invocations, 7);
    // The reference policy stops at a budget below its own count, and ignores one above it.
    assert.equal(planStudy(run({ ops: ['mm'], policy: 'reference', budget: 3 }), null).invocations, 3);
    assert.equal(planStudy(run({ ops: ['mm'], policy: 'reference', budget: 300 }), null).invocations, 10);
    const vendorOnly = planStudy(run({ ops: ['mm', 'rms_norm'], backends: ['vendor'], policy: 'reference' }), null);
    assert.equal(vendorOnly.trials, 3 + 1 + 1);
  });

  it('counts the baseline the reference policy measures on every other GPU group', () => {
    const groups = planStudy(run({ ops: ['mm', 'rms_norm'], policy: 'reference', numRuns: 3, gpuGroups: ['0', '1', '2'] }), null);
    assert.deepEqual(groups.stages.map((s) => [s.name, s.trials])[1], ['baseline on every other slot', 2]);
    assert.equal(groups.trials, 3 + 2 + 5 + 1);
    assert.equal(groups.invocations, 33);
    // One run at a time: nothing extra.
    assert.equal(planStudy(run({ ops: ['mm'], numRuns: 3, gpuGroups: ['0', '1', '2'] }), null).stages.length, 5);
  });

  it('plans an engine study as its tiers and the points of their grids, GPUs from the largest tp', () => {
    const plan = planStudy(run({ engineAxes: ['tensor-parallel-size=1,2,4', 'max-num-seqs=256,512', 'mem:gpu-memory-utilization=0.9,0.95'], numRuns: 3 }), null);
    assert.deepEqual(plan.stages.map((s) => [s.name, s.trials]), [
      ['tier 0 (tensor-parallel-size 3 x max-num-seqs 2)', 6],
      ['tier mem (gpu-memory-utilization 2)', 2],
    ]);
    assert.equal(plan.invocations, 24);
    assert.equal(plan.gpus.count, 4);
    assert.equal(planSummary(plan), "throughput engine study, 2 tiers, 8 points in the tiers' grids (coordinate search)");
    const capped = planStudy(run({ engineAxes: ['max-num-seqs=256,512'], engineSearch: 'grid', budget: 3 }), null);
    assert.equal(capped.invocations, 3);
    assert.equal(planSummary(capped), 'throughput engine study, 1 tier, 2 points (grid search)');
  });

  it('plans a serving study as a server per trial and a pass over its cases per run', () => {
    const serve = run({ bench: 'serve', passthrough: ['--model', 'm', '--max-model-len', '4096'], cases: '1024x128@8/32,128x128r2.5/16', slo: 'tpot_mean_ms<=50', ops: ['mm'], policy: 'reference', numRuns: 2 });
    const plan = planStudy(serve, null);
    assert.equal(plan.bench, 'serve');
    assert.equal(planSummary(plan), 'serve study, 5 trials planned');
    const text = formatPlan('job.yaml', serve, plan, null);
    assert.match(text, /^server {7}vllm serve m --max-model-len 4096 \(one per trial, ready within 600 s\)$/m);
    assert.match(text, /^load {9}2 cases per run with the built-in generator \(completions\): 1024x128@8\/32, 128x128r2\.5\/16$/m);
    assert.match(text, /^slos {9}tpot_mean_ms<=50$/m);
    assert.doesNotMatch(text, /vllm bench/);
  });

  it('plans discovery from what is known before round 1c, as a lower bound', () => {
    const plan = planStudy(run({}), null);
    assert.equal(plan.lowerBound, true);
    assert.equal(plan.trials, 3 + 16 + 1);
    assert.match(plan.operators, /unknown until then/);
    const fromConfig = planStudy(run({}), { mm: ['flagos'], softmax: ['flagos'] });
    assert.equal(fromConfig.trials, 3 + 2 + 1);
    assert.equal(fromConfig.lowerBound, true);
  });

  it('multiplies by workload points and counts GPUs from tensor and pipeline parallelism', () => {
    const w = { batchSizes: [], inputLens: [128, 1024], outputLens: [64, 128, 256], numPrompts: [] };
    assert.equal(workloadPoints(w), 6);
    const plan = planStudy(run({ ops: ['mm'], policy: 'reference', numRuns: 1, workload: w, passthrough: ['-tp', '4', '--pipeline-parallel-size=2'] }), null);
    assert.equal(plan.trials, 5 * 6);
    assert.equal(plan.invocations, 5 * 6);
    assert.deepEqual(plan.gpus, { count: 8, tp: 4, pp: 2 });
    assert.equal(gpuHours(plan, { minutes: 10, source: 'x' }), (30 * 10 * 8) / 60);
    assert.deepEqual(gpusOf(['--tensor-parallel-size', '2', '--tensor-parallel-size', '4']), { count: 4, tp: 4, pp: 1 });
  });

  it('plans a latency grid as one trial per point', () => {
    const plan = planStudy(run({ bench: 'latency', numRuns: 2, workload: { batchSizes: [1, 8, 32], inputLens: [128], outputLens: [128, 512], numPrompts: [] } }), null);
    assert.equal(plan.trials, 6);
    assert.equal(plan.invocations, 12);
    const text = formatPlan('g.yaml', run({ bench: 'latency' }), plan, null);
    assert.match(text, /^Plan for g\.yaml: latency study, 6 trials planned/);
    assert.match(text, /\nestimate {5}none: give --run-minutes M/);
  });

  it('takes missing latency axes from the user’s flags or vLLM’s defaults, and skips points over --max-model-len', () => {
    const plan = planStudy(
      run({
        bench: 'latency',
        numRuns: 1,
        passthrough: ['--model', 'm', '--batch-size', '4', '--max-model-len=1100', '-tp=2'],
        workload: { batchSizes: [], inputLens: [128, 1024], outputLens: [], numPrompts: [] },
      }),
      null,
    );
    assert.equal(plan.stages[0]?.name, 'latency grid (batch sizes 4 x input lens 128,1024 x output lens 128)');
    assert.deepEqual(plan.skipped, [{ key: 'b4-i1024-o128', reason: 'input 1024 + output 128 = 1152 exceeds max-model-len 1100 (from --max-model-len)' }]);
    assert.equal(plan.trials, 1);
    assert.deepEqual(plan.gpus, { count: 2, tp: 2, pp: 1 });
    assert.match(formatPlan('g.yaml', run({ bench: 'latency' }), plan, null), /\nskipped {6}b4-i1024-o128: input 1024 \+ output 128/);
    const defaults = planStudy(run({ bench: 'latency', passthrough: ['--model', 'm'] }), null);
    assert.equal(defaults.stages[0]?.name, 'latency grid (batch sizes 8 x input lens 32 x output lens 128)');
  });
});
