import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { discoverOps, initialOps } from '../../src/tuner/discovery.js';
import { OOT_OPS } from '../../src/tuner/plugin-ops.js';
import { knownToFlagGems, ootNames, probeTable, type PluginProbe } from '../../src/tuner/plugin-probe.js';
import { combinedTrial, opTrial } from '../../src/tuner/spaces/operators.js';
import { buildServeRecipe, recipeProblems } from '../../src/tuner/recipe.js';

const PROBE: PluginProbe = {
  python: '3.11.7',
  flaggems: { version: '5.0.2', ops: ['add.Tensor', 'fill_.Scalar', 'arange.start', 'mm', 'scatter_add', 'to_copy'] },
  plugin: { version: '0.9.1', backends: { rms_norm: ['reference', 'flagos', 'vendor'], topk_softmax: ['vendor', 'flagos'] }, oot: ['rms_norm'] },
};

describe('plugin probe discovery', () => {
  it('builds the reference table: FlagGems ops on flagos, registered ops with their backends in default order', () => {
    const t = probeTable(PROBE);
    assert.deepEqual(t.ops['rms_norm'], ['flagos', 'vendor', 'reference']);
    assert.deepEqual(t.ops['topk_softmax'], ['flagos', 'vendor']);
    assert.deepEqual(t.ops['fill_.Scalar'], ['flagos']);
    assert.equal(t.origin['mm'], 'FlagGems');
    assert.equal(initialOps({ explicitOps: null, configOps: null, probe: PROBE }).source, 'probe');
    assert.equal(initialOps({ explicitOps: ['mm'], configOps: null, probe: PROBE }).source, 'explicit');
  });

  it('adds flagos to an OOT operator the plugin registers, and leaves out OOT names it does not register', () => {
    const probe: PluginProbe = { ...PROBE, plugin: { ...PROBE.plugin, backends: { ...PROBE.plugin.backends, fused_moe: ['vendor'], gelu_and_mul: ['vendor'] }, oot: ['rms_norm', 'fused_moe', 'silu_and_mul'] } };
    const t = probeTable(probe).ops;
    assert.deepEqual(t['fused_moe'], ['flagos', 'vendor'], 'OOT: its CustomOp is the flagos implementation');
    assert.deepEqual(t['gelu_and_mul'], ['vendor'], 'not among this plugin\'s OOT names');
    assert.equal(t['silu_and_mul'], undefined, 'an OOT name without a registered backend is not tuned');
  });

  it("registers OOT CustomOps by the installed plugin's names, else by the built-in list", () => {
    const older = ootNames({ ...PROBE, plugin: { ...PROBE.plugin, oot: ['rms_norm', 'silu_and_mul'] } });
    assert.equal(ootNames(null), OOT_OPS);
    assert.ok(OOT_OPS.has('gelu_and_mul') && !older.has('gelu_and_mul'));
    assert.equal(opTrial('gelu_and_mul', 'vendor').env['VLLM_FL_OOT_ENABLED'], '1');
    assert.deepEqual([opTrial('gelu_and_mul', 'vendor', null, older).env['VLLM_FL_OOT_ENABLED'], opTrial('gelu_and_mul', 'vendor', null, older).env['VLLM_FL_OOT_WHITELIST']], ['0', null]);
    assert.deepEqual([opTrial('rms_norm', 'flagos', null, older).env['VLLM_FL_OOT_ENABLED'], opTrial('rms_norm', 'flagos', null, older).env['VLLM_FL_OOT_WHITELIST']], ['1', 'rms_norm']);
    const set = combinedTrial({ rms_norm: 'vendor', gelu_and_mul: 'flagos', mm: 'flagos' }, 'combined_best', null, older);
    assert.equal(set.env['VLLM_FL_OOT_WHITELIST'], 'rms_norm');
    assert.equal(set.env['VLLM_FL_FLAGOS_WHITELIST'], 'gelu_and_mul,mm');
    // The recipe serves what the trials measured, and is checked against the same names.
    const recipe = buildServeRecipe({
      sessionId: 's',
      final: { opBackends: { rms_norm: 'vendor', gelu_and_mul: 'vendor' }, attention: null, validated: true, speedup: 0.01, low: 0, high: 0.02, summary: [] },
      passthrough: ['--model', 'm'],
      sessionEnv: {},
      bestConfigPath: '/r/best_config.yaml',
      vllmBin: 'vllm',
      serveOptions: new Set(['--model']),
      oot: older,
    });
    assert.equal(recipe.env['VLLM_FL_OOT_WHITELIST'], 'rms_norm');
    assert.deepEqual(recipeProblems(recipe, older), []);
    assert.deepEqual(recipeProblems(recipe), ['OOT operator gelu_and_mul is missing from VLLM_FL_OOT_WHITELIST']);
  });

  it('matches executed function names to ATen keys instead of dropping them', () => {
    assert.deepEqual(knownToFlagGems(PROBE, ['add', 'fill_scalar_', 'arange_start', 'scatter_add_0', '_to_copy', 'index_select']), ['add', 'fill_scalar_', 'arange_start', 'scatter_add_0', '_to_copy']);
    assert.deepEqual(knownToFlagGems({ ...PROBE, flaggems: null }, ['x']), ['x']);
  });

  it('keeps registered ops and the executed ops FlagGems knows after round 1c; nothing executed is no finding', () => {
    const d = discoverOps({ explicitOps: null, configOps: null, probe: PROBE }, ['mm', 'index_select', 'rms_norm']);
    assert.deepEqual(d.final, { mm: ['flagos'], rms_norm: ['flagos', 'vendor', 'reference'], topk_softmax: ['flagos', 'vendor'] });
    assert.deepEqual(discoverOps({ explicitOps: null, configOps: null, probe: PROBE }, []).final, {});
  });
});
