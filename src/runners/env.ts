/** The child's environment and argv for one trial. Pure: inputs are never mutated. */
import type { TrialSpec } from '../tuner/types.js';

export interface RunPaths {
  readonly configPath: string;
  readonly oplistPath: string;
  readonly runKey: string;
}

/**
 * A fresh environment per invocation: a trial's settings (VLLM_ATTENTION_BACKEND included) can
 * never leak into the next one, unlike the reference autotuner which edits its own os.environ.
 */
export function buildEnv(
  base: Readonly<Record<string, string | undefined>>,
  trial: Pick<TrialSpec, 'env'>,
  paths: RunPaths,
): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [name, value] of Object.entries(base)) {
    if (value !== undefined) env[name] = value;
  }
  for (const [name, value] of Object.entries(trial.env)) {
    if (value === null) delete env[name];
    else env[name] = value;
  }
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
