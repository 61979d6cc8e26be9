/** The child's environment and argv for one trial. Pure: inputs are never mutated. */
import type { TrialSpec } from '../tuner/types.js';

export interface RunPaths {
  readonly configPath: string;
  readonly oplistPath: string;
  readonly runKey: string;
  /** The slot's devices and ports (slots.ts): over everything else, so no run strays onto another slot's GPUs. */
  readonly slotEnv?: Readonly<Record<string, string>>;
}

/**
 * Every variable vllm-plugin-FL or FlagGems reads to decide which operator implementation runs
 * (shared reference, flagos-env sections 1-2). A trial sets the ones it needs itself; an
 * inherited value would silently change the measurement (`VLLM_FL_PREFER=vendor` turns
 * FlagGems off in every flagos trial), so none is ever inherited.
 */
export const PLUGIN_VARIABLES = [
  'USE_FLAGGEMS',
  'VLLM_FL_PREFER_ENABLED',
  'VLLM_FL_PREFER',
  'VLLM_FL_STRICT',
  'VLLM_FL_PER_OP',
  'VLLM_FL_OP_CONFIG',
  'VLLM_FL_ALLOW_VENDORS',
  'VLLM_FL_DENY_VENDORS',
  'VLLM_FL_PLATFORM',
  'VLLM_FL_CONFIG',
  'VLLM_FL_FLAGOS_WHITELIST',
  'VLLM_FL_FLAGOS_BLACKLIST',
  'VLLM_FL_FLAGOS_BLACKLIST_APPEND',
  'VLLM_FL_OOT_ENABLED',
  'VLLM_FL_OOT_WHITELIST',
  'VLLM_FL_OOT_BLACKLIST',
  'VLLM_FL_HOPPER_LONG_CONTEXT_OPT',
  'VLLM_FL_LOG_LEVEL',
  'VLLM_FL_DISPATCH_DEBUG',
  'VLLM_FL_PLUGIN_MODULES',
  'VLLM_FL_USE_FLAGGEMS_VLLM',
  'VLLM_FL_USE_FLAGGEMS_ATTN',
  'VLLM_FL_OP_FAST_PATH',
  'VLLM_FL_FLAGOS_MM_SHAPE_AWARE',
  'VLLM_FL_FLAGOS_MM_DECODE_MAX_M',
  'FLAGGEMS_ENABLE_OPLIST_PATH',
  'FLAGGEMS_AUTOTUNE_BACKGROUND',
  'FLAGGEMS_AUTOTUNE_RUN_DIR',
  // vLLM's, but a trial choice: only reference-backend trials set it.
  'VLLM_ATTENTION_BACKEND',
  'AUTOTUNE_RUN_KEY',
] as const;

/** Names the plugin or FlagGems may read in releases newer than the list above. */
const PLUGIN_PREFIX = /^(VLLM_FL_|FLAGGEMS_|USE_FLAGGEMS|GEMS_)/;

/**
 * Exceptions to the prefix rule: caches change how long a first run takes, not which kernel
 * runs (a stable cache is what a user wants), and the vendor FlagGems needs on non-NVIDIA
 * machines applies to the baseline and every trial alike (so does FLAGCX_PATH, outside the prefixes).
 */
export const KEPT_PLUGIN_VARIABLES = ['FLAGGEMS_CACHE_DIR', 'FLAGGEMS_DB_URL', 'VLLM_FL_TRITON_CACHE_ROOT', 'GEMS_VENDOR'] as const;

const LISTED: ReadonlySet<string> = new Set(PLUGIN_VARIABLES);
const KEPT: ReadonlySet<string> = new Set(KEPT_PLUGIN_VARIABLES);

/** Whether an inherited variable is withheld from every trial. */
export function isWithheld(name: string): boolean {
  return !KEPT.has(name) && (LISTED.has(name) || PLUGIN_PREFIX.test(name));
}

export interface EnvReport {
  /** Inherited names no trial sees (each trial sets what it needs itself). */
  readonly dropped: readonly string[];
  /** Recorded names every trial inherits unchanged. */
  readonly kept: readonly string[];
}

/**
 * What a session does with the environment it starts from: `inherited` is everything a trial
 * could inherit, `recorded` the variables stored with the session (reapplied on resume).
 */
export function envReport(inherited: Readonly<Record<string, string | undefined>>, recorded: Readonly<Record<string, string>>): EnvReport {
  const present = (env: Readonly<Record<string, string | undefined>>): string[] =>
    Object.keys(env).filter((name) => env[name] !== undefined).sort();
  return {
    dropped: present(inherited).filter(isWithheld),
    kept: present(recorded).filter((name) => !isWithheld(name) && name !== 'PATH'),
  };
}

/** One line for the console and autotune.log. */
export function formatEnvReport(r: EnvReport): string {
  const dropped = r.dropped.length === 0 ? 'no inherited plugin or FlagGems variable to drop' : `dropped inherited ${r.dropped.join(', ')} (each trial sets the plugin's variables itself)`;
  const kept = r.kept.length === 0 ? 'kept none recorded' : `kept ${r.kept.join(', ')}`;
  return `Trial environment: ${dropped}; ${kept}`;
}

/**
 * A fresh environment per invocation: a trial's settings (VLLM_ATTENTION_BACKEND included) can
 * never leak into the next one, unlike the reference autotuner which edits its own os.environ,
 * and no inherited plugin or FlagGems variable reaches a trial that does not set it.
 */
export function buildEnv(
  base: Readonly<Record<string, string | undefined>>,
  trial: Pick<TrialSpec, 'env'>,
  paths: RunPaths,
): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [name, value] of Object.entries(base)) {
    if (value !== undefined && !isWithheld(name)) env[name] = value;
  }
  for (const [name, value] of Object.entries(trial.env)) {
    if (value === null) delete env[name];
    else env[name] = value;
  }
  for (const [name, value] of Object.entries(paths.slotEnv ?? {})) env[name] = value;
  env['VLLM_FL_CONFIG'] = paths.configPath;
  env['FLAGGEMS_ENABLE_OPLIST_PATH'] = paths.oplistPath;
  env['AUTOTUNE_RUN_KEY'] = paths.runKey;
  return env;
}

/**
 * Whether the user already chose an --output-json file. vLLM's parser accepts `_` for `-` and
 * argparse accepts unambiguous prefixes (`--output-j`), so those spellings count too.
 */
export function userSetOutputJson(passthrough: readonly string[]): boolean {
  return passthrough.some((arg) => {
    if (!arg.startsWith('--')) return false;
    const name = (arg.split('=', 1)[0] ?? '').replace(/_/g, '-');
    return name.length >= '--output-j'.length && '--output-json'.startsWith(name);
  });
}
