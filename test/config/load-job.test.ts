import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { didYouMean, editDistance } from '../../src/config/did-you-mean.js';
import { checkJobText, formatProblem, type JobCheck } from '../../src/config/load-job.js';
import type { OperatorSetRead } from '../../src/config/operator-set-file.js';
import { METRICS } from '../../src/tuner/metrics.js';
import { constraintParts, defaultDirection, METRIC_SHORTHANDS } from '../../src/tuner/objective.js';
import { ROOT } from '../support/cli.js';

function problems(check: JobCheck): string[] {
  return check.ok ? [] : check.problems.map((p) => formatProblem('j.yaml', p));
}

describe('did-you-mean', () => {
  it('counts edits, a swap as one', () => {
    assert.equal(editDistance('num_runs', 'num_runs'), 0);
    assert.equal(editDistance('num_run', 'num_runs'), 1);
    assert.equal(editDistance('nmu_runs', 'num_runs'), 1);
    assert.equal(editDistance('', 'abc'), 3);
  });

  it('suggests only a close name', () => {
    assert.equal(didYouMean('outptu_dir', ['output_dir', 'db']), 'output_dir');
    assert.equal(didYouMean('model', ['output_dir', 'db', 'env']), null);
  });
});

describe('checkJobText', () => {
  it('accepts a full job', () => {
    const check = checkJobText(
      [
        'version: 1',
        'bench: throughput',
        'args: {model: /m, enforce-eager: true, cuda-graph-sizes: [1, 2], compilation-config: {level: 3}}',
        'workload: {input_lens: 512, output_lens: [128], num_prompts: 10}',
        'search: {ops: [mm], backends: [flagos]}',
        'objective: {metric: total, direction: maximize, constraints: ["tpot_mean_ms <= 50", {metric: ttft_p99_ms, op: "<", value: 900}]}',
        'num_runs: 3',
        'policy: {name: noise-aware, min_gain: 0.01, budget: 30, seed: 4}',
        'timeout: 600.5',
        'runner: local',
        'output_dir: out',
        'db: out/a.db',
        'env: {VLLM_X: 1, FLAG: true}',
        'vllm_bin: /opt/vllm',
        'csv_path: h.csv',
      ].join('\n'),
    );
    assert.deepEqual(problems(check), []);
  });

  it('reports every problem, sorted by line', () => {
    const check = checkJobText('version: 1\nenv:\n  BAD-NAME: x\nsearch: {ops: [mm, mm]}\nworkload: {batch_sizes: [0]}\n');
    assert.deepEqual(problems(check), [
      'j.yaml:3 env.BAD-NAME: `BAD-NAME` is not a valid name here',
      'j.yaml:4 search.ops: lists "mm" twice',
      'j.yaml:5 workload.batch_sizes[0]: expected a value >= 1, got 0',
    ]);
  });

  it('checks what the schema cannot', () => {
    const check = checkJobText('version: 1\nslurm: {partition: gpu}\nargs: {input-len: 5}\nworkload: {input_lens: 8, batch_sizes: 2}\nsearch: {ops: [mm], discover: true}\n');
    assert.deepEqual(problems(check), [
      'j.yaml:2 slurm: needs `runner: slurm`',
      'j.yaml:3 args.input-len: also set by workload.input_lens; keep one',
      'j.yaml:4 workload.batch_sizes: only latency studies take batch sizes (throughput: num_prompts)',
      'j.yaml:5 search.discover: cannot be true together with search.ops',
    ]);
    assert.deepEqual(problems(checkJobText('version: 1\nbench: serve\nserve: {cases: [64x16@4], slo: ttft_p99_ms<=2000}\nbench_args: [--tokenizer, t]\n')), []);
    assert.deepEqual(problems(checkJobText('version: 1\nserve: {slo: ttft_p99_ms<=2000}\nbench_args: [--tokenizer, t]\n')), [
      'j.yaml:2 serve: only serving studies (bench: serve) take serve options',
      'j.yaml:3 bench_args: only serving studies (bench: serve) take bench_args',
    ]);
    assert.deepEqual(problems(checkJobText('version: 1\nbench: latency\nworkload: {num_prompts: 3}\nsearch: {discover: false}\n')), [
      'j.yaml:3 workload.num_prompts: only throughput studies take num_prompts (latency: batch_sizes)',
      'j.yaml:4 search: a latency study does not search operators; leave `search` out (compare operator sets with `compare.operator_sets`)',
      'j.yaml:4 search.discover: false needs search.ops (the operators to tune)',
    ]);
    assert.deepEqual(problems(checkJobText('version: 1\nbench: throughput\nmfu: {gpu: h100-sxm}\n')), ['j.yaml:3 mfu: only latency studies report MFU']);
  });

  it('points a missing nested key at its mapping', () => {
    assert.deepEqual(problems(checkJobText('version: 1\nobjective:\n  constraints:\n    - metric: tpot_mean_ms\n      op: "<="\n')), [
      'j.yaml:4 objective.constraints[0].value: missing (required)',
    ]);
    assert.deepEqual(problems(checkJobText('version: 1\ncsv_path: logs/\n')), ['j.yaml:2 csv_path: must name a file']);
  });

  it('reads operator-set files into their payloads through the reader it is given, and reports the others at their line', () => {
    const text = 'version: 1\nbench: latency\ncompare:\n  engines: {eager: [--enforce-eager], seqs: {max-num-seqs: 8}}\n  operator_sets:\n    tuned: best.yaml\n    inline: {op_backends: {mm: [vendor]}}\n    gone: nope.yaml\n';
    const read = (file: string): OperatorSetRead =>
      file === 'best.yaml' ? { ok: true, config: { op_backends: { rms_norm: ['flagos'] } } } : { ok: false, reason: `cannot read ${file} (no such file)` };
    assert.deepEqual(problems(checkJobText(text, null, read)), ['j.yaml:8 compare.operator_sets.gone: cannot read nope.yaml (no such file)']);
    const ok = checkJobText(text.replace(/    gone: nope.yaml\n/, ''), null, read);
    assert.ok(ok.ok);
    assert.deepEqual(ok.job.compare?.operator_sets, { tuned: { op_backends: { rms_norm: ['flagos'] } }, inline: { op_backends: { mm: ['vendor'] } } });
    // Without a reader the file names stay as written (checkJobText alone touches no file).
    const unread = checkJobText(text);
    assert.ok(unread.ok);
    assert.equal(unread.job.compare?.operator_sets?.['gone'], 'nope.yaml');
  });

  it('says a list where a mapping belongs', () => {
    assert.deepEqual(problems(checkJobText('- version: 1\n')), ['j.yaml:1: expected a mapping, got a list']);
  });
});

describe('objectives', () => {
  it('knows the same metrics as the schema', () => {
    const schema = JSON.parse(readFileSync(join(ROOT, 'configs', 'job.schema.json'), 'utf8')) as { $defs: { metric: { enum: string[] } } };
    assert.deepEqual([...schema.$defs.metric.enum].sort(), [...METRICS.map((m) => m.name), ...Object.keys(METRIC_SHORTHANDS)].sort());
  });

  it('parses constraint strings, shorthands included', () => {
    assert.deepEqual(constraintParts(' tpot_mean_ms<=50 '), { metric: 'tpot_mean_ms', op: '<=', value: 50 });
    assert.deepEqual(constraintParts('output > -1.5'), { metric: 'output_tokens_per_s', op: '>', value: -1.5 });
    assert.equal(constraintParts('tpot_mean_ms = 50'), null);
    assert.equal(constraintParts('tpot_mean_ms <= fifty'), null);
  });

  it('maximises rates and capacities, minimises times and memory', () => {
    assert.equal(defaultDirection('output_tokens_per_s'), 'maximize');
    assert.equal(defaultDirection('kv_cache_tokens'), 'maximize');
    assert.equal(defaultDirection('latency_p99_s'), 'minimize');
    assert.equal(defaultDirection('model_memory_gib'), 'minimize');
    assert.equal(defaultDirection('mfu'), 'maximize');
  });
});
