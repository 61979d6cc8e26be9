/**
 * The shape of a model as its HuggingFace config.json describes it: what MFU and the latency
 * grid need, validated field by field. Pure: the caller reads the file and passes the parsed JSON.
 *
 * Key names follow the transformers configs vLLM loads: Llama/Mistral/Qwen2/Qwen3 (dense, GQA),
 * Mixtral (`num_local_experts`), Qwen2-MoE/Qwen3-MoE (`num_experts`, `moe_intermediate_size`,
 * `shared_expert_intermediate_size`, `decoder_sparse_step`, `mlp_only_layers`) and DeepSeek-style
 * MoE layouts (`n_routed_experts`, `n_shared_experts`, `first_k_dense_replace`, `moe_layer_freq`).
 * Multimodal configs keep the language model under `text_config`, which is read instead.
 */
import { AutotuneError } from '../errors.js';

export type ComputeDtype = 'bf16' | 'fp16' | 'fp8' | 'fp32';

export interface MoeShape {
  /** Routed experts per MoE layer. */
  readonly numExperts: number;
  /** Routed experts each token goes through. */
  readonly expertsPerToken: number;
  /** Intermediate size of one routed expert. */
  readonly expertIntermediateSize: number;
  /** Total intermediate size of the always-on shared experts of a MoE layer (0 when none). */
  readonly sharedIntermediateSize: number;
  /** Which layers are MoE layers (the others have the dense MLP of `intermediateSize`). */
  readonly moeLayers: readonly boolean[];
}

export interface ModelShape {
  readonly numLayers: number;
  readonly hiddenSize: number;
  /** Dense MLP intermediate size (for MoE models: the dense layers' size, if any). */
  readonly intermediateSize: number;
  readonly numHeads: number;
  /** Equal to numHeads for multi-head attention, fewer for grouped-query attention. */
  readonly numKvHeads: number;
  readonly headDim: number;
  readonly vocabSize: number;
  readonly tiedEmbeddings: boolean;
  readonly moe: MoeShape | null;
  /** The weights' dtype (`torch_dtype`/`dtype`, fp8 when quantization_config says so); null when unstated. */
  readonly dtype: ComputeDtype | null;
  /** The context length vLLM derives from the config (see derivedMaxModelLen); null when none is stated. */
  readonly maxModelLen: number | null;
}

type Json = Readonly<Record<string, unknown>>;

function isRecord(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function bad(origin: string, key: string, problem: string): never {
  throw new AutotuneError('E_CONFIG', `${origin}: ${key} ${problem}`);
}

function positiveInt(c: Json, key: string, origin: string): number | null {
  const value = c[key];
  if (value === undefined || value === null) return null;
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 1) bad(origin, key, `must be a positive integer, got ${JSON.stringify(value)}`);
  return value;
}

function requiredInt(c: Json, key: string, origin: string): number {
  return positiveInt(c, key, origin) ?? bad(origin, key, 'is missing');
}

/** The first of `keys` that is present. */
function firstInt(c: Json, keys: readonly string[], origin: string): number | null {
  for (const key of keys) {
    const value = c[key];
    // A zero expert count is how some configs say "dense".
    if (value === 0) return 0;
    const v = positiveInt(c, key, origin);
    if (v !== null) return v;
  }
  return null;
}

const DTYPES: Readonly<Record<string, ComputeDtype>> = {
  bfloat16: 'bf16',
  float16: 'fp16',
  half: 'fp16',
  float32: 'fp32',
  float: 'fp32',
};

function dtypeOf(c: Json): ComputeDtype | null {
  const q = c['quantization_config'];
  if (isRecord(q) && q['quant_method'] === 'fp8') return 'fp8';
  const raw = c['torch_dtype'] ?? c['dtype'];
  return typeof raw === 'string' ? (DTYPES[raw] ?? null) : null;
}

/** Keys vLLM's `_get_and_verify_max_len` reads; the smallest present one bounds the context. */
const MAX_LEN_KEYS = [
  'max_position_embeddings',
  'n_positions',
  'max_seq_len',
  'seq_length',
  'max_sequence_length',
  'max_seq_length',
  'seq_len',
] as const;

/**
 * The max_model_len vLLM derives from a config: the smallest of the length keys, times the
 * RoPE scaling factor (yarn scales `original_max_position_embeddings`; `su`, `longrope` and
 * `llama3` already state the scaled length). Null when no length key is present.
 */
export function derivedMaxModelLen(c: Json, origin = 'config.json'): number | null {
  const lengths = MAX_LEN_KEYS.map((k) => positiveInt(c, k, origin)).filter((v): v is number => v !== null);
  if (lengths.length === 0) return null;
  let derived = Math.min(...lengths);
  const rope = c['rope_scaling'];
  if (isRecord(rope) && typeof rope['factor'] === 'number') {
    const type = rope['rope_type'] ?? rope['type'];
    if (type !== 'su' && type !== 'longrope' && type !== 'llama3') {
      if (type === 'yarn') derived = positiveInt(rope, 'original_max_position_embeddings', `${origin} rope_scaling`) ?? derived;
      derived = Math.floor(derived * rope['factor']);
    }
  }
  return derived;
}

function moeLayersOf(c: Json, numLayers: number, origin: string): boolean[] {
  const firstDense = c['first_k_dense_replace'] === 0 ? 0 : (positiveInt(c, 'first_k_dense_replace', origin) ?? 0);
  const step = positiveInt(c, 'decoder_sparse_step', origin) ?? 1;
  const freq = positiveInt(c, 'moe_layer_freq', origin) ?? 1;
  const rawOnly = c['mlp_only_layers'] ?? [];
  if (!Array.isArray(rawOnly) || !rawOnly.every((v) => Number.isSafeInteger(v))) bad(origin, 'mlp_only_layers', 'must be a list of layer numbers');
  const denseOnly = new Set<unknown>(rawOnly);
  return Array.from({ length: numLayers }, (_, i) => i >= firstDense && !denseOnly.has(i) && (i + 1) % step === 0 && i % freq === 0);
}

function moeOf(c: Json, numLayers: number, intermediateSize: number | null, origin: string): MoeShape | null {
  const numExperts = firstInt(c, ['num_experts', 'num_local_experts', 'n_routed_experts'], origin);
  if (numExperts === null || numExperts === 0) return null;
  const expertsPerToken = firstInt(c, ['num_experts_per_tok', 'moe_topk', 'experts_per_token'], origin) ?? bad(origin, 'num_experts_per_tok', 'is missing');
  if (expertsPerToken > numExperts) bad(origin, 'num_experts_per_tok', `(${expertsPerToken}) exceeds the number of experts (${numExperts})`);
  // Mixtral-style configs give the expert size as intermediate_size.
  const expertIntermediateSize = positiveInt(c, 'moe_intermediate_size', origin) ?? intermediateSize ?? bad(origin, 'moe_intermediate_size', 'is missing');
  const sharedExperts = firstInt(c, ['n_shared_experts'], origin) ?? 0;
  const sharedSize = firstInt(c, ['shared_expert_intermediate_size'], origin) ?? 0;
  return {
    numExperts,
    expertsPerToken,
    expertIntermediateSize,
    sharedIntermediateSize: sharedSize + sharedExperts * expertIntermediateSize,
    moeLayers: moeLayersOf(c, numLayers, origin),
  };
}

/**
 * What an engine study's checks read from a config: the attention heads tensor parallelism must
 * divide and the derived context length. Nothing else is required, so a model the MFU shape
 * does not model (multi-head latent attention) is still checked.
 */
export function attentionFactsFromConfig(config: unknown, origin = 'config.json'): { readonly numHeads: number; readonly maxModelLen: number | null } {
  if (!isRecord(config)) throw new AutotuneError('E_CONFIG', `${origin}: not a JSON object`);
  const c = isRecord(config['text_config']) ? config['text_config'] : config;
  return { numHeads: requiredInt(c, 'num_attention_heads', origin), maxModelLen: derivedMaxModelLen(c, origin) };
}

/** Reads a parsed config.json; `origin` names it in error messages. Throws E_CONFIG on a field it cannot use. */
export function modelShapeFromConfig(config: unknown, origin = 'config.json'): ModelShape {
  if (!isRecord(config)) throw new AutotuneError('E_CONFIG', `${origin}: not a JSON object`);
  const c = isRecord(config['text_config']) ? config['text_config'] : config;
  if (c['kv_lora_rank'] !== undefined && c['kv_lora_rank'] !== null) {
    throw new AutotuneError('E_NOT_SUPPORTED', `${origin}: multi-head latent attention (kv_lora_rank) is not modelled for MFU`);
  }
  const numLayers = requiredInt(c, 'num_hidden_layers', origin);
  const hiddenSize = requiredInt(c, 'hidden_size', origin);
  const numHeads = requiredInt(c, 'num_attention_heads', origin);
  const numKvHeads = positiveInt(c, 'num_key_value_heads', origin) ?? numHeads;
  if (numHeads % numKvHeads !== 0) bad(origin, 'num_key_value_heads', `(${numKvHeads}) must divide num_attention_heads (${numHeads})`);
  const headDim = positiveInt(c, 'head_dim', origin) ?? hiddenSize / numHeads;
  if (!Number.isSafeInteger(headDim)) bad(origin, 'head_dim', `is missing and hidden_size is not a multiple of num_attention_heads`);
  const rawIntermediate = positiveInt(c, 'intermediate_size', origin);
  const moe = moeOf(c, numLayers, rawIntermediate, origin);
  const needsDense = moe === null || moe.moeLayers.some((isMoe) => !isMoe);
  const intermediateSize = rawIntermediate ?? (needsDense ? bad(origin, 'intermediate_size', 'is missing') : 0);
  const tied = c['tie_word_embeddings'] ?? config['tie_word_embeddings'] ?? false;
  if (typeof tied !== 'boolean') bad(origin, 'tie_word_embeddings', 'must be true or false');
  return {
    numLayers,
    hiddenSize,
    intermediateSize,
    numHeads,
    numKvHeads,
    headDim,
    vocabSize: requiredInt(c, 'vocab_size', origin),
    tiedEmbeddings: tied,
    moe,
    dtype: dtypeOf(c) ?? dtypeOf(config),
    maxModelLen: derivedMaxModelLen(c, origin),
  };
}
