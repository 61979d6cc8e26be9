import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  canonicalArg,
  cartesian,
  DEFAULT_ENGINE_KEY,
  engineArgs,
  engineTrial,
  engineValue,
  pastCeiling,
  pointKey,
  pointOfKey,
  describePoint,
  rejectReason,
  startValue,
  type EngineLimits,
} from '../../src/tuner/spaces/engine.js';

const NO_LIMITS: EngineLimits = { numHeads: null, gpus: null, maxModelLen: null, inputLen: null, outputLen: null };
const NGRAM = '{"method": "ngram", "num_speculative_tokens": 5}';

describe('engine search space', () => {
  it('names arguments the long way, from flags, underscores and the sweep launcher short names', () => {
    assert.equal(canonicalArg('--max_num_seqs'), 'max-num-seqs');
    assert.equal(canonicalArg('tp'), 'tensor-parallel-size');
    assert.equal(canonicalArg('gmu'), 'gpu-memory-utilization');
    assert.equal(engineValue('None'), null);
    assert.equal(engineValue({ method: 'ngram' }), '{"method":"ngram"}');
  });

  it('a point is its arguments: null leaves one out, booleans are switches, keys ignore order', () => {
    const p = { 'max-num-seqs': 512, 'speculative-config': null, 'enforce-eager': true, 'enable-chunked-prefill': false };
    assert.deepEqual(engineArgs(p), ['--no-enable-chunked-prefill', '--enforce-eager', '--max-num-seqs', '512']);
    assert.equal(pointKey({ b: 1, a: 2 }), pointKey({ a: 2, b: 1 }));
    assert.equal(pointKey({ 'speculative-config': null }), DEFAULT_ENGINE_KEY);
  });

  it('a key gives its point back, JSON values with commas included', () => {
    const p = { 'tensor-parallel-size': 2, 'speculative-config': NGRAM, 'max-num-seqs': 512 };
    assert.equal(describePoint(pointOfKey(pointKey(p))), describePoint(p));
    assert.equal(describePoint(pointOfKey(pointKey(p))), 'mns=512 spec=ngram5 tp=2');
    assert.deepEqual(pointOfKey(DEFAULT_ENGINE_KEY), {});
  });

  it('trials carry the arguments, a file-safe prefix and a readable label', () => {
    const t = engineTrial({ 'tensor-parallel-size': 2, 'speculative-config': NGRAM }, 'tier-1', 'engine:default');
    assert.deepEqual(t.extraArgs, ['--speculative-config', NGRAM, '--tensor-parallel-size', '2']);
    assert.equal(t.prefix, 'engine_specngram5_tp2');
    assert.equal(t.label, 'spec=ngram5 tp=2');
    assert.equal(t.round, 'tier-1');
    assert.equal(t.baseline, 'engine:default');
    const odd = engineTrial({ 'kv-cache-dtype': 'fp8/../x' }, 't', null);
    assert.match(odd.prefix, /^engine_kvc[A-Za-z0-9_.-]+_[0-9a-f]{8}$/);
  });

  it('expands axes as a cartesian product, numeric values in increasing order', () => {
    const points = cartesian({ 'block-size': 16 }, [
      { name: 'tensor-parallel-size', values: [2, 1] },
      { name: 'speculative-config', values: [null, NGRAM] },
    ]);
    assert.deepEqual(points.map(pointKey), [
      'engine:block-size=16,tensor-parallel-size=1',
      `engine:block-size=16,speculative-config=${NGRAM},tensor-parallel-size=1`,
      'engine:block-size=16,tensor-parallel-size=2',
      `engine:block-size=16,speculative-config=${NGRAM},tensor-parallel-size=2`,
    ]);
  });

  it('starts an axis at the value in force, else at vLLM default, else at its first value', () => {
    assert.equal(startValue({ name: 'max-num-seqs', values: [128, 256, 512] }, {}), 256);
    assert.equal(startValue({ name: 'max-num-seqs', values: [128, 256, 512] }, { 'max-num-seqs': 512 }), 512);
    assert.equal(startValue({ name: 'max-num-seqs', values: [1024, 2048] }, {}), 1024);
  });

  it('rejects invalid combinations with the reason', () => {
    const limits: EngineLimits = { numHeads: 32, gpus: 4, maxModelLen: 4096, inputLen: 3000, outputLen: 1000 };
    assert.equal(rejectReason({ 'tensor-parallel-size': 3 }, limits), "tensor-parallel-size 3 does not divide the model's 32 attention heads");
    assert.equal(rejectReason({ 'tensor-parallel-size': 8 }, limits), 'needs 8 GPUs (tp x pp x dp), 4 visible');
    assert.equal(rejectReason({ 'tensor-parallel-size': 2, 'pipeline-parallel-size': 2 }, limits), null);
    assert.equal(rejectReason({ 'max-num-batched-tokens': 2048 }, limits), null, 'chunked prefill is on by default');
    assert.equal(
      rejectReason({ 'max-num-batched-tokens': 2048, 'enable-chunked-prefill': false }, limits),
      'max-num-batched-tokens 2048 is below max-model-len 4096 without chunked prefill',
    );
    assert.equal(rejectReason({ 'max-model-len': 2048 }, limits), 'input 3000 + output 1000 tokens exceed max-model-len 2048');
    assert.equal(rejectReason({ 'max-num-batched-tokens': 1024, 'max-num-seqs': 2048 }, NO_LIMITS), 'max-num-batched-tokens 1024 is below max-num-seqs 2048');
    assert.equal(rejectReason({ 'max-num-batched-tokens': 2048, 'max-num-seqs': 2048 }, NO_LIMITS), null);
    assert.equal(rejectReason({ 'tensor-parallel-size': 3 }, NO_LIMITS), null);
  });

  it('a point past an OOM on the memory-monotone axes needs at least its memory; other axes must match', () => {
    const failed = { 'tensor-parallel-size': 1, 'max-num-seqs': 1024, 'max-num-batched-tokens': 16384 };
    const oom = { point: failed, kvCache: false };
    assert.equal(pastCeiling({ ...failed, 'max-num-seqs': 2048 }, oom), true);
    assert.equal(pastCeiling({ ...failed, 'max-num-seqs': 2048, 'max-num-batched-tokens': 32768 }, oom), true);
    assert.equal(pastCeiling({ ...failed, 'max-num-seqs': 512 }, oom), false);
    assert.equal(pastCeiling({ ...failed, 'max-num-seqs': 2048, 'max-num-batched-tokens': 8192 }, oom), false);
    assert.equal(pastCeiling({ ...failed, 'tensor-parallel-size': 2, 'max-num-seqs': 2048 }, oom), false);
    assert.equal(pastCeiling({ ...failed, 'gpu-memory-utilization': 0.95 }, oom), true, 'an absent gpu-memory-utilization is 0.9');
    assert.equal(pastCeiling({ ...failed, 'gpu-memory-utilization': 0.85 }, oom), false);
  });

  it('after a KV-cache shortage a larger gpu-memory-utilization may fit, a smaller one or more batched tokens cannot', () => {
    const failed = { 'max-num-seqs': 256, 'max-num-batched-tokens': 16384 };
    const kv = { point: failed, kvCache: true };
    assert.equal(pastCeiling({ ...failed, 'max-num-batched-tokens': 32768 }, kv), true);
    assert.equal(pastCeiling({ ...failed, 'max-num-seqs': 512 }, kv), true);
    assert.equal(pastCeiling({ ...failed, 'gpu-memory-utilization': 0.85 }, kv), true);
    assert.equal(pastCeiling({ ...failed, 'gpu-memory-utilization': 0.95 }, kv), false);
    assert.equal(pastCeiling({ ...failed, 'kv-cache-dtype': 'fp8' }, kv), false, 'fp8 doubles the room: another configuration');
  });
});
