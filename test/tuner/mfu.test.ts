import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { gpuCount, flopsPerToken, latencyPointFigures, latencyPointWork, parameterCounts } from '../../src/tuner/mfu.js';
import { derivedMaxModelLen, modelShapeFromConfig, type ModelShape } from '../../src/tuner/model-config.js';
import { findAccelerator, peakTflops } from '../../src/tuner/peak-tflops.js';

const MODELS = new URL('../../../test/fixtures/models/', import.meta.url);
const config = (name: string): unknown => JSON.parse(readFileSync(new URL(name, MODELS), 'utf8'));
const shape = (name: string): ModelShape => modelShapeFromConfig(config(name), name);

/** The point every hand computation below uses: B = 8, I = 1024, O = 128, so T = I + O - 1 = 1151. */
const POINT = { batchSize: 8, inputLen: 1024, outputLen: 128 };
const T = 1151;
const CONTEXT_SUM = (T * (T + 1)) / 2; // 1 + 2 + ... + 1151 = 662,976

describe('dense multi-head attention (Llama-2-7B config)', () => {
  const m = shape('llama-2-7b-mha.json');

  it('reads the shape', () => {
    assert.deepEqual(
      [m.numLayers, m.hiddenSize, m.intermediateSize, m.numHeads, m.numKvHeads, m.headDim, m.vocabSize, m.tiedEmbeddings, m.moe, m.dtype, m.maxModelLen],
      [32, 4096, 11008, 32, 32, 128, 32000, false, null, 'fp16', 4096],
    );
  });

  it('counts parameters: 6.74 B, as published less the norms', () => {
    const attention = 2 * 4096 * 128 * (32 + 32); // q, k, v, o: 67,108,864
    const mlp = 3 * 4096 * 11008; // gate, up, down: 135,266,304
    const layers = 32 * (attention + mlp); // 6,476,005,376
    const embedding = 32000 * 4096; // 131,072,000, and as much again for the untied LM head
    assert.equal(layers, 6_476_005_376);
    assert.deepEqual(parameterCounts(m), { total: layers + 2 * embedding, activeLayers: layers, embedding, lmHead: embedding });
    assert.equal(parameterCounts(m).total, 6_738_149_376);
  });

  it('computes the FLOPs of a latency point and its MFU on one H100 SXM', () => {
    const layersFlops = 2 * 6_476_005_376 * T; // 14,907,764,375,552
    const lmHead = 2 * 4096 * 32000 * 128; // 33,554,432,000
    const attention = 4 * 32 * 128 * 32 * CONTEXT_SUM; // 524,288 x 662,976 = 347,590,361,088
    const perSequence = layersFlops + lmHead + attention; // 15,288,909,168,640
    assert.equal(perSequence, 15_288_909_168_640);
    const work = latencyPointWork(m, POINT);
    assert.deepEqual(work, { sequences: 8, forwardTokens: 8 * T, outputTokens: 8 * 128, totalTokens: 8 * 1152, flops: 8 * perSequence });
    // Measured at 1.25 s on one H100 SXM in bf16 (989.5 TFLOPS dense):
    const figures = latencyPointFigures(work, 1.25, peakTflops('h100-sxm', 'bf16'), gpuCount({ tensorParallel: 1, pipelineParallel: 1 }));
    assert.equal(figures.outputTokensPerSec, 1024 / 1.25); // 819.2
    assert.equal(figures.totalTokensPerSec, 9216 / 1.25); // 7372.8
    assert.ok(Math.abs(figures.achievedTflops - 122.31127334912 / 1.25) < 1e-9); // 97.849...
    assert.ok(Math.abs(figures.mfu - 122.31127334912 / 1.25 / 989.5) < 1e-12); // 0.09889 = 9.9 %
  });

  it('gives the per-token FLOPs of a decoded token at a context length', () => {
    assert.equal(flopsPerToken(m, 2048), 2 * 6_476_005_376 + 2 * 4096 * 32000 + 4 * 32 * 128 * 32 * 2048);
  });
});

describe('grouped-query attention (Qwen3-8B config)', () => {
  const m = shape('qwen3-8b-gqa.json');

  it('uses the stated head_dim and 8 KV heads for the projections, 32 query heads for the scores', () => {
    const attention = 2 * 4096 * 128 * (32 + 8); // 41,943,040
    const mlp = 3 * 4096 * 12288; // 150,994,944
    const layers = 36 * (attention + mlp); // 6,945,767,424
    assert.equal(layers, 6_945_767_424);
    assert.equal(parameterCounts(m).total, layers + 2 * 151936 * 4096); // 8,190,427,136: the published 8.2 B
    const perSequence = 2 * layers * T + 2 * 4096 * 151936 * 128 + 4 * 32 * 128 * 36 * CONTEXT_SUM;
    assert.equal(perSequence, 15_989_156_610_048 + 159_316_443_136 + 391_039_156_224);
    assert.equal(latencyPointWork(m, POINT).flops, 8 * perSequence); // 132,316,097,675,264
    // Tensor parallel 2 on two H200 (989.5 TFLOPS bf16 each), 0.5 s:
    const mfu = latencyPointFigures(latencyPointWork(m, POINT), 0.5, peakTflops('NVIDIA H200', 'bf16'), gpuCount({ tensorParallel: 2, pipelineParallel: 1 })).mfu;
    assert.ok(Math.abs(mfu - 132.316097675264 / 0.5 / (989.5 * 2)) < 1e-12); // 0.1337
    assert.equal(m.maxModelLen, 40960);
  });

  it('counts `--n` sequences per prompt as separate sequences', () => {
    assert.equal(latencyPointWork(m, { ...POINT, n: 2 }).flops, 2 * latencyPointWork(m, POINT).flops);
  });
});

describe('mixture of experts (Qwen3-30B-A3B config)', () => {
  const m = shape('qwen3-30b-a3b-moe.json');

  it('reads the experts, every layer sparse', () => {
    assert.deepEqual({ ...m.moe, moeLayers: undefined }, {
      numExperts: 128,
      expertsPerToken: 8,
      expertIntermediateSize: 768,
      sharedIntermediateSize: 0,
      moeLayers: undefined,
    });
    assert.deepEqual(m.moe?.moeLayers, Array.from({ length: 48 }, () => true));
  });

  it('counts 30.5 B parameters and 3.3 B active, and the FLOPs of the active ones', () => {
    const attention = 2 * 2048 * 128 * (32 + 4); // 18,874,368 (32 x 128 = 4096 wide queries on a 2048 model)
    const router = 2048 * 128; // 262,144
    const expert = 3 * 2048 * 768; // 4,718,592
    const total = 48 * (attention + router + 128 * expert) + 2 * 151936 * 2048;
    const active = 48 * (attention + router + 8 * expert); // 2,730,491,904
    assert.equal(total, 30_531_911_680);
    assert.equal(active, 2_730_491_904);
    assert.deepEqual(parameterCounts(m), { total, activeLayers: active, embedding: 151936 * 2048, lmHead: 151936 * 2048 });
    assert.equal(active + 2 * 151936 * 2048, 3_352_821_760); // "3.3B activated"
    const perSequence = 2 * active * T + 2 * 2048 * 151936 * 128 + 4 * 32 * 128 * 48 * CONTEXT_SUM;
    assert.equal(perSequence, 6_285_592_363_008 + 79_658_221_568 + 521_385_541_632);
    assert.equal(latencyPointWork(m, POINT).flops, 8 * perSequence); // 55,093,089,009,664
  });

  it('handles shared experts, leading dense layers and Mixtral key names', () => {
    const base = config('qwen3-30b-a3b-moe.json') as Record<string, unknown>;
    const deepseekStyle = modelShapeFromConfig({ ...base, num_experts: undefined, n_routed_experts: 64, n_shared_experts: 2, first_k_dense_replace: 1, num_hidden_layers: 3 });
    assert.equal(deepseekStyle.moe?.sharedIntermediateSize, 2 * 768);
    assert.deepEqual(deepseekStyle.moe?.moeLayers, [false, true, true]);
    const attention = 2 * 2048 * 128 * 36;
    const dense = 3 * 2048 * 6144;
    const sparse = 2048 * 64 + 3 * 2048 * 1536 + 8 * 3 * 2048 * 768;
    assert.equal(parameterCounts(deepseekStyle).activeLayers, 3 * attention + dense + 2 * sparse);
    const noneShared = modelShapeFromConfig({ ...base, n_shared_experts: null, first_k_dense_replace: 0, num_hidden_layers: 2 });
    assert.deepEqual([noneShared.moe?.sharedIntermediateSize, noneShared.moe?.moeLayers], [0, [true, true]]);
    const mixtral = modelShapeFromConfig({ ...base, num_experts: undefined, moe_intermediate_size: undefined, num_local_experts: 8, num_experts_per_tok: 2, intermediate_size: 14336 });
    assert.deepEqual([mixtral.moe?.numExperts, mixtral.moe?.expertsPerToken, mixtral.moe?.expertIntermediateSize], [8, 2, 14336]);
  });
});

describe('model-config', () => {
  it('counts tied embeddings once, and reads text_config of a multimodal config', () => {
    const tied = modelShapeFromConfig({ text_config: { ...(config('qwen3-8b-gqa.json') as object), tie_word_embeddings: true } });
    assert.equal(parameterCounts(tied).lmHead, 0);
    assert.equal(parameterCounts(tied).total, 6_945_767_424 + 151936 * 4096);
    // The LM head still runs: the FLOPs do not change.
    assert.equal(latencyPointWork(tied, POINT).flops, latencyPointWork(shape('qwen3-8b-gqa.json'), POINT).flops);
  });

  it('derives max_model_len as vLLM does, with RoPE scaling', () => {
    assert.equal(derivedMaxModelLen({ max_position_embeddings: 40960, rope_scaling: { rope_type: 'yarn', factor: 4, original_max_position_embeddings: 32768 } }), 131072);
    assert.equal(derivedMaxModelLen({ max_position_embeddings: 131072, rope_scaling: { rope_type: 'llama3', factor: 8 } }), 131072);
    assert.equal(derivedMaxModelLen({ max_position_embeddings: 8192, seq_length: 4096 }), 4096);
    assert.equal(derivedMaxModelLen({}), null);
  });

  it('names the field it cannot use', () => {
    const base = config('llama-2-7b-mha.json') as Record<string, unknown>;
    assert.throws(() => modelShapeFromConfig({ ...base, hidden_size: undefined }, 'm/config.json'), { code: 'E_CONFIG', message: 'm/config.json: hidden_size is missing' });
    assert.throws(() => modelShapeFromConfig({ ...base, num_key_value_heads: 5 }), { code: 'E_CONFIG', message: /must divide num_attention_heads/ });
    assert.throws(() => modelShapeFromConfig({ ...base, vocab_size: '32000' }), { code: 'E_CONFIG', message: /vocab_size must be a positive integer, got "32000"/ });
    assert.throws(() => modelShapeFromConfig({ ...base, kv_lora_rank: 512 }), { code: 'E_NOT_SUPPORTED' });
    assert.throws(() => modelShapeFromConfig([]), { code: 'E_CONFIG' });
  });
});

describe('peak TFLOPS', () => {
  it('finds accelerators by id and by driver name', () => {
    assert.equal(findAccelerator('NVIDIA H100 80GB HBM3')?.id, 'h100-sxm');
    assert.equal(findAccelerator('NVIDIA H100 PCIe')?.id, 'h100-pcie');
    assert.equal(findAccelerator('NVIDIA A100-SXM4-40GB')?.id, 'a100-40gb');
    assert.equal(findAccelerator('NVIDIA A100 80GB PCIe')?.id, 'a100-80gb');
    assert.equal(findAccelerator('NVIDIA A10')?.id, 'a10');
    assert.equal(findAccelerator('AMD Instinct MI300X')?.id, 'mi300x');
    assert.equal(findAccelerator('NVIDIA B200')?.id, 'b200');
    assert.equal(findAccelerator('L40S')?.id, 'l40s');
    assert.equal(findAccelerator('NVIDIA H20')?.id, 'h20');
    assert.equal(findAccelerator('NVIDIA T4'), null);
  });

  it('takes the table by dtype, an override first, and refuses what it cannot know', () => {
    assert.equal(peakTflops('h100-sxm', 'fp8'), 1979);
    assert.equal(peakTflops('mi300x', 'bf16'), 1307.4);
    assert.equal(peakTflops('T4', 'fp16', 65), 65);
    assert.throws(() => peakTflops('a100-80gb', 'fp8'), { code: 'E_USAGE', message: /no fp8 tensor cores/ });
    assert.throws(() => peakTflops('T4', 'fp16'), { code: 'E_USAGE', message: /unknown GPU 'T4'/ });
    assert.throws(() => peakTflops(null, 'bf16'), { code: 'E_USAGE' });
    assert.throws(() => peakTflops('h200', 'bf16', 0), { code: 'E_USAGE' });
  });
});
