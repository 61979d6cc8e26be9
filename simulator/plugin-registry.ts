/**
 * What vllm-plugin-FL itself knows about its operators (flagos-env.md sections 4 and 5).
 * Kept apart from src/tuner/plugin-ops.ts on purpose: the simulator plays the plugin, and must
 * not inherit the tuner's beliefs about it.
 */

/** vllm_fl.utils.OOT_OP_NAMES: CustomOps that replace vLLM's only when registered. */
export const OOT_OP_NAMES: ReadonlySet<string> = new Set([
  'silu_and_mul',
  'gelu_and_mul',
  'rms_norm',
  'rotary_embedding',
  'fused_moe',
  'unquantized_fused_moe_method',
]);

/** Dispatch ops with a DEFAULT (flagos) impl that are always dispatched, OOT or not. */
export const DISPATCH_OP_NAMES: ReadonlySet<string> = new Set([
  'attention_backend',
  'topk_softmax',
  'grouped_topk',
  'moe_align_block_size',
  'moe_sum',
  'invoke_fused_moe_triton_kernel',
  'dynamic_per_token_quant_int8',
]);

/** Implementation ids the dispatch manager prints for each backend. */
export const IMPL_ID = { flagos: 'default.flagos', vendor: 'vendor.cuda', reference: 'reference.torch' } as const;
