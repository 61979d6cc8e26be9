import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseRunArgs } from '../../src/cli/args.js';
import { AutotuneError } from '../../src/errors.js';

const usage = (fn: () => unknown, message: RegExp): void =>
  assert.throws(fn, (e: unknown) => e instanceof AutotuneError && e.code === 'E_USAGE' && message.test(e.message));

describe('parseRunArgs', () => {
  it('keeps unknown arguments in order, including --flag=value and JSON values', () => {
    const o = parseRunArgs(['--model', '/m', '--ops', 'a,b', '--compilation-config', '{"x": [1, 2]}', '--max-num-seqs=8', '--num-runs=3', '-tp', '2']);
    assert.deepEqual(o.passthrough, ['--model', '/m', '--compilation-config', '{"x": [1, 2]}', '--max-num-seqs=8', '-tp', '2']);
    assert.deepEqual(o.ops, ['a', 'b']);
    assert.equal(o.numRuns, 3);
  });

  it('passes everything after a literal -- through, even autotune flags', () => {
    const o = parseRunArgs(['--seed', '5', '--', '--seed', '7', '--ops', 'x']);
    assert.equal(o.seed, 5);
    assert.deepEqual(o.passthrough, ['--seed', '7', '--ops', 'x']);
  });

  it('reads --background like the reference: true or 1 in any case, a bare flag too', () => {
    assert.equal(parseRunArgs(['--background', 'TRUE', '--model', 'm']).background, true);
    assert.equal(parseRunArgs(['--background', '1', '--model', 'm']).background, true);
    assert.equal(parseRunArgs(['--background', 'no', '--model', 'm']).background, false);
    assert.equal(parseRunArgs(['--background', '--model', 'm']).background, true);
  });

  it('uses the reference defaults', () => {
    const o = parseRunArgs(['--model', 'm']);
    assert.equal(o.numRuns, 2);
    assert.equal(o.csvName, 'history.csv');
    assert.equal(o.ops, null);
    assert.equal(o.policy, 'noise-aware');
    assert.equal(o.metric, 'total');
    assert.equal(o.timeoutSec, 7200);
  });

  it('keeps only the base name of --csv-path', () => {
    assert.equal(parseRunArgs(['--csv-path', '/tmp/out/results.csv', '--model', 'm']).csvName, 'results.csv');
  });

  it('rejects bad values with one sentence', () => {
    usage(() => parseRunArgs(['--model', 'm', '--num-runs', '0']), /Expected `--num-runs` to be an integer >= 1, got `0`/);
    usage(() => parseRunArgs(['--model', 'm', '--policy', 'magic']), /one of noise-aware, reference/);
    usage(() => parseRunArgs(['--model', 'm', '--metric', 'latency']), /one of total, output, requests/);
    usage(() => parseRunArgs(['--model', 'm', '--timeout', '-1']), /number > 0/);
    usage(() => parseRunArgs(['--model', 'm', '--ops']), /`--ops` needs a value/);
  });

  it('requires pass-through arguments', () => {
    usage(() => parseRunArgs(['--ops', 'a', '--num-runs', '2']), /no `vllm bench throughput` arguments given/);
    usage(() => parseRunArgs(['--']), /no `vllm bench throughput` arguments given/);
  });
});
