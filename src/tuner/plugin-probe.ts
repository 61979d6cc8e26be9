/**
 * What the Python probe read from an installed vllm-plugin-FL and FlagGems, and how it turns
 * into an operator table the way the reference's get_all_tunable_ops() builds one. Pure.
 */
import { OOT_OPS, orderBackends } from './plugin-ops.js';
import type { Backend } from './types.js';

export interface PluginProbe {
  readonly python: string;
  readonly flaggems: { readonly version: string | null; readonly ops: readonly string[] } | null;
  readonly plugin: {
    readonly version: string | null;
    /** Registered backends per dispatch operator. */
    readonly backends: Readonly<Record<string, readonly Backend[]>>;
    /** The plugin's OOT_OP_NAMES. */
    readonly oot: readonly string[];
  };
}

/**
 * The OOT operator names trials register: the installed plugin's OOT_OP_NAMES when the probe
 * read them (older plugins lack gelu_and_mul, newer ones add names), else the built-in list.
 */
export function ootNames(probe: PluginProbe | null | undefined): ReadonlySet<string> {
  return probe === null || probe === undefined ? OOT_OPS : new Set(probe.plugin.oot);
}

/** Where an operator of the table comes from, for `autotune ops`. */
export type ProbeOrigin = 'plugin registry' | 'FlagGems';

/**
 * The reference's table: FlagGems' operators on flagos, then every operator the plugin
 * registers a backend for, with those backends (default order flagos, vendor, reference); an
 * OOT operator the plugin registers gets flagos too (its OOT CustomOp is the flagos
 * implementation), one it does not register stays out, as in get_all_tunable_ops().
 */
export function probeTable(probe: PluginProbe): { ops: Record<string, Backend[]>; origin: Record<string, ProbeOrigin> } {
  const ops: Record<string, Backend[]> = {};
  const origin: Record<string, ProbeOrigin> = {};
  for (const op of probe.flaggems?.ops ?? []) {
    ops[op] = ['flagos'];
    origin[op] = 'FlagGems';
  }
  for (const [op, backends] of Object.entries(probe.plugin.backends)) {
    ops[op] = orderBackends([...(ops[op] ?? []), ...backends]);
    origin[op] = 'plugin registry';
  }
  for (const op of probe.plugin.oot) {
    const registered = ops[op];
    if (registered !== undefined && probe.plugin.backends[op] !== undefined) ops[op] = orderBackends([...registered, 'flagos']);
  }
  return { ops, origin };
}

/**
 * FlagGems spells its list as ATen keys in newer plugins (`fill_.Scalar`, `arange.start`) and
 * as function names in older ones, while the enable log always has function names
 * (`fill_scalar_`, `arange_start`, `scatter_add_0`, `add` for `add.Tensor`): compare without
 * separators and trailing overload digits, the ATen key whole and without its overload, so
 * that the reference's intersection does not drop most ops.
 */
function compact(name: string): string {
  return name.toLowerCase().replace(/[._]/g, '').replace(/\d+$/, '');
}

/** Executed operators FlagGems knows (all of them when the probe could not list FlagGems). */
export function knownToFlagGems(probe: PluginProbe, executed: readonly string[]): string[] {
  if (probe.flaggems === null || probe.flaggems.ops.length === 0) return [...executed];
  const known = new Set(probe.flaggems.ops.flatMap((key) => [compact(key), compact(key.split('.')[0] ?? key)]));
  return executed.filter((op) => known.has(compact(op)));
}
