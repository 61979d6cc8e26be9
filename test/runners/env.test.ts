import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { benchArgv } from '../../src/runners/benchmarks/throughput/args.js';
import { buildEnv, userSetOutputJson } from '../../src/runners/env.js';
import { baselineTrial, opTrial } from '../../src/tuner/trials.js';

const paths = { configPath: '/runs/s1/configs/op_mm_flagos.yaml', oplistPath: '/runs/s1/oplist/op_mm_flagos.txt', runKey: 's1:op:mm:flagos:3' };

describe('buildEnv', () => {
  it('applies the trial delta: strings set, null deletes, undefined base entries are dropped', () => {
    const base = { PATH: '/usr/bin', VLLM_FL_FLAGOS_BLACKLIST: 'sort', USE_FLAGGEMS: '1', UNSET: undefined };
    const env = buildEnv(base, { env: { USE_FLAGGEMS: '0', VLLM_FL_FLAGOS_BLACKLIST: null, NEW: 'x' } }, paths);
    assert.deepEqual(env, {
      PATH: '/usr/bin',
      USE_FLAGGEMS: '0',
      NEW: 'x',
      VLLM_FL_CONFIG: paths.configPath,
      FLAGGEMS_ENABLE_OPLIST_PATH: paths.oplistPath,
      AUTOTUNE_RUN_KEY: paths.runKey,
    });
    assert.ok(!('UNSET' in env));
  });

  it('never mutates the base, the trial or process.env', () => {
    const base = Object.freeze({ PATH: '/usr/bin', VLLM_FL_OOT_WHITELIST: 'rms_norm' });
    const trial = opTrial('mm', 'reference', 'FLASHINFER');
    const trialEnvBefore = { ...trial.env };
    const processEnvBefore = { ...process.env };
    const env = buildEnv(base, trial, paths);
    env['PATH'] = 'changed';
    assert.deepEqual(base, { PATH: '/usr/bin', VLLM_FL_OOT_WHITELIST: 'rms_norm' });
    assert.deepEqual(trial.env, trialEnvBefore);
    assert.deepEqual({ ...process.env }, processEnvBefore);
  });

  it('sets VLLM_ATTENTION_BACKEND only for the trial that asks, never carrying it to the next', () => {
    const base = { PATH: '/usr/bin' };
    const withAttention = buildEnv(base, opTrial('mm', 'reference', 'FLASHINFER'), paths);
    assert.equal(withAttention['VLLM_ATTENTION_BACKEND'], 'FLASHINFER');
    const next = buildEnv(base, opTrial('mm', 'vendor'), paths);
    assert.ok(!('VLLM_ATTENTION_BACKEND' in next));
    assert.ok(!('VLLM_ATTENTION_BACKEND' in buildEnv(base, baselineTrial(), paths)));
  });

  it('the run paths override anything inherited', () => {
    const env = buildEnv({ VLLM_FL_CONFIG: '/user/config.yaml', FLAGGEMS_ENABLE_OPLIST_PATH: '/tmp/flaggems_enable_oplist.txt' }, baselineTrial(), paths);
    assert.equal(env['VLLM_FL_CONFIG'], paths.configPath);
    assert.equal(env['FLAGGEMS_ENABLE_OPLIST_PATH'], paths.oplistPath);
  });
});

describe('benchArgv', () => {
  it('orders subcommand, user arguments, trial arguments, then --output-json', () => {
    const trial = { extraArgs: ['--attention-backend', 'FLASHINFER'] };
    assert.deepEqual(benchArgv(['--model', 'Qwen/Qwen3-8B', '--input-len', '256'], trial, '/runs/s1/out.json'), [
      'bench', 'throughput', '--model', 'Qwen/Qwen3-8B', '--input-len', '256', '--attention-backend', 'FLASHINFER', '--output-json', '/runs/s1/out.json',
    ]);
    assert.deepEqual(benchArgv(['--model', 'm'], { extraArgs: [] }, null), ['bench', 'throughput', '--model', 'm']);
  });
});

describe('userSetOutputJson', () => {
  it('detects the spellings vLLM accepts', () => {
    for (const args of [['--output-json', 'x.json'], ['--output-json=x.json'], ['--output_json', 'x'], ['--output-js=x'], ['--model', 'm', '--output-json']]) {
      assert.equal(userSetOutputJson(args), true, args.join(' '));
    }
  });

  it('ignores other options and values', () => {
    for (const args of [[], ['--output-len', '128'], ['--output', 'x'], ['--model', 'output-json'], ['-o', 'x.json']]) {
      assert.equal(userSetOutputJson(args), false, args.join(' '));
    }
  });
});
