import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseRunArgs, RENAMED } from '../../src/cli/args.js';
import { loadVllmArgs, VllmOptions } from '../../src/cli/vllm-args.js';
import { AutotuneError } from '../../src/errors.js';

const usage = (fn: () => unknown, message: RegExp): void =>
  assert.throws(fn, (e: unknown) => e instanceof AutotuneError && e.code === 'E_USAGE' && message.test(e.message));

const throughput = new VllmOptions(loadVllmArgs('bench-throughput'));
const checked = (argv: readonly string[]) => parseRunArgs(argv, throughput);

describe('parseRunArgs', () => {
  it('keeps unknown arguments in order, including --flag=value and JSON values', () => {
    const o = parseRunArgs(['--model', '/m', '--ops', 'a,b', '--compilation-config', '{"x": [1, 2]}', '--max-num-seqs=8', '--num-runs=3', '-tp', '2']);
    assert.deepEqual(o.passthrough, ['--model', '/m', '--compilation-config', '{"x": [1, 2]}', '--max-num-seqs=8', '-tp', '2']);
    assert.deepEqual(o.ops, ['a', 'b']);
    assert.equal(o.numRuns, 3);
  });

  it("leaves vLLM's --seed to vLLM; autotune's own is --autotune-seed", () => {
    const o = checked(['--model', 'm', '--seed', '7', '--autotune-seed', '5']);
    assert.equal(o.seed, 5);
    assert.deepEqual(o.passthrough, ['--model', 'm', '--seed', '7']);
    assert.equal(checked(['--model', 'm', '--seed=9']).seed, null);
  });

  it('passes everything after a literal -- through, even autotune flags and typos', () => {
    const o = checked(['--autotune-seed', '5', '--model', 'm', '--', '--autotune-seed', '7', '--ops', 'x', '--polciy', 'reference']);
    assert.equal(o.seed, 5);
    assert.deepEqual(o.passthrough, ['--model', 'm', '--autotune-seed', '7', '--ops', 'x', '--polciy', 'reference']);
  });

  it('reads --background like the reference (true/1/false/0, any case); a bare flag is true and never takes -x', () => {
    assert.equal(parseRunArgs(['--background', 'TRUE', '--model', 'm']).background, true);
    assert.equal(parseRunArgs(['--background', '1', '--model', 'm']).background, true);
    assert.equal(parseRunArgs(['--background', 'False', '--model', 'm']).background, false);
    assert.equal(parseRunArgs(['--background=0', '--model', 'm']).background, false);
    assert.equal(parseRunArgs(['--background', '--model', 'm']).background, true);
    assert.equal(parseRunArgs(['--model', 'm', '--background']).background, true);
    const tp = parseRunArgs(['--model', 'm', '--background', '-tp', '2']);
    assert.equal(tp.background, true);
    assert.deepEqual(tp.passthrough, ['--model', 'm', '-tp', '2']);
  });

  it('refuses --background values the reference would have read as false', () => {
    for (const argv of [['--background', 'yes'], ['--background', 'no'], ['--background=on'], ['--background', '']]) {
      usage(() => parseRunArgs([...argv, '--model', 'm']), /Expected `--background` to be true, 1, false or 0/);
    }
  });

  it('uses the reference defaults', () => {
    const o = parseRunArgs(['--model', 'm']);
    assert.equal(o.numRuns, 2);
    assert.equal(o.csvName, 'history.csv');
    assert.equal(o.ops, null);
    assert.equal(o.policy, 'screening');
    assert.equal(o.metric, 'total');
    assert.equal(o.timeoutSec, 7200);
    assert.equal(o.db, null);
  });

  it('takes --autotune-metric and --autotune-db', () => {
    const o = parseRunArgs(['--model', 'm', '--autotune-metric', 'output', '--autotune-db=/tmp/x.db']);
    assert.equal(o.metric, 'output');
    assert.equal(o.db, '/tmp/x.db');
  });

  it('keeps only the base name of --csv-path', () => {
    assert.equal(parseRunArgs(['--csv-path', '/tmp/out/results.csv', '--model', 'm']).csvName, 'results.csv');
  });

  it('refuses a --csv-path that would overwrite an artifact of the session', () => {
    for (const name of ['autotune_session.json', 'best_config.yaml', 'best_config_temp.yaml', 'autotune.log', 'op_config.json', 'autotune_ops.yaml', 'autotune_ops.initial.yaml', 'AUTOTUNE.LOG', 'out/autotune_raw', 'autotune_configs', '0003_baseline_benchmark.log']) {
      usage(() => parseRunArgs(['--csv-path', name, '--model', 'm']), /would overwrite the session's own/);
    }
    for (const name of ['..', '.', '/', 'a b.csv', '.hidden.csv']) usage(() => parseRunArgs(['--csv-path', name, '--model', 'm']), /to name a file/);
  });

  it('refuses an --ops that names nothing instead of discovering every operator', () => {
    for (const v of ['', ',,', ' , ']) usage(() => parseRunArgs(['--ops', v, '--model', 'm']), /`--ops` names no operator/);
    usage(() => parseRunArgs(['--ops=', '--model', 'm']), /`--ops` names no operator/);
    assert.deepEqual(parseRunArgs(['--ops', 'a,,b, a', '--model', 'm']).ops, ['a', 'b']);
  });

  it('refuses operator names that are not identifiers, naming the offender', () => {
    for (const bad of ['../../../../tmp/x/ESCAPED', 'a/b', '..', '.hidden', '1mm', 'a b', 'a;b', 'mm\tx']) {
      usage(() => parseRunArgs(['--ops', `rms_norm,${bad}`, '--model', 'm']), new RegExp(`\`${bad.replace(/[.*+?^${}()|[\]\\]/g, '\\$&').trim()}`));
    }
    assert.deepEqual(parseRunArgs(['--ops', 'flag_gems.ops.mm,_x9', '--model', 'm']).ops, ['flag_gems.ops.mm', '_x9']);
  });

  it('treats --budget as a hard limit: one below the policy minimum is refused with the minimum', () => {
    usage(() => parseRunArgs(['--budget', '3', '--model', 'm']), /`--budget 3` is below the 10 invocations the screening policy needs/);
    assert.equal(parseRunArgs(['--budget', '10', '--model', 'm']).budget, 10);
    usage(() => parseRunArgs(['--policy', 'reference', '--num-runs', '2', '--budget', '5', '--model', 'm']), /below the 6 invocations the reference policy/);
    assert.equal(parseRunArgs(['--policy', 'reference', '--num-runs', '1', '--budget', '3', '--model', 'm']).budget, 3);
  });

  it('refuses a misspelt own option that vLLM does not take either, with a did-you-mean', () => {
    usage(() => checked(['--model', 'm', '--polciy', 'reference']), /unknown option `--polciy`: did you mean `--policy`\?/);
    usage(() => checked(['--model', 'm', '--num-run', '3']), /did you mean `--num-runs`/);
    usage(() => checked(['--model', 'm', '--budgte=20']), /did you mean `--budget`/);
    usage(() => checked(['--model', 'm', '--autotune-sed', '3']), /did you mean `--autotune-seed`/);
    usage(() => checked(['--model', 'm', '--opts', 'mm']), /did you mean `--ops`/);
    usage(() => checked(['--model', 'm', '--num_runs', '3']), /did you mean `--num-runs`/);
  });

  it("points the old names of renamed options at the new ones when vLLM does not take them", () => {
    usage(() => checked(['--model', 'm', '--metric', 'output']), /`--metric` is not a `vllm bench throughput` option; autotune's is now `--autotune-metric`/);
    usage(() => checked(['--model', 'm', '--db', 'x.db']), /autotune's is now `--autotune-db`/);
    assert.deepEqual(Object.keys(RENAMED).sort(), ['--db', '--metric', '--seed']);
  });

  it("passes vLLM's options through however argparse spells them, even near an autotune option", () => {
    for (const arg of ['--max_num_seqs=4', '--max-num-seq', '--compilation-config.mode', '--no-enforce-eager', '--seed', '-tp', '--n']) {
      assert.ok(checked(['--model', 'm', arg]).passthrough.includes(arg), arg);
    }
    // Far from every autotune option: left for vLLM (maybe a newer one) to judge.
    assert.deepEqual(checked(['--model', 'm', '--some-future-flag', '1']).passthrough, ['--model', 'm', '--some-future-flag', '1']);
  });

  it('rejects bad values with one sentence', () => {
    usage(() => parseRunArgs(['--model', 'm', '--num-runs', '0']), /Expected `--num-runs` to be an integer >= 1, got `0`/);
    usage(() => parseRunArgs(['--model', 'm', '--policy', 'magic']), /one of noise-aware, screening, reference/);
    usage(() => parseRunArgs(['--model', 'm', '--autotune-metric', 'latency']), /one of total, output, requests/);
    usage(() => parseRunArgs(['--model', 'm', '--timeout', '-1']), /number > 0/);
    usage(() => parseRunArgs(['--model', 'm', '--ops']), /`--ops` needs a value/);
    usage(() => parseRunArgs(['--model', 'm', '--autotune-db', '']), /`--autotune-db` to be a path/);
  });

  it('requires pass-through arguments', () => {
    usage(() => parseRunArgs(['--ops', 'a', '--num-runs', '2']), /no `vllm bench throughput` arguments given/);
    usage(() => parseRunArgs(['--']), /no `vllm bench throughput` arguments given/);
  });
});
