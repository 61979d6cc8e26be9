import assert from 'node:assert/strict';
import { test } from 'node:test';
import { simulate } from '../../simulator/model.js';
import { oplistText } from '../../simulator/oplist.js';
import { executedOps, resolvePlugin, type PluginEnv } from '../../simulator/plugin.js';
import { input, tinyScenario } from './support.js';

const s = tinyScenario({
  platformBlacklist: ['to_copy'],
  ops: {
    mul: 0.01,
    mm: { flagos: -0.1, oplist: 'hopper_mm' },
    to_copy: -0.003,
    fill_scalar_: { flagos: 0.0, module: 'fill' },
    reshape_and_cache: { flagos: 0.003, oplist: 'fused' },
    hidden: { flagos: 0.004, executed: false },
    ghost: { flagos: 0.0, oplist: 'none' },
    rms_norm: { flagos: 0.002, vendor: 0.001, reference: { FLASH_ATTN: -0.01, FLASHINFER: 0.003 } },
    attention_backend: { flagos: -0.02, vendor: 0, reference: -0.05 },
  },
});

function active(env: PluginEnv, config: unknown = null): Record<string, string> {
  const r = resolvePlugin(s, env, config);
  assert.ok(r.ok, JSON.stringify(r));
  return { ...r.config.active };
}

test('FlagGems off: only the always-dispatched op runs, on its vendor default', () => {
  assert.deepEqual(active({ USE_FLAGGEMS: '0', VLLM_FL_OOT_ENABLED: '0' }), { attention_backend: 'vendor' });
});

test('USE_FLAGGEMS accepts 1/true in any case and defaults to on', () => {
  for (const value of ['1', 'true', 'TRUE', undefined]) {
    const r = resolvePlugin(s, { USE_FLAGGEMS: value, VLLM_FL_FLAGOS_WHITELIST: 'mul' }, null);
    assert.ok(r.ok && r.config.flaggemsOn, String(value));
  }
  for (const value of ['0', 'yes', 'false']) {
    const r = resolvePlugin(s, { USE_FLAGGEMS: value, VLLM_FL_FLAGOS_WHITELIST: 'mul' }, null);
    assert.ok(r.ok && !r.config.flaggemsOn, value);
  }
});

test('a whitelist of unknown names loads FlagGems but enables nothing', () => {
  const r = resolvePlugin(s, { USE_FLAGGEMS: '1', VLLM_FL_FLAGOS_WHITELIST: 'gems_fake_op', VLLM_FL_OOT_ENABLED: '0' }, {});
  assert.ok(r.ok);
  assert.equal(r.config.flaggemsOn, true);
  assert.deepEqual(r.config.active, { attention_backend: 'vendor' });
  assert.deepEqual(executedOps(s, r.config), []);
});

test('a whitelist enables exactly its ops, executed in enable-all or not', () => {
  const env = { USE_FLAGGEMS: '1', VLLM_FL_FLAGOS_WHITELIST: 'mm, hidden', VLLM_FL_OOT_ENABLED: '0' };
  assert.deepEqual(active(env), { attention_backend: 'vendor', hidden: 'flagos', mm: 'flagos' });
});

test('enable-all runs every executed op; the platform blacklist holds only without VLLM_FL_CONFIG', () => {
  const withoutConfig = active({ USE_FLAGGEMS: '1', VLLM_FL_OOT_ENABLED: '0' });
  assert.equal(withoutConfig['hidden'], undefined);
  assert.equal(withoutConfig['to_copy'], undefined);
  assert.equal(withoutConfig['mm'], 'flagos');
  assert.equal(withoutConfig['attention_backend'], 'flagos');
  const withEmptyConfig = active({ USE_FLAGGEMS: '1', VLLM_FL_OOT_ENABLED: '0', VLLM_FL_CONFIG: '/c.yaml' }, {});
  assert.equal(withEmptyConfig['to_copy'], 'flagos');
  const configBlacklist = active({ USE_FLAGGEMS: '1', VLLM_FL_CONFIG: '/c.yaml' }, { flagos_blacklist: ['mm'] });
  assert.equal(configBlacklist['mm'], undefined);
  const envBlacklist = active({ USE_FLAGGEMS: '1', VLLM_FL_FLAGOS_BLACKLIST: 'mul' });
  assert.equal(envBlacklist['mul'], undefined);
  assert.equal(envBlacklist['to_copy'], 'flagos', 'the env blacklist replaces the platform one');
});

test('WHITELIST and BLACKLIST together are the plugin ValueError', () => {
  const r = simulate(s, input({ USE_FLAGGEMS: '1', VLLM_FL_FLAGOS_WHITELIST: 'mm', VLLM_FL_FLAGOS_BLACKLIST: 'mul' }));
  assert.equal(r.outcome, 'config_error');
  assert.equal(r.throughput, null);
  assert.deepEqual(r.failure?.plugin, { kind: 'both_lists' });
});

test('OOT ops run only when registered, and then on the first usable backend of op_backends', () => {
  const oot = { VLLM_FL_OOT_ENABLED: '1', VLLM_FL_OOT_WHITELIST: 'rms_norm', VLLM_FL_CONFIG: '/c.yaml' };
  assert.equal(active({ USE_FLAGGEMS: '0', VLLM_FL_OOT_ENABLED: '0' }, { op_backends: { rms_norm: ['vendor'] } })['rms_norm'], undefined);
  assert.equal(active({ ...oot, USE_FLAGGEMS: '0' }, { op_backends: { rms_norm: ['vendor'] } })['rms_norm'], 'vendor');
  assert.equal(active({ ...oot, USE_FLAGGEMS: '0' }, { op_backends: { rms_norm: 'reference|vendor' } })['rms_norm'], 'reference');
  assert.equal(active({ ...oot, USE_FLAGGEMS: '0' }, { op_backends: { rms_norm: ['vendor:cuda'] } })['rms_norm'], 'vendor');
  const flagos = { ...oot, USE_FLAGGEMS: '1', VLLM_FL_FLAGOS_WHITELIST: 'rms_norm' };
  assert.equal(active(flagos, { op_backends: { rms_norm: ['flagos', 'vendor'] } })['rms_norm'], 'flagos');
  assert.equal(active(flagos, {})['rms_norm'], 'flagos', 'default order starts with flagos');
  assert.equal(active(flagos, { prefer: 'vendor' })['rms_norm'], 'vendor');
  assert.equal(active({ ...flagos, VLLM_FL_OOT_WHITELIST: 'silu_and_mul' }, {})['rms_norm'], undefined);
});

test('op_backends [flagos] while the whitelist excludes the op is an engine failure', () => {
  const env = {
    USE_FLAGGEMS: '1',
    VLLM_FL_FLAGOS_WHITELIST: 'mul',
    VLLM_FL_OOT_ENABLED: '1',
    VLLM_FL_OOT_WHITELIST: 'rms_norm',
    VLLM_FL_CONFIG: '/c.yaml',
  };
  const r = simulate(s, input(env, { config: { op_backends: { rms_norm: ['flagos'] } } }));
  assert.equal(r.outcome, 'engine_crash');
  assert.deepEqual(r.failure?.plugin, {
    kind: 'no_impl_selected',
    op: 'rms_norm',
    candidates: ['vendor.cuda', 'reference.torch'],
    order: ['flagos'],
  });
  const off = simulate(s, input({ ...env, USE_FLAGGEMS: '0' }, { config: { op_backends: { rms_norm: ['flagos'] } } }));
  assert.equal(off.outcome, 'engine_crash');
});

test('the oplist uses the real line shapes, skips unlogged ops and names dispatch ops', () => {
  const r = resolvePlugin(s, { USE_FLAGGEMS: '1', VLLM_FL_CONFIG: '/c.yaml', VLLM_FL_OOT_WHITELIST: 'rms_norm' }, {});
  assert.ok(r.ok);
  const names = executedOps(s, r.config);
  assert.ok(!names.includes('ghost') && r.config.active['ghost'] === 'flagos');
  assert.ok(!names.includes('hidden'));
  const lines = oplistText(s, names).trim().split('\n');
  const has = (line: string): boolean => lines.includes(line);
  assert.ok(has('[DEBUG] flag_gems.ops.mul.mul: GEMS MUL'));
  assert.ok(has('[DEBUG] flag_gems.ops.fill.fill_scalar_: GEMS FILL_SCALAR_'));
  assert.ok(has('[DEBUG] flag_gems.fused.reshape_and_cache: GEMS RESHAPE_AND_CACHE'));
  assert.ok(has('[DEBUG] vllm_fl.dispatch.ops.rms_norm: default.flagos'));
  assert.ok(has('[DEBUG] vllm_fl.dispatch.ops.attention_backend: default.flagos'));
  assert.ok(lines.some((l) => l.startsWith('[DEBUG] flag_gems.runtime.backend._nvidia.hopper.ops.mm.general_mm: GEMS MM-hopper, [op]: mm,')));
  assert.equal(new Set(lines).size, names.length);
});

test('VLLM_ATTENTION_BACKEND changes reference effects and nothing else', () => {
  const env = { USE_FLAGGEMS: '0', VLLM_FL_OOT_WHITELIST: 'rms_norm', VLLM_FL_CONFIG: '/c.yaml' };
  const config = { op_backends: { rms_norm: ['reference'] } };
  const fa = simulate(s, input({ ...env, VLLM_ATTENTION_BACKEND: 'FLASH_ATTN' }, { config }));
  const fi = simulate(s, input({ ...env, VLLM_ATTENTION_BACKEND: 'FLASHINFER' }, { config }));
  assert.ok(Math.abs((fa.breakdown?.ops ?? 0) - Math.log1p(-0.01)) < 1e-12);
  assert.ok(Math.abs((fi.breakdown?.ops ?? 0) - Math.log1p(0.003)) < 1e-12);
  const vendor = { op_backends: { rms_norm: ['vendor'] } };
  const a = simulate(s, input({ ...env, VLLM_ATTENTION_BACKEND: 'FLASH_ATTN' }, { config: vendor }));
  const b = simulate(s, input({ ...env, VLLM_ATTENTION_BACKEND: 'FLASHINFER' }, { config: vendor }));
  assert.equal(a.breakdown?.ops, b.breakdown?.ops);
});
