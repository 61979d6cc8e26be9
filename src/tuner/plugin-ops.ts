/** What autotune knows about vllm-plugin-FL operators without importing Python. */
import { BACKEND_ORDER, type Backend } from './types.js';

/** The plugin's out-of-tree CustomOps (vllm_fl.utils.OOT_OP_NAMES), for when no probe read the installed plugin's. */
export const OOT_OPS: ReadonlySet<string> = new Set([
  'silu_and_mul',
  'gelu_and_mul',
  'rms_norm',
  'rotary_embedding',
  'fused_moe',
  'unquantized_fused_moe_method',
]);

/**
 * Dispatch ops that the platform config gives all three backends (nvidia.yaml op_backends).
 * Every other operator is a plain FlagGems op with only the flagos backend.
 */
const DISPATCH_OPS_ALL_BACKENDS: ReadonlySet<string> = new Set([
  'attention_backend',
  'rms_norm',
  'silu_and_mul',
  'rotary_embedding',
]);

/**
 * Operators the plugin registers backends for on every platform config, in the order the
 * reference would list them. Round 1c runs with OOT ops off, so its log never names the OOT
 * ones; the reference found them by introspection, autotune from this table.
 */
export function platformDispatchOps(): Record<string, Backend[]> {
  return Object.fromEntries([...DISPATCH_OPS_ALL_BACKENDS].sort().map((op) => [op, [...BACKEND_ORDER]]));
}

export function knownBackends(op: string): Backend[] {
  return DISPATCH_OPS_ALL_BACKENDS.has(op) ? [...BACKEND_ORDER] : ['flagos'];
}

/** Deduplicates and puts backends in the default order flagos, vendor, reference. */
export function orderBackends(backends: readonly Backend[]): Backend[] {
  return BACKEND_ORDER.filter((b) => backends.includes(b));
}
