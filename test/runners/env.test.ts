import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { benchArgv } from '../../src/runners/benchmarks/throughput/args.js';
import { buildEnv, envReport, formatEnvReport, isWithheld, PLUGIN_VARIABLES, userSetOutputJson } from '../../src/runners/env.js';
import { baselineTrial, combinedTrial, opTrial } from '../../src/tuner/spaces/operators.js';

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

  it("a slot's devices and port replace the inherited ones and any a trial sets", () => {
    const base = { PATH: '/usr/bin', CUDA_VISIBLE_DEVICES: '0,1,2,3', VLLM_PORT: '5000' };
    const trial = { env: { CUDA_VISIBLE_DEVICES: '0' } };
    const env = buildEnv(base, trial, { ...paths, slotEnv: { CUDA_VISIBLE_DEVICES: '2,3', VLLM_PORT: '41100' } });
    assert.equal(env['CUDA_VISIBLE_DEVICES'], '2,3');
    assert.equal(env['VLLM_PORT'], '41100');
    assert.equal(buildEnv(base, baselineTrial(), paths)['CUDA_VISIBLE_DEVICES'], '0,1,2,3', 'no slot: inherited as before');
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

describe('hermetic trial environments', () => {
  const inherited = {
    PATH: '/usr/bin',
    VLLM_FL_PREFER: 'vendor',
    VLLM_FL_OOT_BLACKLIST: 'rms_norm',
    VLLM_FL_FLAGOS_BLACKLIST_APPEND: 'sort',
    VLLM_FL_PER_OP: 'mm=vendor',
    VLLM_FL_OP_CONFIG: '/etc/op.json',
    VLLM_FL_SOMETHING_NEW: '1',
    FLAGGEMS_NEW_KNOB: '1',
    USE_FLAGGEMS_VLLM: '0',
    GEMS_MODE: 'x',
    VLLM_ATTENTION_BACKEND: 'FLASHINFER',
    FLAGGEMS_CACHE_DIR: '/cache/gems',
    VLLM_FL_TRITON_CACHE_ROOT: '/cache/triton',
    GEMS_VENDOR: 'hygon',
    TRITON_CACHE_DIR: '/cache/t',
    CUDA_VISIBLE_DEVICES: '0,1',
    HF_HOME: '/hf',
    VLLM_USE_V1: '1',
    MY_EXTRA: 'kept',
  };

  it('withholds every listed plugin and FlagGems variable and every name under the plugin prefixes', () => {
    for (const name of PLUGIN_VARIABLES) assert.ok(isWithheld(name), name);
    for (const name of ['VLLM_FL_SOMETHING_NEW', 'FLAGGEMS_NEW_KNOB', 'USE_FLAGGEMS_VLLM', 'GEMS_MODE']) assert.ok(isWithheld(name), name);
    for (const name of ['FLAGGEMS_CACHE_DIR', 'FLAGGEMS_DB_URL', 'VLLM_FL_TRITON_CACHE_ROOT', 'GEMS_VENDOR', 'TRITON_CACHE_DIR', 'CUDA_VISIBLE_DEVICES', 'HF_HOME', 'VLLM_USE_V1', 'VLLM_PLUGINS', 'PATH']) {
      assert.ok(!isWithheld(name), name);
    }
  });

  it('a flagos trial sees only its own plugin settings, whatever was inherited', () => {
    for (const trial of [baselineTrial(), opTrial('mm', 'flagos'), opTrial('rms_norm', 'vendor'), combinedTrial({ mm: 'flagos', rms_norm: 'vendor' })]) {
      const env = buildEnv(inherited, trial, paths);
      for (const name of Object.keys(env)) {
        if (isWithheld(name)) assert.ok(name in trial.env || ['VLLM_FL_CONFIG', 'FLAGGEMS_ENABLE_OPLIST_PATH', 'AUTOTUNE_RUN_KEY'].includes(name), `${trial.key} inherited ${name}`);
      }
      assert.equal(env['VLLM_FL_PREFER'], undefined);
      assert.equal(env['VLLM_ATTENTION_BACKEND'], undefined);
      for (const name of ['FLAGGEMS_CACHE_DIR', 'VLLM_FL_TRITON_CACHE_ROOT', 'GEMS_VENDOR', 'TRITON_CACHE_DIR', 'CUDA_VISIBLE_DEVICES', 'HF_HOME', 'VLLM_USE_V1', 'MY_EXTRA', 'PATH']) {
        assert.equal(env[name], inherited[name as keyof typeof inherited], name);
      }
    }
  });

  it('reports the dropped inherited names and the kept recorded ones, sorted', () => {
    const recorded = { PATH: '/usr/bin', VLLM_FL_PREFER: 'vendor', CUDA_VISIBLE_DEVICES: '0,1', HF_HOME: '/hf', TRITON_CACHE_DIR: '/cache/t' };
    const report = envReport({ ...inherited, UNSET: undefined }, recorded);
    assert.deepEqual(report.dropped, [
      'FLAGGEMS_NEW_KNOB', 'GEMS_MODE', 'USE_FLAGGEMS_VLLM', 'VLLM_ATTENTION_BACKEND', 'VLLM_FL_FLAGOS_BLACKLIST_APPEND', 'VLLM_FL_OOT_BLACKLIST',
      'VLLM_FL_OP_CONFIG', 'VLLM_FL_PER_OP', 'VLLM_FL_PREFER', 'VLLM_FL_SOMETHING_NEW',
    ]);
    assert.deepEqual(report.kept, ['CUDA_VISIBLE_DEVICES', 'HF_HOME', 'TRITON_CACHE_DIR']);
    assert.equal(
      formatEnvReport({ dropped: ['VLLM_FL_PREFER'], kept: ['HF_HOME'] }),
      "Trial environment: dropped inherited VLLM_FL_PREFER (each trial sets the plugin's variables itself); kept HF_HOME",
    );
    assert.equal(formatEnvReport({ dropped: [], kept: [] }), 'Trial environment: no inherited plugin or FlagGems variable to drop; kept none recorded');
  });
});
