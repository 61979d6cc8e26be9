/**
 * FLOPs, tokens/s and model FLOPs utilisation (MFU) of one latency point. Pure.
 *
 * Conventions (one multiply-add = 2 FLOPs; norms, activations, rotary, softmax and biases are
 * left out, as in the usual 2N-per-token estimate):
 * - Attention projections per layer: q and o are h x (heads x head_dim), k and v are
 *   h x (kv_heads x head_dim), so 2·h·head_dim·(heads + kv_heads) weights.
 * - MLP: gated (SwiGLU) with three matrices, 3·h·i weights. A MoE layer adds its router (h x
 *   experts) and runs `experts_per_token` routed experts plus its shared experts per token.
 * - The LM head (h x vocab) runs once per sampled position; tied embeddings share its weights
 *   (one fewer matrix in the parameter count) but not its FLOPs.
 * - Attention scores: a query at context length L costs 4·heads·head_dim·L per layer (QK^T and
 *   the weighted sum of V; query heads count, KV heads do not), causal, no sliding window.
 *
 * A latency point (`vllm bench latency --batch-size B --input-len I --output-len O --n N`) is
 * one `generate` of S = B·N sequences (vLLM fans `--n` out into N requests; the benchmark turns
 * prefix caching off, so each prefills its own prompt). Per sequence the engine runs
 * T = I + O − 1 tokens through the layers: the prefill of the I prompt tokens (which samples
 * output token 1) and O − 1 decode steps (the last sampled token is never fed back). The LM
 * head runs O times (vLLM computes logits for the last prompt position only). Hence
 *
 *     FLOPs = S · [ 2·P·T + 2·h·V·O + 4·heads·head_dim·layers · T(T+1)/2 ]
 *
 * with P the active per-token layer weights; the context sum 1 + 2 + … + T counts prefill
 * (positions 1..I) and decode (positions I+1..T) alike. MFU = FLOPs / avg latency /
 * (peak dense TFLOPS · 1e12 · GPUs), GPUs = tensor parallel × pipeline parallel.
 */
import type { ModelShape } from './model-config.js';

export interface ParameterCounts {
  /** Every matrix weight: layers, the embedding, and the LM head unless tied. */
  readonly total: number;
  /** Layer weights one token multiplies by (active experts only), without embedding and LM head. */
  readonly activeLayers: number;
  readonly embedding: number;
  /** 0 when the LM head is the embedding (tied). */
  readonly lmHead: number;
}

function attentionWeights(m: ModelShape): number {
  return 2 * m.hiddenSize * m.headDim * (m.numHeads + m.numKvHeads);
}

const mlpWeights = (hidden: number, intermediate: number): number => 3 * hidden * intermediate;

export function parameterCounts(m: ModelShape): ParameterCounts {
  let all = 0;
  let active = 0;
  for (let layer = 0; layer < m.numLayers; layer++) {
    const attention = attentionWeights(m);
    all += attention;
    active += attention;
    if (m.moe !== null && m.moe.moeLayers[layer] === true) {
      const { numExperts, expertsPerToken, expertIntermediateSize, sharedIntermediateSize } = m.moe;
      const common = m.hiddenSize * numExperts + mlpWeights(m.hiddenSize, sharedIntermediateSize);
      all += common + numExperts * mlpWeights(m.hiddenSize, expertIntermediateSize);
      active += common + expertsPerToken * mlpWeights(m.hiddenSize, expertIntermediateSize);
    } else {
      const mlp = mlpWeights(m.hiddenSize, m.intermediateSize);
      all += mlp;
      active += mlp;
    }
  }
  const embedding = m.vocabSize * m.hiddenSize;
  const lmHead = m.tiedEmbeddings ? 0 : embedding;
  return { total: all + embedding + lmHead, activeLayers: active, embedding, lmHead };
}

/** Attention-score FLOPs of one query at context length 1 over every layer; scales with L. */
function attentionFlopsPerContextToken(m: ModelShape): number {
  return 4 * m.numHeads * m.headDim * m.numLayers;
}

/** FLOPs of one decoded token whose context (itself included) is `contextLen` tokens long. */
export function flopsPerToken(m: ModelShape, contextLen: number): number {
  const p = parameterCounts(m);
  return 2 * p.activeLayers + 2 * m.hiddenSize * m.vocabSize + attentionFlopsPerContextToken(m) * contextLen;
}

export interface LatencyShape {
  readonly batchSize: number;
  readonly inputLen: number;
  readonly outputLen: number;
  /** `--n`, sequences per prompt; 1 when omitted. */
  readonly n?: number;
}

export interface LatencyWork {
  /** B · n. */
  readonly sequences: number;
  /** Tokens run through the layers: sequences · (I + O − 1). */
  readonly forwardTokens: number;
  /** sequences · O. */
  readonly outputTokens: number;
  /** sequences · (I + O), the throughput benchmark's "total tokens". */
  readonly totalTokens: number;
  readonly flops: number;
}

export function latencyPointWork(m: ModelShape, point: LatencyShape): LatencyWork {
  const sequences = point.batchSize * (point.n ?? 1);
  const t = point.inputLen + point.outputLen - 1;
  const perSequence =
    2 * parameterCounts(m).activeLayers * t +
    2 * m.hiddenSize * m.vocabSize * point.outputLen +
    (attentionFlopsPerContextToken(m) * t * (t + 1)) / 2;
  return {
    sequences,
    forwardTokens: sequences * t,
    outputTokens: sequences * point.outputLen,
    totalTokens: sequences * (point.inputLen + point.outputLen),
    flops: sequences * perSequence,
  };
}

export interface Parallelism {
  readonly tensorParallel: number;
  readonly pipelineParallel: number;
}

export function gpuCount(p: Parallelism): number {
  return p.tensorParallel * p.pipelineParallel;
}

export interface LatencyPointFigures {
  readonly outputTokensPerSec: number;
  readonly totalTokensPerSec: number;
  readonly achievedTflops: number;
  /** A fraction: 0.42 is 42 %. */
  readonly mfu: number;
}

/** Figures of a point measured at `avgLatencyS` on `gpus` GPUs of `peakTflopsPerGpu` each. */
export function latencyPointFigures(
  work: LatencyWork,
  avgLatencyS: number,
  peakTflopsPerGpu: number,
  gpus: number,
): LatencyPointFigures {
  const achievedTflops = work.flops / avgLatencyS / 1e12;
  return {
    outputTokensPerSec: work.outputTokens / avgLatencyS,
    totalTokensPerSec: work.totalTokens / avgLatencyS,
    achievedTflops,
    mfu: achievedTflops / (peakTflopsPerGpu * gpus),
  };
}
