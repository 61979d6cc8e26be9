import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseRunFlags } from '../../src/cli/args.js';
import { jobArgWords, jobRunOptions, mergeArgWords, resolveRunOptions } from '../../src/cli/job-options.js';
import type { JobFile } from '../../src/config/job-types.js';
import { AutotuneError } from '../../src/errors.js';

describe('job args', () => {
  it('turns a map into words: bare flags, left-out flags, lists, JSON objects', () => {
    assert.deepEqual(
      jobArgWords({ model: '/m', '--dtype': 'half', 'enforce-eager': true, 'trust-remote-code': false, 'cuda-graph-sizes': [1, 2], 'compilation-config': { level: 3 }, 'max-num-seqs': 8 }),
      ['--model', '/m', '--dtype', 'half', '--enforce-eager', '--cuda-graph-sizes', '1', '2', '--compilation-config', '{"level":3}', '--max-num-seqs', '8'],
    );
    assert.deepEqual(jobArgWords(['--model', '/m', '-tp', 2]), ['--model', '/m', '-tp', '2']);
    assert.deepEqual(jobArgWords({ '-tp': 2 }), ['-tp', '2']);
    assert.deepEqual(jobArgWords(undefined), []);
  });

  it('lets a command-line vLLM flag replace the file’s, with all its values, either spelling', () => {
    assert.deepEqual(
      mergeArgWords(['--model', '/a', '--cuda-graph-sizes', '1', '2', '--max_num_seqs=4', '--dtype', 'half'], ['--max-num-seqs', '8', '--cuda-graph-sizes=4', '--model', '/b']),
      ['--dtype', 'half', '--max-num-seqs', '8', '--cuda-graph-sizes=4', '--model', '/b'],
    );
    assert.deepEqual(mergeArgWords(['--model', '/a'], []), ['--model', '/a']);
  });
});

describe('jobRunOptions', () => {
  it('maps every key', () => {
    const job: JobFile = {
      version: 1,
      args: { model: '/m' },
      workload: { input_lens: 512, output_lens: [128], num_prompts: 10 },
      search: { ops: ['mm'], backends: ['flagos'] },
      objective: { metric: 'output', constraints: ['ttft_p99_ms < 900', { metric: 'requests', op: '>=', value: 2 }] },
      num_runs: 3,
      policy: { name: 'reference', min_gain: 0.01, budget: 30, seed: 4 },
      timeout: 60,
      output_dir: 'out',
      db: 'x.db',
      env: { VLLM_X: 1, FLAG: true },
      vllm_bin: '/opt/vllm',
      csv_path: 'sub/h.csv',
    };
    assert.deepEqual(jobRunOptions(job), {
      bench: 'throughput',
      passthrough: ['--model', '/m', '--input-len', '512', '--output-len', '128', '--num-prompts', '10'],
      ops: ['mm'],
      backends: ['flagos'],
      objective: {
        metric: 'output_tokens_per_s',
        direction: 'maximize',
        constraints: [
          { metric: 'ttft_p99_ms', op: '<', value: 900 },
          { metric: 'requests_per_s', op: '>=', value: 2 },
        ],
      },
      metric: 'output',
      numRuns: 3,
      policy: 'reference',
      minGain: 0.01,
      budget: 30,
      seed: 4,
      timeoutSec: 60,
      outputDir: 'out',
      db: 'x.db',
      env: { VLLM_X: '1', FLAG: 'true' },
      vllmBin: '/opt/vllm',
      csvName: 'h.csv',
    });
  });

  it('keeps a workload matrix and a latency grid as a workload; minimised metrics get no shorthand', () => {
    const matrix = jobRunOptions({ version: 1, args: ['--model', 'm'], workload: { input_lens: [128, 1024] } });
    assert.deepEqual(matrix.passthrough, ['--model', 'm']);
    assert.deepEqual(matrix.workload, { batchSizes: [], inputLens: [128, 1024], outputLens: [], numPrompts: [] });
    const grid = jobRunOptions({ version: 1, bench: 'latency', workload: { batch_sizes: [1, 8], input_lens: 128 }, objective: { metric: 'latency_p99_s' }, policy: 'reference' });
    assert.equal(grid.bench, 'latency');
    assert.deepEqual(grid.workload, { batchSizes: [1, 8], inputLens: [128], outputLens: [], numPrompts: [] });
    assert.deepEqual(grid.objective, { metric: 'latency_p99_s', direction: 'minimize', constraints: [] });
    assert.equal(grid.metric, undefined);
    assert.equal(grid.policy, 'reference');
  });
});

describe('resolveRunOptions', () => {
  const job: JobFile = { version: 1, args: { model: '/m', 'max-num-seqs': 64 }, num_runs: 3, policy: { name: 'noise-aware', budget: 50 }, objective: { metric: 'total', constraints: ['tpot_mean_ms <= 50'] } };

  it('takes defaults, then the file, then the command line', () => {
    const run = resolveRunOptions(parseRunFlags(['--num-runs', '1', '--autotune-metric', 'output', '--max-num-seqs', '8', '--dry-run']), job, 'j.yaml');
    assert.equal(run.numRuns, 1);
    assert.equal(run.budget, 50);
    assert.equal(run.policy, 'noise-aware');
    assert.equal(run.timeoutSec, 7200);
    assert.equal(run.metric, 'output');
    assert.deepEqual(run.objective, { metric: 'output_tokens_per_s', direction: 'maximize', constraints: [{ metric: 'tpot_mean_ms', op: '<=', value: 50 }] });
    assert.deepEqual(run.passthrough, ['--model', '/m', '--max-num-seqs', '8']);
    assert.equal(run.dryRun, true);
    assert.equal(run.config, 'j.yaml');
  });

  it('needs benchmark arguments from somewhere', () => {
    assert.throws(
      () => resolveRunOptions(parseRunFlags([]), { version: 1 }, 'j.yaml'),
      (e: unknown) => e instanceof AutotuneError && e.code === 'E_USAGE' && /j\.yaml has no benchmark arguments/.test(e.message),
    );
    assert.deepEqual(resolveRunOptions(parseRunFlags(['--model', 'x']), { version: 1 }, 'j.yaml').passthrough, ['--model', 'x']);
  });
});
