import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { discoverOps } from '../../src/tuner/discovery.js';

describe('discoverOps', () => {
  it('takes --ops as given, in order, never narrowed, with the known plugin backends', () => {
    const d = discoverOps({ explicitOps: ['mul', 'rms_norm'], configOps: null }, ['add']);
    assert.equal(d.source, 'explicit');
    assert.deepEqual(Object.keys(d.final), ['mul', 'rms_norm']);
    assert.deepEqual(d.final['rms_norm'], ['flagos', 'vendor', 'reference']);
    assert.deepEqual(d.final['mul'], ['flagos']);
  });

  it('uses an auto_tune config and adds the executed ops, in sorted order', () => {
    const d = discoverOps({ explicitOps: null, configOps: { silu_and_mul: ['vendor', 'flagos'], zeros: [] } }, ['mm', 'ZEROS']);
    assert.equal(d.source, 'config');
    assert.deepEqual(d.initial, { silu_and_mul: ['flagos', 'vendor'], zeros: ['flagos'] });
    assert.deepEqual(d.final, { mm: ['flagos'], silu_and_mul: ['flagos', 'vendor'], zeros: ['flagos'] });
  });

  it('otherwise tunes the plugin dispatch ops plus what round 1c executed, and finds nothing without an oplist', () => {
    const all = ['flagos', 'vendor', 'reference'];
    const d = discoverOps({ explicitOps: null, configOps: null }, ['sort', 'attention_backend']);
    assert.equal(d.source, 'oplist');
    assert.deepEqual(d.initial, { attention_backend: all, rms_norm: all, rotary_embedding: all, silu_and_mul: all });
    assert.deepEqual(d.final, { attention_backend: all, rms_norm: all, rotary_embedding: all, silu_and_mul: all, sort: ['flagos'] });
    assert.deepEqual(discoverOps({ explicitOps: null, configOps: null }, null).final, {});
  });

  it('keeps only the allowed backends, and drops an operator left with none', () => {
    const d = discoverOps({ explicitOps: ['mul', 'rms_norm'], configOps: null, backends: ['vendor'] }, null);
    assert.deepEqual(d.initial, { rms_norm: ['vendor'] });
    assert.deepEqual(d.final, { rms_norm: ['vendor'] });
    const found = discoverOps({ explicitOps: null, configOps: null, backends: ['flagos', 'vendor'] }, ['sort']);
    assert.deepEqual(found.final['rms_norm'], ['flagos', 'vendor']);
    assert.deepEqual(found.final['sort'], ['flagos']);
    assert.deepEqual(discoverOps({ explicitOps: ['mul'], configOps: null, backends: null }, null).final, { mul: ['flagos'] });
  });
});
