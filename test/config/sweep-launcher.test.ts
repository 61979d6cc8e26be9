/** Sweep-launcher files as the hand-written tools take them: fixed_args, experiments, list values, overrides. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isSweepLauncher, readSweepLauncher } from '../../src/config/sweep-launcher.js';
import { axisTiers, engineRequestOf, parseRetryFailures } from '../../src/cli/engine-options.js';
import { AutotuneError } from '../../src/errors.js';

const ACCEPTS = (flag: string): boolean => flag !== '--dataset-column';

describe('sweep-launcher files', () => {
  it('become independent tiers: list values are axes, an experiment overrides a fixed argument, scalars ride on the points', () => {
    const doc = {
      script: 'run.sh',
      fixed_args: { model: '/m', gmu: 0.9, mnbt: [8192, 16384], 'dataset-column': 'text' },
      experiments: [
        { name: 'a', args: { mns: [256, 512] } },
        { name: 'b', args: { tp: 2, mnbt: 32768, spec: ['None', '{"method": "ngram"}'] } },
      ],
    };
    assert.equal(isSweepLauncher(doc), true);
    assert.equal(isSweepLauncher({ version: 1, experiments: [] }), false, 'a job file is not a sweep file');
    const sweep = readSweepLauncher(doc, 'sweep.yaml', ACCEPTS);
    assert.deepEqual(sweep.passthrough, ['--model', '/m', '--gpu-memory-utilization', '0.9']);
    assert.deepEqual(sweep.tiers, [
      { name: 'a', axes: [{ name: 'max-num-batched-tokens', values: [8192, 16384] }, { name: 'max-num-seqs', values: [256, 512] }], fixed: {}, independent: true },
      { name: 'b', axes: [{ name: 'speculative-config', values: [null, '{"method": "ngram"}'] }], fixed: { 'tensor-parallel-size': 2, 'max-num-batched-tokens': 32768 }, independent: true },
    ]);
    assert.deepEqual(sweep.notes, ['sweep.yaml: script steers the sweep launcher; autotune runs the benchmark itself', 'sweep.yaml: not `vllm bench throughput` arguments, set aside: dataset-column']);
  });

  it('refuses what it cannot read, naming the file and the key', () => {
    assert.throws(() => readSweepLauncher({ fixed_args: {}, experiments: [], queue: 'x' }, 's.yaml', ACCEPTS), (e: unknown) => e instanceof AutotuneError && e.message === 's.yaml: unknown key `queue` (a sweep file has fixed_args and experiments)');
    assert.throws(() => readSweepLauncher({ experiments: [] }, 's.yaml', ACCEPTS), /experiments must be a non-empty list/);
    assert.throws(() => readSweepLauncher({ experiments: [{ name: 'x', args: { mns: [] } }] }, 's.yaml', ACCEPTS), /experiments\[0\]\.args\.mns is an empty list/);
    assert.throws(() => readSweepLauncher({ experiments: [{ name: 'x' }, { name: 'x' }] }, 's.yaml', ACCEPTS), /the name x is used twice/);
  });
});

describe('engine flags', () => {
  it('--autotune-axis names tiers in order; a job file tier of the same name gets the flag axis', () => {
    const tiers = axisTiers(['mns=256,512', '1:gmu=0.9,0.95', 'tp=1,2']);
    assert.deepEqual(tiers.map((t) => [t.name, t.axes.map((a) => a.name)]), [['0', ['max-num-seqs', 'tensor-parallel-size']], ['1', ['gpu-memory-utilization']]]);
    assert.throws(() => axisTiers(['mns']), /takes \[TIER:\]NAME=V1,V2/);
    assert.throws(() => axisTiers(['mns=1', 'max_num_seqs=2']), /max-num-seqs is given twice for tier 0/);
    const merged = engineRequestOf({ engine: { tiers: [{ name: '1', axes: [{ name: 'gpu-memory-utilization', values: [0.8] }], fixed: {}, independent: false }], search: 'grid', operators: false, retry: [], gpus: null, modelConfig: null, notes: [] }, engineAxes: ['1:gmu=0.9,0.95'], engineSearch: null, retryFailures: ['oom'] });
    assert.deepEqual(merged?.tiers[0]?.axes, [{ name: 'gpu-memory-utilization', values: [0.9, 0.95] }]);
    assert.equal(merged?.search, 'grid');
    assert.deepEqual(merged?.retry, ['oom']);
    assert.throws(() => engineRequestOf({ engine: null, engineAxes: [], engineSearch: 'grid', retryFailures: null }), /belong to an engine study/);
    assert.deepEqual(parseRetryFailures('oom, timeout,oom', '--retry-failures'), ['oom', 'timeout']);
    assert.deepEqual(parseRetryFailures('none', '--retry-failures'), []);
    assert.throws(() => parseRetryFailures('oops', '--retry-failures'), /takes failure classes from oom, timeout, engine, exit, no-result/);
  });
});
