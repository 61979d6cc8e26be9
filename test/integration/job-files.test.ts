/** Job files through the built CLI: every kind of broken file, validate, run, --config and --dry-run. */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { writePointer } from '../../src/cli/session-files.js';
import { openStore } from '../../src/store/db.js';
import { createRunDir } from '../../src/store/run-dir.js';
import { createSession } from '../../src/store/sessions.js';
import { autotune, BENCH_ARGS, invocations, onlyRunDir, ROOT, sandbox, type Sandbox } from '../support/cli.js';

const boxes: Sandbox[] = [];
after(() => {
  for (const box of boxes) rmSync(box.dir, { recursive: true, force: true });
});

function box(scenario = 'demo'): Sandbox {
  const b = sandbox(scenario);
  boxes.push(b);
  return b;
}

/** Broken files and exactly what autotune says about each. */
const BROKEN: ReadonlyArray<{ kind: string; text: string; stderr: string[] }> = [
  {
    kind: 'YAML syntax error',
    text: 'version: 1\nargs:\n  model: /m\n\tdtype: half\nnum_runs: 2\n',
    stderr: ['job.yaml:4: YAML syntax error: Tabs are not allowed as indentation'],
  },
  {
    kind: 'unknown top-level key',
    text: 'version: 1\nargs: [--model, /m]\nnum_run: 3\n',
    stderr: ['job.yaml:3 num_run: unknown key; did you mean `num_runs`?'],
  },
  {
    kind: 'unknown nested key',
    text: 'version: 1\nargs: [--model, /m]\nsearch:\n  opz: [rms_norm]\npolicy:\n  name: reference\n  min_gian: 0.01\n',
    stderr: ['job.yaml:4 search.opz: unknown key; did you mean `ops`?', 'job.yaml:7 policy.min_gian: unknown key; did you mean `min_gain`?'],
  },
  {
    kind: 'wrong type',
    text: 'version: 1\nargs: --model /m\nnum_runs: two\n',
    stderr: ['job.yaml:2 args: expected a mapping or a list, got "--model /m"', 'job.yaml:3 num_runs: expected an integer, got "two"'],
  },
  {
    kind: 'out of range',
    text: 'version: 1\nargs: {model: /m}\nnum_runs: 0\npolicy:\n  name: noise-aware\n  min_gain: 1.5\ntimeout: 0\n',
    stderr: [
      'job.yaml:3 num_runs: expected a value >= 1, got 0',
      'job.yaml:6 policy.min_gain: expected a value < 1, got 1.5',
      'job.yaml:7 timeout: expected a value > 0, got 0',
    ],
  },
  {
    kind: 'bad enum',
    text: 'version: 1\nbench: througput\nargs: {model: /m}\nobjective:\n  direction: up\n',
    stderr: [
      'job.yaml:2 bench: expected one of throughput, latency, serve, got "througput"; did you mean `throughput`?',
      'job.yaml:5 objective.direction: expected one of maximize, minimize, got "up"',
    ],
  },
  {
    kind: 'missing version',
    text: '# a study\nargs: {model: /m}\n',
    stderr: ['job.yaml:2 version: missing; a job file starts with `version: 1`'],
  },
  {
    kind: 'newer version',
    text: 'version: 2\nstudy: {}\n',
    stderr: ['job.yaml:1 version: version 2 is newer than this autotune reads (1); upgrade autotune'],
  },
  {
    kind: 'bad constraint string',
    text: 'version: 1\nargs: {model: /m}\nobjective:\n  metric: total_tokens_per_s\n  constraints:\n    - "tpot_mean_ms =< 50"\n',
    stderr: [
      'job.yaml:6 objective.constraints[0]: expected a constraint such as "tpot_mean_ms <= 50" (metric, one of <= >= < >, number), got "tpot_mean_ms =< 50"',
    ],
  },
  {
    kind: 'unknown metric in a constraint',
    text: 'version: 1\nargs: {model: /m}\nobjective:\n  constraints: [tpot_mean <= 50]\n',
    stderr: ['job.yaml:4 objective.constraints[0]: unknown metric `tpot_mean`; did you mean `tpot_mean_ms`?'],
  },
  {
    kind: 'misspelt vLLM flag or an autotune option in args',
    text: 'version: 1\nargs:\n  model: /m\n  tensor-paralel-size: 2\n  num-runs: 3\n',
    stderr: [
      'job.yaml:4 args.tensor-paralel-size: `--tensor-paralel-size` is not a `vllm bench throughput` option; did you mean `--tensor-parallel-size`?',
      'job.yaml:5 args.num-runs: `--num-runs` is an autotune option, not a vLLM one; set `num_runs` instead',
    ],
  },
  {
    kind: 'tuning keys in a latency study',
    text: 'version: 1\nbench: latency\nargs: {model: /m}\nworkload: {batch_sizes: [1, 8]}\npolicy: reference\nsearch: {ops: [mm]}\n',
    stderr: [
      'job.yaml:5 policy: a latency study measures every point of its grid; leave `policy` out',
      'job.yaml:6 search: a latency study does not search operators; leave `search` out (compare operator sets with `compare.operator_sets`)',
    ],
  },
  {
    kind: 'bad configurations to compare',
    text: 'version: 1\nbench: latency\nargs: {model: /m}\ncompare:\n  engines:\n    default: {enforce-eager: true}\n    eager: --enforce-eager\n  operator_sets: {}\n',
    stderr: [
      'job.yaml:6 compare.engines.default: `default` is not a valid name here; expected lower-case letters, digits and -, not default',
      'job.yaml:7 compare.engines.eager: expected a mapping or a list, got "--enforce-eager"',
      'job.yaml:8 compare.operator_sets: expected at least 1 entry',
    ],
  },
  {
    kind: 'configurations to compare that cannot be run',
    text: 'version: 1\nbench: latency\nargs: {model: /m}\ncompare:\n  engines:\n    eager: {enforce-eagre: true}\n  operator_sets:\n    tuned: missing.yaml\n',
    stderr: [
      'job.yaml:6 compare.engines.eager.enforce-eagre: `--enforce-eagre` is not a `vllm bench latency` option; did you mean `--enforce-eager`?',
      'job.yaml:8 compare.operator_sets.tuned: cannot read missing.yaml (no such file)',
    ],
  },
  {
    kind: 'configurations to compare in a throughput study',
    text: 'version: 1\nargs: {model: /m}\ncompare: {engines: {eager: [--enforce-eager]}}\n',
    stderr: ['job.yaml:3 compare: only latency studies (bench: latency) compare configurations side by side'],
  },
  {
    kind: 'empty file',
    text: '# nothing here yet\n',
    stderr: ['job.yaml:1: the file is empty; a job file starts with `version: 1`'],
  },
];

function expectRefused(b: Sandbox, r: { exitCode?: number; stdout: string; stderr: string }, lines: string[]): void {
  assert.equal(r.exitCode, 2, r.stderr);
  assert.equal(r.stdout, '');
  assert.equal(r.stderr, `autotune: ${lines.join('\n')}\n`);
  // Nothing started, nothing written.
  assert.deepEqual(invocations(b), []);
  assert.deepEqual(readdirSync(b.dir).sort(), ['job.yaml']);
}

describe('broken job files', () => {
  for (const c of BROKEN) {
    it(`${c.kind}: one line per problem, exit 2, nothing written`, async () => {
      const b = box();
      writeFileSync(join(b.dir, 'job.yaml'), c.text);
      for (const argv of [['run', 'job.yaml'], ['validate', 'job.yaml'], ['--config', 'job.yaml'], ['--autotune-config', 'job.yaml', '--dry-run']]) {
        expectRefused(b, await autotune(b, argv), c.stderr);
      }
    });
  }

  it('a missing or unreadable file', async () => {
    const b = box();
    const missing = await autotune(b, ['run', 'nope.yaml']);
    assert.equal(missing.exitCode, 2);
    assert.equal(missing.stderr, 'autotune: nope.yaml: cannot read the job file (no such file)\n');
    mkdirSync(join(b.dir, 'job.yaml'));
    const unreadable = await autotune(b, ['validate', 'job.yaml']);
    assert.equal(unreadable.exitCode, 2);
    assert.equal(unreadable.stderr, 'autotune: job.yaml: cannot read the job file (is a directory)\n');
    assert.deepEqual(readdirSync(b.dir).sort(), ['job.yaml']);
  });
});

const EXAMPLES = join(ROOT, 'configs', 'examples');

describe('the examples', () => {
  it('each validates', async () => {
    const b = box();
    const expected: Record<string, string> = {
      'dense.yaml': 'throughput study, at least 20 trials planned; operators are discovered at round 1c',
      'moe-tp.yaml': 'throughput study, 11 trials planned',
      'decode-heavy.yaml': 'throughput study, 10 trials planned',
      'latency-grid.yaml': 'latency study, 6 trials planned',
      'latency-compare.yaml': 'latency study, 8 trials planned',
      'sweep-launcher.yaml': 'throughput engine study, 3 tiers, 23 points (grid search)',
    };
    assert.deepEqual(readdirSync(EXAMPLES).sort(), Object.keys(expected).sort());
    for (const [name, summary] of Object.entries(expected)) {
      const file = join(EXAMPLES, name);
      const r = await autotune(b, ['validate', file]);
      assert.equal(r.exitCode, 0, r.all);
      assert.equal(r.stdout, `${file}: ok (${summary})\n`);
    }
  });

  for (const name of ['dense.yaml', 'moe-tp.yaml', 'decode-heavy.yaml']) {
    it(`${name} runs end to end on the simulator`, async () => {
      const b = box();
      const r = await autotune(b, ['run', join(EXAMPLES, name), '--quiet']);
      assert.equal(r.exitCode, 0, r.all);
      const runs = invocations(b);
      assert.ok(runs.length >= 8, `${runs.length} invocations`);
      const text = readFileSync(join(EXAMPLES, name), 'utf8');
      const model = /\/models\/[\w.-]+/.exec(text)?.[0] ?? '';
      for (const run of runs) {
        assert.deepEqual(run.argv?.slice(0, 2), ['bench', 'throughput']);
        assert.ok(run.argv?.includes(model), `${model} in ${run.argv?.join(' ')}`);
      }
      const dir = onlyRunDir(b);
      assert.ok(existsSync(join(dir, 'best_config.yaml')));
      if (name === 'moe-tp.yaml') {
        // Backends are limited to flagos and vendor: no reference-backend trial.
        assert.ok(runs.every((run) => run.env?.['VLLM_ATTENTION_BACKEND'] == null), 'no reference-backend attention sweep');
        assert.ok(runs.length <= 40, `budget 40, spent ${runs.length}`);
      }
      if (name === 'decode-heavy.yaml') {
        assert.ok(existsSync(join(dir, 'decode_history.csv')));
        assert.equal(runs.length, 2 * 10);
      }
    });
  }

  it('latency-grid.yaml runs its grid end to end on the simulator, as a sweep', async () => {
    const b = box('typical');
    const r = await autotune(b, ['run', join(EXAMPLES, 'latency-grid.yaml'), '--quiet', '--no-progress']);
    assert.equal(r.exitCode, 0, r.all);
    const runs = invocations(b);
    const points = [1, 8, 32].flatMap((batch) => [128, 1024].map((input) => `--batch-size ${batch} --input-len ${input} --output-len 128`));
    assert.deepEqual(
      runs.map((run) => (run.argv ?? []).slice(0, -2).join(' ')),
      points.map((p) => `bench latency --model /models/Qwen3-8B --load-format dummy ${p} --num-iters-warmup 3 --num-iters 10`),
    );
    // The job's objective is stored; its constraints mark the rows of the results table.
    const dir = onlyRunDir(b);
    const csv = readFileSync(join(dir, 'sweep.csv'), 'utf8').split('\r\n').filter((l) => l !== '');
    assert.equal(csv.length, 1 + 6);
    assert.match(csv[0] ?? '', /^point,configuration,batch_size,input_len,output_len,num_iters_warmup,num_iters,outcome,.*latency_avg_s,latency_p50_s,latency_p90_s,latency_p99_s,model_memory_gib,kv_cache_gib,kv_cache_tokens,max_concurrency,cuda_graph_capture_s,cuda_graph_memory_gib,meets_constraints$/);
    assert.match(csv[1] ?? '', /^b1-i128-o128,default,1,128,128,3,10,ok,/);
    for (const name of ['history.csv', 'best_config.yaml', 'best_config_temp.yaml', 'op_config.json', 'serve_recipe.sh']) {
      assert.equal(existsSync(join(dir, name)), false, `${name} written for a sweep`);
    }
    assert.match(r.stdout, /^b32-i1024-o128 +\d+\.\d{4} /m);
    const db = new Database(join(b.dir, 'autotune_logs', 'autotune.db'), { readonly: true });
    try {
      const row = db.prepare('SELECT policy, options_json FROM sessions').get() as { policy: string; options_json: string };
      assert.equal(row.policy, 'sweep');
      const options = JSON.parse(row.options_json) as { objective: unknown; numRuns: number; csvName: string };
      assert.deepEqual(options.objective, {
        metric: 'latency_avg_s',
        direction: 'minimize',
        constraints: [
          { metric: 'latency_p99_s', op: '<=', value: 2.5 },
          { metric: 'latency_p90_s', op: '<=', value: 2 },
        ],
      });
      assert.equal(options.numRuns, 1);
      assert.equal(options.csvName, 'sweep.csv');
    } finally {
      db.close();
    }
  });

  it('latency-compare.yaml measures every point once per configuration, with its engine arguments and operator set', async () => {
    const b = box('typical');
    const planned = await autotune(b, ['run', join(EXAMPLES, 'latency-compare.yaml'), '--dry-run']);
    assert.equal(planned.exitCode, 0, planned.all);
    assert.match(planned.stdout, /\noperators {4}4 configurations per point, side by side: engines graphs, eager x operator sets norms, vendor\n/);
    assert.match(planned.stdout, /\ninvocations {2}8 \(1 run x 2 points x 4 configurations\)\n/);
    assert.deepEqual(invocations(b), []);
    const r = await autotune(b, ['run', join(EXAMPLES, 'latency-compare.yaml'), '--quiet', '--no-progress']);
    assert.equal(r.exitCode, 0, r.all);
    const engines = { graphs: '--max-num-seqs 16', eager: '--enforce-eager --max-num-seqs 16' };
    const opSets = { norms: { op_backends: { rms_norm: ['flagos'], fused_add_rms_norm: ['flagos'] } }, vendor: { op_backends: { rms_norm: ['vendor'] } } };
    const expected = [1, 16].flatMap((batch) =>
      Object.entries(engines).flatMap(([engine, args]) =>
        Object.entries(opSets).map(([opSet, config]) => ({
          key: `latency:b${batch}-i512-o64:${engine}@${opSet}`,
          argv: `bench latency --model /models/Qwen3-8B --load-format dummy ${args} --batch-size ${batch} --input-len 512 --output-len 64 --num-iters-warmup 3 --num-iters 5`,
          flagGems: '1',
          config,
        })),
      ),
    );
    const runs = invocations(b);
    assert.deepEqual(
      runs.map((run) => ({ key: run.runKey?.split(':').slice(3).join(':'), argv: (run.argv ?? []).slice(0, -2).join(' '), flagGems: run.env?.['USE_FLAGGEMS'], config: run.config })),
      expected,
    );
    const csv = readFileSync(join(onlyRunDir(b), 'sweep.csv'), 'utf8').split('\r\n').filter((l) => l !== '');
    assert.deepEqual(
      csv.slice(1).map((l) => l.split(',').slice(0, 2).join(',')),
      [1, 16].flatMap((batch) => ['graphs_norms', 'graphs_vendor', 'eager_norms', 'eager_vendor'].map((c) => `b${batch}-i512-o64,${c}`)),
    );
    assert.ok(csv.slice(1).every((l) => l.split(',').includes('ok')), csv.join('\n'));
    assert.match(r.stdout, /^b16-i512-o64 \(eager, vendor\) +\d+\.\d{4} /m);
  });

  it('a latency job reads an operator set from its file, as `--op-set` does, and stores its payload with the session', async () => {
    const b = box('typical');
    writeFileSync(join(b.dir, 'best.yaml'), 'op_backends:\n  rms_norm: [vendor]\n');
    writeFileSync(join(b.dir, 'job.yaml'), 'version: 1\nbench: latency\nargs: {model: m, num-iters: 2}\nworkload: {batch_sizes: [1, 2], input_lens: 64, output_lens: 8}\ncompare:\n  operator_sets: {tuned: best.yaml}\n');
    const r = await autotune(b, ['run', 'job.yaml', '--quiet', '--no-progress']);
    assert.equal(r.exitCode, 0, r.all);
    const runs = invocations(b);
    assert.deepEqual(runs.map((run) => run.runKey?.split(':').slice(3).join(':')), ['latency:b1-i64-o8@tuned', 'latency:b2-i64-o8@tuned']);
    for (const run of runs) {
      assert.equal(run.env?.['USE_FLAGGEMS'], '1');
      assert.deepEqual(run.config, { op_backends: { rms_norm: ['vendor'] } });
      assert.match((run.argv ?? []).join(' '), /^bench latency --model m --batch-size [12] --input-len 64 --output-len 8 --num-iters-warmup 10 --num-iters 2 --output-json /);
    }
    // The payload is stored with the session: the file is not read again.
    const db = new Database(join(b.dir, 'autotune_logs', 'autotune.db'), { readonly: true });
    try {
      const row = db.prepare('SELECT options_json FROM sessions').get() as { options_json: string };
      const trials = (JSON.parse(row.options_json) as { trials: { config: unknown }[] }).trials;
      assert.deepEqual(trials.map((t) => t.config), [{ op_backends: { rms_norm: ['vendor'] } }, { op_backends: { rms_norm: ['vendor'] } }]);
    } finally {
      db.close();
    }
  });

  it('a latency job computes MFU from its mfu key, and refuses tuning options', async () => {
    const b = box('typical');
    const config = join(ROOT, 'test', 'fixtures', 'models', 'llama-2-7b-mha.json');
    writeFileSync(
      join(b.dir, 'job.yaml'),
      `version: 1\nbench: latency\nargs: {model: m, num-iters: 2}\nworkload: {batch_sizes: [1, 4], output_lens: 16}\nmfu: {model_config: ${JSON.stringify(config)}, peak_tflops: 100}\ncsv_path: grid.csv\n`,
    );
    const refused = await autotune(b, ['run', 'job.yaml', '--policy', 'reference']);
    assert.equal(refused.exitCode, 2);
    assert.equal(refused.stderr, 'autotune: `--policy` does not apply to job.yaml: a latency study measures every point of its grid\n');
    assert.deepEqual(readdirSync(b.dir), ['job.yaml']);
    const r = await autotune(b, ['run', 'job.yaml', '--quiet', '--no-progress']);
    assert.equal(r.exitCode, 0, r.all);
    // No input_lens: the axis is vLLM's default input length, 32.
    assert.deepEqual(invocations(b).map((i) => i.runKey?.split(':').slice(3).join(':')), ['latency:b1-i32-o16', 'latency:b4-i32-o16']);
    const csv = readFileSync(join(onlyRunDir(b), 'grid.csv'), 'utf8').split('\r\n');
    const header = (csv[0] ?? '').split(',');
    const mfu = header.indexOf('mfu');
    assert.ok(mfu > 0, csv[0]);
    for (const line of csv.slice(1, 3)) assert.ok(Number(line.split(',')[mfu]) > 0, line);
  });
});

describe('command line over the job file', () => {
  it('flags override the file, vLLM flags replace the file’s, and the session resumes with them', async () => {
    const b = box();
    // The job's environment replaces the caller's: the simulator then logs to another directory.
    const jobState = join(b.dir, 'job-state');
    writeFileSync(
      join(b.dir, 'job.yaml'),
      `version: 1\nargs:\n  model: /models/Qwen3-4B\n  dataset-name: random\n  max-num-seqs: 64\nworkload: {input_lens: 512, output_lens: 128}\nsearch: {ops: [mm]}\nnum_runs: 3\npolicy: noise-aware\nenv: {VLLM_SIM_STATE_DIR: ${JSON.stringify(jobState)}}\n`,
    );
    const r = await autotune(b, ['--autotune-config', 'job.yaml', '--num-runs', '1', '--policy', 'reference', '--max-num-seqs', '8', '--quiet']);
    assert.equal(r.exitCode, 0, r.all);
    assert.deepEqual(invocations(b), []);
    const runs = invocations({ ...b, stateDir: jobState });
    // reference policy, one run per configuration: 3 baselines and mm (not faster here, so no combined run).
    assert.deepEqual(
      runs.map((run) => run.argv?.[run.argv.indexOf('--output-json') + 1]?.split('/').pop()),
      ['0001_baseline_benchmark.json', '0002_baseline_fake_gems_op_benchmark.json', '0003_baseline_gems_enable_benchmark.json', '0004_op_mm_flagos_benchmark.json'],
    );
    const argv = runs[0]?.argv ?? [];
    assert.deepEqual(argv.slice(0, 10), ['bench', 'throughput', '--model', '/models/Qwen3-4B', '--dataset-name', 'random', '--input-len', '512', '--output-len', '128']);
    assert.equal(argv.filter((a) => a === '--max-num-seqs').length, 1);
    assert.equal(argv[argv.indexOf('--max-num-seqs') + 1], '8');
    const db = new Database(join(b.dir, 'autotune_logs', 'autotune.db'), { readonly: true });
    try {
      const row = db.prepare('SELECT options_json, env_json FROM sessions').get() as { options_json: string; env_json: string };
      const options = JSON.parse(row.options_json) as Record<string, unknown>;
      assert.equal(options['version'], 1);
      assert.equal(options['numRuns'], 1);
      assert.equal(options['policy'], 'reference');
      assert.equal((JSON.parse(row.env_json) as Record<string, string>)['VLLM_SIM_STATE_DIR'], jobState);
    } finally {
      db.close();
    }
  });
});

describe('autotune --config JOB.yaml', () => {
  it('reads the job file as the first argument only; elsewhere --config reaches vLLM', async () => {
    const b = box();
    writeFileSync(join(b.dir, 'job.yaml'), 'version: 1\nargs: {model: /models/Qwen3-4B, dataset-name: random}\nsearch: {ops: [mm]}\n');
    const r = await autotune(b, ['--config', 'job.yaml', '--num-runs', '1', '--policy', 'reference', '--quiet']);
    assert.equal(r.exitCode, 0, r.all);
    const runs = invocations(b);
    assert.equal(runs.length, 4);
    assert.deepEqual(runs[0]?.argv?.slice(0, 6), ['bench', 'throughput', '--model', '/models/Qwen3-4B', '--dataset-name', 'random']);
    const planned = await autotune(b, ['--config=job.yaml', '--dry-run', '--config', 'vllm.yaml']);
    assert.equal(planned.exitCode, 0, planned.all);
    assert.match(planned.stdout, /^Plan for job\.yaml: /);
    assert.match(planned.stdout, /\nbenchmark {4}vllm bench throughput --model \/models\/Qwen3-4B --dataset-name random --config vllm\.yaml\n/);
    const later = await autotune(b, [...BENCH_ARGS, '--config', 'job.yaml', '--dry-run']);
    assert.equal(later.exitCode, 0, later.all);
    assert.match(later.stdout, /^Plan for the command line: /);
    assert.match(later.stdout, /--output-len 128 --config job\.yaml\n/);
    const bare = await autotune(b, ['--config']);
    assert.equal(bare.exitCode, 2);
    assert.equal(bare.stderr, 'autotune: `--config` as the first argument needs a job file: `autotune --config job.yaml [options]`\n');
  });
});

describe('--dry-run', () => {
  it('plans without running or writing anything, for plain flags too', async () => {
    const b = box();
    const r = await autotune(b, [...BENCH_ARGS, '--ops', 'mm,rms_norm', '--tensor-parallel-size', '2', '--dry-run', '--run-minutes', '6']);
    assert.equal(r.exitCode, 0, r.all);
    assert.match(r.stdout, /^Plan for the command line: throughput study, 9 trials planned \(dry run: nothing is run or written\)\n/);
    // mm (flagos) + rms_norm (flagos, vendor, reference x 2 attention backends) + 4 = 9 trials;
    // 9 x 2 runs = 18 for the reference; the default (screening) policy's budget is that count.
    assert.match(r.stdout, /\ninvocations {2}18 \(at most: the screening default budget, the reference's 18\)\n/);
    assert.match(r.stdout, /\ngpus {9}2 per run \(tensor parallel 2 x pipeline parallel 1\)\n/);
    assert.match(r.stdout, /\nestimate {5}3\.6 GPU-hours \(18 invocations x 6\.0 min x 2 GPUs; --run-minutes\)\n/);
    assert.deepEqual(invocations(b), []);
    assert.deepEqual(readdirSync(b.dir), []);
  });

  it('says the operator count is unknown before round 1c and estimates from a past session', async () => {
    const b = box();
    const first = await autotune(b, [...BENCH_ARGS, '--ops', 'mm', '--num-runs', '1', '--policy', 'reference', '--quiet']);
    assert.equal(first.exitCode, 0, first.all);
    const dbFile = join(b.dir, 'autotune_logs', 'autotune.db');
    const db = new Database(dbFile);
    // A known mean: every successful run took 3 minutes.
    db.prepare("UPDATE runs SET duration_ms = 180000 WHERE outcome = 'ok'").run();
    const session = (db.prepare('SELECT id FROM sessions').get() as { id: string }).id;
    db.close();
    // SQLite's own -shm/-wal files may appear beside a database that is read (as with status).
    const files = (): string[] => readdirSync(join(b.dir, 'autotune_logs')).filter((f) => !/-(shm|wal)$/.test(f)).sort();
    const before = files();
    const r = await autotune(b, [...BENCH_ARGS, '--policy', 'reference', '--dry-run']);
    assert.equal(r.exitCode, 0, r.all);
    assert.match(r.stdout, /at least 20 trials planned/);
    assert.match(r.stdout, /the count is unknown until then/);
    assert.match(r.stdout, new RegExp(`\\nestimate {5}at least 2\\.0 GPU-hours \\(40 invocations x 3\\.0 min x 1 GPU; mean run of session ${session} \\(/models/Qwen3-4B\\)\\)\\n`));
    assert.deepEqual(files(), before);
    assert.equal(invocations(b).length, 4);
    const after = new Database(dbFile, { readonly: true });
    assert.equal((after.prepare('SELECT COUNT(*) AS n FROM sessions').get() as { n: number }).n, 1);
    after.close();
  });
});

describe('stored session options', () => {
  it('a session stored before the options had a version resumes to the end', async () => {
    const b = box();
    const dbPath = join(b.dir, 'autotune_logs', 'autotune.db');
    const store = openStore(dbPath);
    const runDir = createRunDir(join(b.dir, 'autotune_logs'));
    // Exactly the options row the previous release wrote: no version, bench, objective or workload.
    const session = createSession(store, {
      runDir,
      policy: 'reference',
      args: [...BENCH_ARGS],
      options: {
        numRuns: 1,
        metric: 'total',
        minGain: 0.005,
        budget: null,
        seed: 1,
        timeoutSec: 600,
        vllmBin: 'vllm',
        csvName: 'history.csv',
        policy: 'reference',
        discovery: { explicitOps: ['mm'], configOps: null },
      },
      env: {},
    });
    store.close();
    writePointer(runDir, session.id, dbPath);
    const r = await autotune(b, ['resume', session.id, '--quiet']);
    assert.equal(r.exitCode, 0, r.all);
    assert.equal(invocations(b).length, 4);
    const status = await autotune(b, ['status', session.id, '--json']);
    assert.equal((JSON.parse(status.stdout) as { state: string }).state, 'completed');
  });
});
