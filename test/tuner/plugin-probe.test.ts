import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { discoverOps, initialOps } from '../../src/tuner/discovery.js';
import { knownToFlagGems, probeTable, type PluginProbe } from '../../src/tuner/plugin-probe.js';

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
