/**
 * The FlagGems enable-oplist log (FLAGGEMS_ENABLE_OPLIST_PATH) in the real line shapes of
 * flagos-env.md section 6.3, including the ones a naive `flag_gems.ops.*` regex misses.
 */
import { hash32 } from './prng.js';
import type { Scenario } from './scenario.js';

function lineFor(s: Scenario, op: string): string {
  const spec = s.ops[op];
  switch (spec?.oplist) {
    case 'hopper_mm':
      return (
        `[DEBUG] flag_gems.runtime.backend._nvidia.hopper.ops.${op}.general_${op}: GEMS ${op.toUpperCase()}-hopper, ` +
        `[op]: ${op}, [mm scenario]: general, [shape info]: [-, 8192, 4096, 4096](batch, M, N, K)`
      );
    case 'fused':
      return `[DEBUG] flag_gems.fused.${op}: GEMS ${op.toUpperCase()}`;
    case 'dispatch':
      return `[DEBUG] vllm_fl.dispatch.ops.${op}: default.flagos`;
    default:
      return `[DEBUG] flag_gems.ops.${spec?.module ?? op}.${op}: GEMS ${op.toUpperCase()}`;
  }
}

/** Lines in first-call order (a fixed shuffle); ops called from two sites are logged twice, as `once=True` allows. */
export function oplistText(s: Scenario, executedOps: readonly string[]): string {
  const order = [...executedOps].sort((a, b) => hash32(`${s.seed}|${a}`) - hash32(`${s.seed}|${b}`));
  const lines: string[] = [];
  for (const op of order) {
    lines.push(lineFor(s, op));
    if (hash32(op) % 4 === 0) lines.push(lineFor(s, op));
  }
  return lines.map((l) => `${l}\n`).join('');
}
