import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { classifyRun, type RunEnd } from '../../src/runners/classify-failure.js';
import { fixtureLog } from './fixture-logs.js';

function end(overrides: Partial<RunEnd>): RunEnd {
  return { log: '', hasResult: false, exitCode: 1, signal: null, timedOut: false, interrupted: false, spawnError: null, ...overrides };
}

describe('classifyRun on fixture logs', () => {
  const cases: ReadonlyArray<[log: string, exitCode: number, outcome: string, failure: RegExp]> = [
    ['oom-enginecore.log', 1, 'oom', /^CUDA out of memory: torch\.OutOfMemoryError: CUDA out of memory\. Tried to allocate 1\.95 GiB/],
    ['kv-cache.log', 1, 'oom', /^insufficient KV cache memory: ValueError: No available memory for the cache blocks/],
    ['engine-init-root-cause.log', 1, 'engine_failure', /^engine core failed: TypeError: fused_add_rms_norm\(\) takes 4 positional arguments but 5 were given$/],
    ['nccl-error.log', 1, 'engine_failure', /^distributed error: RuntimeError: NCCL error: unhandled system error/],
    ['kernel-fault.log', 1, 'engine_failure', /^kernel fault: RuntimeError: Worker failed with error 'CUDA error: an illegal memory access was encountered/],
    ['plugin-no-impl.log', 1, 'engine_failure', /^vllm-plugin-FL error: RuntimeError: No implementation selected for op='rms_norm'/],
    ['bad-args.log', 2, 'nonzero_exit', /^invalid arguments: vllm bench throughput: error: unrecognized arguments: --bogus-flag$/],
    ['no-result.log', 0, 'no_result', /without printing a Throughput line/],
  ];
  for (const [name, exitCode, outcome, failure] of cases) {
    it(`${name} -> ${outcome}`, () => {
      const result = classifyRun(end({ log: fixtureLog(name), exitCode }));
      assert.equal(result.outcome, outcome);
      assert.match(result.failure ?? '', failure);
      assert.doesNotMatch(result.failure ?? '', /\n|\x1b|EngineCore_DP0|\d\d-\d\d \d\d:/, 'one clean line');
    });
  }

  it('success logs with a result are ok, the CUDA-graphs notice notwithstanding', () => {
    assert.deepEqual(classifyRun(end({ log: fixtureLog('success-current.log'), hasResult: true, exitCode: 0 })), { outcome: 'ok', failure: null });
  });

  it('does not mistake the CUDA-graphs notice for an OOM', () => {
    const result = classifyRun(end({ log: fixtureLog('success-current.log'), exitCode: 1 }));
    assert.equal(result.outcome, 'nonzero_exit');
  });
});

describe('classifyRun table', () => {
  it('a result after a nonzero exit or a teardown hang is still a measurement', () => {
    assert.equal(classifyRun(end({ hasResult: true, exitCode: 1 })).outcome, 'ok');
    assert.equal(classifyRun(end({ hasResult: true, exitCode: null, signal: 'SIGKILL', timedOut: true })).outcome, 'ok');
  });

  it('interrupted wins over everything, even a result', () => {
    assert.equal(classifyRun(end({ hasResult: true, exitCode: 0, interrupted: true })).outcome, 'interrupted');
  });

  it('spawn errors carry their message', () => {
    assert.deepEqual(classifyRun(end({ exitCode: null, spawnError: "vllm executable not found: 'vllm' is not on PATH (set --vllm-bin)" })), {
      outcome: 'spawn_error',
      failure: "vllm executable not found: 'vllm' is not on PATH (set --vllm-bin)",
    });
  });

  it('a timeout with no known cause is a timeout, with the stall hint when present', () => {
    const plain = classifyRun(end({ exitCode: null, signal: 'SIGTERM', timedOut: true, log: 'Loading weights\n' }));
    assert.deepEqual(plain, { outcome: 'timeout', failure: 'timed out before printing a result' });
    const stalled = classifyRun(end({
      exitCode: null,
      signal: 'SIGKILL',
      timedOut: true,
      log: '(EngineCore_DP0 pid=1) INFO 09-24 10:11:12 [shm_broadcast.py:466] No available shared memory broadcast block found in 60 seconds.\n',
    }));
    assert.equal(stalled.outcome, 'timeout');
    assert.match(stalled.failure ?? '', /workers stalled: No available shared memory broadcast block found in 60 seconds/);
  });

  it('a known cause outranks the timeout that followed it', () => {
    assert.equal(classifyRun(end({ timedOut: true, exitCode: null, signal: 'SIGKILL', log: fixtureLog('oom-enginecore.log') })).outcome, 'oom');
  });

  it('an outside SIGKILL or exit 137 is a nonzero exit naming the killer', () => {
    for (const e of [end({ exitCode: null, signal: 'SIGKILL' }), end({ exitCode: 137 })]) {
      const result = classifyRun(e);
      assert.equal(result.outcome, 'nonzero_exit');
      assert.match(result.failure ?? '', /^killed by SIGKILL .*OOM killer/);
    }
  });

  it('an unknown failure names the last exception line, else the last line', () => {
    const log = 'ValueError: first\nsomething\nKeyError: \'model.embed_tokens.weight\'\nexiting\n';
    assert.equal(classifyRun(end({ log })).failure, "exited with code 1: KeyError: 'model.embed_tokens.weight'");
    assert.equal(classifyRun(end({ log: 'segfault somewhere\n\n' , exitCode: 139 })).failure, 'exited with code 139: segfault somewhere');
    assert.equal(classifyRun(end({ log: '' })).failure, 'exited with code 1 and printed nothing');
  });

  it('recognises every §8 pattern', () => {
    const cases: ReadonlyArray<[string, string, RegExp]> = [
      ['pydantic_core._pydantic_core.ValidationError: 1 validation error for ModelConfig\n  Value error, User-specified max_model_len (999999) is greater than the derived max_model_len (40960)', 'nonzero_exit', /^configuration error: Value error, User-specified max_model_len/],
      ['ValueError: max_num_batched_tokens (1024) is smaller than max_model_len (131072).', 'nonzero_exit', /^configuration error:/],
      ['AssertionError: Please ensure that max_model_len is greater than the sum of prompt_len and expected_output_len for all requests.', 'nonzero_exit', /^configuration error:/],
      ['ValueError: Free memory on device (10.2/79.1 GiB) on startup is less than desired GPU memory utilization (0.9, 71.2 GiB).', 'nonzero_exit', /^GPU memory already in use:/],
      ["ValueError: To serve at least one request with the models's max seq len (131072), (16.00 GiB KV cache is needed, which is larger than the available KV cache memory (9.3 GiB).", 'oom', /^insufficient KV cache memory:/],
      ["ValueError: The model's max seq len (32768) is larger than the maximum number of tokens that can be stored in KV cache (16384).", 'oom', /^insufficient KV cache memory:/],
      ['RuntimeError: NPU out of memory. Tried to allocate 2.00 GiB', 'oom', /^NPU out of memory: RuntimeError: NPU out of memory/],
      ['torch.cuda.OutOfMemoryError: HIP out of memory.', 'oom', /^out of memory: torch\.cuda\.OutOfMemoryError/],
      ['RuntimeError: CUDA error: device-side assert triggered', 'engine_failure', /^kernel fault:/],
      ['HSA_STATUS_ERROR_MEMORY_APERTURE_VIOLATION: The agent attempted to access memory beyond the largest legal address.', 'engine_failure', /^kernel fault:/],
      ['torch.distributed.DistBackendError: ncclCommInitRank failed', 'engine_failure', /^distributed error:/],
      ['RuntimeError: CUDA error: invalid device ordinal', 'engine_failure', /^distributed error:/],
      ['ValueError: Cannot set both VLLM_FL_FLAGOS_WHITELIST and VLLM_FL_FLAGOS_BLACKLIST simultaneously. Please set only one of them.', 'engine_failure', /^vllm-plugin-FL error: ValueError: Cannot set both/],
      ['vllm.v1.engine.exceptions.EngineDeadError: EngineCore encountered an issue. See stack trace (above) for the root cause.', 'engine_failure', /^engine core failed: vllm\.v1\.engine\.exceptions\.EngineDeadError/],
      ['AssertionError\nRuntimeError: Engine core initialization failed. See root cause above.', 'engine_failure', /^engine core failed: AssertionError$/],
    ];
    for (const [log, outcome, failure] of cases) {
      const result = classifyRun(end({ log }));
      assert.equal(result.outcome, outcome, log);
      assert.match(result.failure ?? '', failure, log);
    }
  });

  it('usage text without exit code 2 is not an argument error', () => {
    assert.equal(classifyRun(end({ log: 'usage: foo\nfoo: error: bar\n', exitCode: 1 })).failure, 'exited with code 1: foo: error: bar');
  });
});
