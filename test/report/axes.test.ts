/** The report's axes: found from the trials' workload and engine points alone, the Pareto front, the charts. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { buildAxes, engineCoordinates, paretoFront, type AxesTrial } from '../../src/report/axes.js';
import { axisChart, paretoChart } from '../../src/report/axis-charts.js';
import { gridTrials, DEFAULT_OPERATOR_SET } from '../../src/tuner/spaces/grid.js';
import { baselineTrial, opTrial } from '../../src/tuner/spaces/operators.js';
import type { TrialSpec } from '../../src/tuner/types.js';

const BATCHES = [1, 8, 32];
const INPUTS = [128, 1024];

/** A latency grid as `autotune sweep latency` builds it (flops follows from the point, peak is constant). */
function latencyGrid(engines = [{ name: 'default', args: [] as string[] }]): TrialSpec[] {
  return gridTrials({
    benchmark: 'latency',
    operatorSets: [DEFAULT_OPERATOR_SET],
    engines,
    points: BATCHES.flatMap((b) =>
      INPUTS.map((i) => ({ key: `b${b}-i${i}-o64`, workload: { batch_size: b, input_len: i, output_len: 64, num_iters: 3, flops: b * (i + 64) * 1e9, peak_flops: 2e15 } })),
    ),
  });
}

/** Latency grows with batch and input; output tokens/s = batch x 64 / latency, as the latency benchmark reports it. */
function measured(trials: readonly TrialSpec[], missing: ReadonlySet<string> = new Set()): AxesTrial[] {
  return trials.map((spec) => {
    const b = Number(spec.workload?.['batch_size'] ?? 1);
    const i = Number(spec.workload?.['input_len'] ?? 128);
    const latency = 0.5 + b * 0.02 + i / 4096;
    return { spec, runs: 1, value: missing.has(spec.key) ? null : { latency_avg_s: latency, output_tokens_per_s: (b * 64) / latency } };
  });
}

describe('report axes', () => {
  it('takes the varying workload keys of a latency grid as axes, not the constant or derived ones', () => {
    const view = buildAxes(measured(latencyGrid()), ['--model', 'm', '-tp', '2'], 'latency_avg_s');
    assert.ok(view !== null);
    assert.deepEqual(view.axes.map((a) => [a.name, a.values, a.log]), [['batch_size', [1, 8, 32], true], ['input_len', [128, 1024], false]]);
    assert.equal(view.points.length, 6);
    const p = view.points.find((x) => x.trialKey === 'latency:b8-i1024-o64');
    assert.ok(p !== undefined && p.value !== null && p.outputTokensPerSec !== null);
    assert.deepEqual(p.coords, { batch_size: 8, input_len: 1024 });
    assert.equal(p.concurrency, 8);
    assert.equal(p.gpus, 2);
    assert.equal(p.perUser, p.outputTokensPerSec / 8);
    assert.equal(p.perGpu, p.outputTokensPerSec / 2);
  });

  it('gives each point its cost per GPU and the memory figures its runs reported', () => {
    const trials = measured(latencyGrid()).map((t) => (t.value === null ? t : { ...t, value: { ...t.value, output_tokens_per_s: 7200, model_memory_gib: 15.27, kv_cache_tokens: 761248 } }));
    const view = buildAxes(trials, ['--model', 'm', '-tp', '2'], 'latency_avg_s');
    const p = view?.points[0];
    assert.ok(p !== undefined);
    // 7200 tokens/s on tp=2: 3600 per GPU; 1e9 / 3600 s = 3.215 GPU-days; 1e9 / 3600 / 3600 = 77.16 GPUs for an hour.
    assert.equal(p.cost?.outputTpsPerGpu, 3600);
    assert.ok(Math.abs((p.cost?.gpuDaysPer1B ?? 0) - 3.2150205761316872) < 1e-12);
    assert.ok(Math.abs((p.cost?.gpusFor1BPerHour ?? 0) - 77.16049382716049) < 1e-12);
    assert.deepEqual(p.memory, { model_memory_gib: 15.27, kv_cache_tokens: 761248 });
    assert.equal(buildAxes(measured(latencyGrid(), new Set(['latency:b1-i128-o64'])), ['--model', 'm'], 'latency_avg_s')?.points[0]?.cost, null);
  });

  it('takes engine arguments as axes, a flag a trial leaves out at its default, the trial engine arguments in the GPU count', () => {
    const trials = latencyGrid([
      { name: 'default', args: [] },
      { name: 'eager', args: ['--enforce-eager', '--max-num-seqs', '64'] },
      { name: 'tp4', args: ['-tp', '4', '--max-num-seqs=128'] },
    ]);
    const view = buildAxes(measured(trials), ['-tp', '2'], 'latency_avg_s');
    assert.ok(view !== null);
    // -tp 4 goes with --max-num-seqs 128 only, so it is no axis of its own.
    assert.deepEqual(view.axes.map((a) => a.name), ['batch_size', 'input_len', '--enforce-eager', '--max-num-seqs']);
    assert.deepEqual(view.axes.find((a) => a.name === '--max-num-seqs')?.values, ['default', 64, 128]);
    assert.equal(view.axes.find((a) => a.name === '--max-num-seqs')?.numeric, false);
    assert.deepEqual(new Set(view.points.map((p) => p.gpus)), new Set([2, 4]));
    assert.deepEqual(engineCoordinates(['--enforce-eager', '--x', '-1', '--y=a', '--data_parallel_size', '2']), { '--enforce-eager': 'on', '--x': -1, '--y': 'a', '--data-parallel-size': 2 });
  });

  it('has no axes for a FlagGems session, or for one point', () => {
    assert.equal(buildAxes(measured([baselineTrial(), opTrial('mul', 'flagos')]), [], 'total_tokens_per_s'), null);
    assert.equal(buildAxes(measured(latencyGrid().slice(0, 1)), [], 'latency_avg_s'), null);
  });

  it('keeps a trial without a result as a point with no value, and puts only dominated-free points on the Pareto front', () => {
    const trials = latencyGrid();
    const view = buildAxes(measured(trials, new Set(['latency:b32-i128-o64'])), [], 'latency_avg_s');
    assert.ok(view !== null);
    assert.equal(view.points.filter((p) => p.value === null).length, 1);
    const front = view.paretoFront ?? [];
    assert.ok(front.length >= 2);
    const byKey = new Map(view.points.map((p) => [p.trialKey, p]));
    for (const key of front) {
      const u = byKey.get(key)?.perUser ?? null;
      const g = byKey.get(key)?.perGpu ?? null;
      assert.ok(u !== null && g !== null);
      assert.ok(!view.points.some((q) => q.perUser !== null && q.perGpu !== null && q.perUser > u && q.perGpu > g), key);
    }
    // b8-i1024 is beaten on both rates by b8-i128.
    assert.ok(!front.includes('latency:b8-i1024-o64'));
    assert.equal(paretoFront(view.points.map((p) => ({ ...p, perUser: null }))), null);
  });

  it('draws one point per measured trial on every axis chart and one per trial with both rates on the Pareto chart', () => {
    const view = buildAxes(measured(latencyGrid(), new Set(['latency:b32-i128-o64'])), [], 'latency_avg_s');
    assert.ok(view !== null);
    for (const axis of view.axes) {
      const svg = axisChart(view, axis, 'latency avg (s)', 'minimize');
      assert.equal(svg.match(/class="axis-point"/g)?.length, 5);
      assert.equal(svg.match(/class="axis-missing"/g)?.length, 1);
      assert.match(svg, /lower is better/);
    }
    // Batch-size chart: one line per input length.
    const batch = view.axes[0];
    assert.ok(batch !== undefined);
    assert.equal(axisChart(view, batch, 'x', 'minimize').match(/class="series-line"/g)?.length, 2);
    const pareto = paretoChart(view);
    assert.equal(pareto.match(/class="pareto-point[ "]/g)?.length, 5);
    assert.equal(pareto.match(/class="pareto-point front"/g)?.length, view.paretoFront?.length);
  });
});
