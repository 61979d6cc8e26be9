import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { RUN_FLAGS } from '../../src/cli/args.js';
import { JOB_KEY_OF_FLAG, vllmArgCheck } from '../../src/cli/job-arg-check.js';
import { checkJobText, formatProblem } from '../../src/config/load-job.js';

describe('job file benchmark flags', () => {
  const check = vllmArgCheck();

  it('let vLLM options through in any spelling, and unknown ones a newer vLLM may take', () => {
    for (const flag of ['--model', '--tensor_parallel_size', '-tp', '--max-num-seq', '--compilation-config', '--my-new-flag']) {
      assert.equal(check(flag, 'throughput'), null, flag);
    }
    assert.equal(check('--num-iters', 'latency'), null);
  });

  it('name the vLLM option a near miss was meant to be, per benchmark', () => {
    assert.equal(check('--tensor-paralel-size', 'throughput'), '`--tensor-paralel-size` is not a `vllm bench throughput` option; did you mean `--tensor-parallel-size`?');
    assert.equal(check('--batch-sise', 'latency'), '`--batch-sise` is not a `vllm bench latency` option; did you mean `--batch-size`?');
  });

  it('send autotune options to their own keys', () => {
    assert.equal(check('--num-runs', 'throughput'), '`--num-runs` is an autotune option, not a vLLM one; set `num_runs` instead');
    assert.equal(check('--dry_run', 'throughput'), '`--dry-run` is an autotune option, not a vLLM one; give it on the command line');
    assert.deepEqual(Object.keys(JOB_KEY_OF_FLAG).sort(), [...RUN_FLAGS].sort());
  });

  it('are reported at their lines, in a map or a list', () => {
    const map = checkJobText('version: 1\nargs:\n  model: /m\n  ops: mm\n  enforce-eagre: true\n', check);
    assert.deepEqual(map.ok ? [] : map.problems.map((p) => formatProblem('j.yaml', p)), [
      'j.yaml:4 args.ops: `--ops` is an autotune option, not a vLLM one; set `search.ops` instead',
      'j.yaml:5 args.enforce-eagre: `--enforce-eagre` is not a `vllm bench throughput` option; did you mean `--enforce-eager`?',
    ]);
    const list = checkJobText('version: 1\nargs:\n  - --model\n  - /m\n  - --seed\n  - "-1"\n  - --max-num-seqz=8\n', check);
    assert.deepEqual(list.ok ? [] : list.problems.map((p) => formatProblem('j.yaml', p)), [
      'j.yaml:7 args[4]: `--max-num-seqz` is not a `vllm bench throughput` option; did you mean `--max-num-seqs`?',
    ]);
  });
});
