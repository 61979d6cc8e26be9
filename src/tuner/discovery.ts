/**
 * Which operators a session tunes, with each one's ordered backends. Mirrors the reference's
 * set algebra: `--ops`, an auto_tune VLLM_FL_CONFIG, else what the Python probe found in the
 * installed plugin, else (no Python or no plugin) the plugin's dispatch ops
 * (platformDispatchOps); the last two merged with round 1c's executed-op log.
 */
import { knownBackends, orderBackends, platformDispatchOps } from './plugin-ops.js';
import { isValidName } from './spaces/operators.js';
import { knownToFlagGems, probeTable } from './plugin-probe.js';
import type { DiscoveryInput, OpsDiscovered } from './policy.js';
import type { Backend } from './types.js';

type OpTable = Record<string, Backend[]>;

/** What a policy says when discovery leaves nothing to tune. */
export const NO_OPS_MESSAGE =
  'no operators to tune: --ops was not given, VLLM_FL_CONFIG names no auto_tune operators, ' +
  'and round 1c (baseline_gems_enable) reported no executed FlagGems operators';

function withFlagos(backends: readonly Backend[]): Backend[] {
  return orderBackends(backends.includes('flagos') ? backends : [...backends, 'flagos']);
}

/** The list before round 1c; `source` tells where it came from. */
export function initialOps(input: DiscoveryInput): { ops: OpTable; source: OpsDiscovered['source'] } {
  if (input.explicitOps !== null && input.explicitOps.length > 0) {
    const ops: OpTable = {};
    for (const op of input.explicitOps) ops[op] = withFlagos(knownBackends(op));
    return { ops, source: 'explicit' };
  }
  if (input.configOps !== null && Object.keys(input.configOps).length > 0) {
    const ops: OpTable = {};
    for (const [op, backends] of Object.entries(input.configOps)) {
      const ordered = orderBackends(backends);
      ops[op] = ordered.length > 0 ? ordered : knownBackends(op);
    }
    return { ops, source: 'config' };
  }
  if (input.probe !== undefined && input.probe !== null) return { ops: probeTable(input.probe).ops, source: 'probe' };
  return { ops: platformDispatchOps(), source: 'oplist' };
}

/** Only the allowed backends; an operator left with none is not tuned. */
function restrict(table: Readonly<Record<string, readonly Backend[]>>, allowed: readonly Backend[] | null | undefined): OpTable {
  const out: OpTable = {};
  for (const [op, backends] of Object.entries(table)) {
    const kept = allowed === null || allowed === undefined ? [...backends] : backends.filter((b) => allowed.includes(b));
    if (kept.length > 0) out[op] = kept;
  }
  return out;
}

/**
 * Narrows (or fills) the list with the operators round 1c actually executed, then keeps only
 * the allowed backends. Explicit `--ops` are never narrowed, as in the reference.
 */
export function discoverOps(input: DiscoveryInput, executed: readonly string[] | null): OpsDiscovered {
  const found = discoverAllOps(input, executed);
  if (input.backends === null || input.backends === undefined) return found;
  return { ...found, initial: restrict(found.initial, input.backends), final: restrict(found.final, input.backends) };
}

function discoverAllOps(input: DiscoveryInput, executed: readonly string[] | null): OpsDiscovered {
  const { ops, source } = initialOps(input);
  const initial = Object.fromEntries(
    Object.keys(ops)
      .sort()
      .map((op) => [op, ops[op] ?? []]),
  );
  // A log line that does not name an identifier is not an operator (and must not become a file name).
  const enabled = new Set((executed ?? []).map((op) => op.toLowerCase()).filter(isValidName));
  if (source === 'explicit' || enabled.size === 0) {
    // With nothing executed, the reference keeps its list; the plugin table alone is no finding.
    return { type: 'ops', initial, final: source === 'oplist' || source === 'probe' ? {} : ops, source };
  }
  const probe = source === 'probe' ? input.probe : null;
  // The reference: executed operators FlagGems knows, plus every operator with a registered backend.
  const executedOps = probe === null || probe === undefined ? [...enabled] : knownToFlagGems(probe, [...enabled]);
  const kept = probe === null || probe === undefined ? Object.keys(ops).filter((op) => (ops[op] ?? []).length > 0) : Object.keys(probe.plugin.backends);
  const executedSet = new Set(executedOps);
  const merged = [...new Set([...kept, ...executedOps])].sort();
  const final: OpTable = {};
  for (const op of merged) {
    const backends = ops[op] ?? knownBackends(op);
    final[op] = executedSet.has(op) ? withFlagos(backends) : backends;
  }
  return { type: 'ops', initial, final, source };
}
