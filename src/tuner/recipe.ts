/**
 * The serving recipe: what reproduces a session's chosen configuration when the model is
 * served. best_config.yaml alone is not that: served by itself it leaves FlagGems' other
 * operators on and, being a VLLM_FL_CONFIG without `flagos_blacklist`, turns the platform
 * blacklist off, so what a user would serve is not what was measured. The recipe carries the
 * exact plugin environment of the measured combination and the engine arguments of the
 * benchmark. Pure.
 */
import type { EngineAnswer, FinalResult } from './policy.js';
import { OOT_OPS } from './plugin-ops.js';
import { combinedTrial } from './spaces/operators.js';
import type { Backend } from './types.js';

export interface RecipeInput {
  readonly sessionId: string;
  readonly final: FinalResult;
  /** The benchmark's pass-through arguments, as measured. */
  readonly passthrough: readonly string[];
  /** The environment recorded at the session's start (reapplied to every run). */
  readonly sessionEnv: Readonly<Record<string, string>>;
  /** Absolute path of best_config.yaml, which becomes VLLM_FL_CONFIG. */
  readonly bestConfigPath: string;
  readonly vllmBin: string;
  /** Every option `vllm serve` accepts (aliases and `--no-` forms included). */
  readonly serveOptions: ReadonlySet<string>;
  /** The plugin's OOT operator names as the session's trials used them (plugin-probe.ts ootNames). */
  readonly oot?: ReadonlySet<string>;
}

export interface ServeRecipe {
  readonly session: string;
  readonly opBackends: Readonly<Record<string, Backend>>;
  readonly validated: boolean;
  readonly speedup: number | null;
  readonly low: number | null;
  readonly high: number | null;
  /** Variables to set, in order: the recorded environment, then the plugin's. */
  readonly env: Readonly<Record<string, string>>;
  /** Variables that must not be set (a blacklist next to a whitelist is a startup error). */
  readonly unset: readonly string[];
  /** `vllm serve MODEL ARGS...`. */
  readonly argv: readonly string[];
  /** Benchmark-only arguments left out of the serve command. */
  readonly dropped: readonly string[];
  /** An engine study's winning engine arguments (in `argv` too) and their gain; absent otherwise. */
  readonly engine?: EngineAnswer;
}

/** Set by autotune per run, or specific to one run: never part of what a user serves with. */
const PER_RUN_ENV: ReadonlySet<string> = new Set(['FLAGGEMS_ENABLE_OPLIST_PATH', 'AUTOTUNE_RUN_KEY', 'PATH']);

/** A FlagGems function name (`fill_scalar_`), not an ATen key (`fill_.Scalar`): only those match a whitelist. */
const FUNCTION_NAME = /^[a-z_][a-z0-9_]*$/;

function optionName(token: string): string | null {
  if (!token.startsWith('-') || /^-\d/.test(token) || token === '-' || token === '--') return null;
  const name = token.split('=', 1)[0] ?? token;
  return name.startsWith('--') ? `--${name.slice(2).replace(/_/g, '-')}` : name;
}

/** Known exactly, by vLLM's `-O3` form, or (argparse's allow_abbrev) as a prefix of exactly one long option. */
function servesOption(name: string, options: ReadonlySet<string>): boolean {
  if (options.has(name)) return true;
  if (/^-O\d*$/.test(name)) return options.has('-O');
  if (!name.startsWith('--') || name.length <= 2) return false;
  let matches = 0;
  for (const o of options) if (o.startsWith(name)) matches += 1;
  return matches === 1;
}

interface Split {
  readonly model: string | null;
  readonly kept: string[];
  readonly dropped: string[];
}

/**
 * Groups the arguments into an option and the values that follow it, keeps the groups
 * `vllm serve` accepts and takes the model out (it is serve's positional argument).
 */
export function serveArguments(passthrough: readonly string[], options: ReadonlySet<string>): Split {
  const groups: string[][] = [];
  for (const token of passthrough) {
    if (optionName(token) !== null || groups.length === 0) groups.push([token]);
    else (groups.at(-1) as string[]).push(token);
  }
  let model: string | null = null;
  const kept: string[] = [];
  const dropped: string[] = [];
  for (const group of groups) {
    const head = group[0] as string;
    const name = optionName(head);
    if (name === '--model') {
      model = head.includes('=') ? head.slice(head.indexOf('=') + 1) : (group[1] ?? null);
      continue;
    }
    if (name !== null && servesOption(name, options)) kept.push(...group);
    else dropped.push(...group);
  }
  return { model, kept, dropped };
}

/** Breaks of vllm-plugin-FL's rules (flagos-env.md sections 2, 4 and 6); empty when the recipe is sound. */
export function recipeProblems(recipe: Pick<ServeRecipe, 'env' | 'unset' | 'opBackends'>, ootNames: ReadonlySet<string> = OOT_OPS): string[] {
  const problems: string[] = [];
  const env = recipe.env;
  const whitelist = (env['VLLM_FL_FLAGOS_WHITELIST'] ?? '').split(',').filter((s) => s !== '');
  const oot = (env['VLLM_FL_OOT_WHITELIST'] ?? '').split(',').filter((s) => s !== '');
  if (env['VLLM_FL_FLAGOS_BLACKLIST'] !== undefined && whitelist.length > 0) problems.push('VLLM_FL_FLAGOS_WHITELIST and VLLM_FL_FLAGOS_BLACKLIST are both set');
  if (whitelist.length > 0 && !recipe.unset.includes('VLLM_FL_FLAGOS_BLACKLIST')) problems.push('an inherited VLLM_FL_FLAGOS_BLACKLIST is not removed next to the whitelist');
  for (const name of whitelist) if (!FUNCTION_NAME.test(name)) problems.push(`whitelist entry ${name} is not a FlagGems function name`);
  const flagos = Object.keys(recipe.opBackends).filter((op) => recipe.opBackends[op] === 'flagos');
  const gemsOn = /^(1|true)$/i.test(env['USE_FLAGGEMS'] ?? 'true');
  if (gemsOn && whitelist.length === 0) problems.push('FlagGems is on without a whitelist: every FlagGems operator would run');
  if (flagos.length > 0 && !gemsOn) problems.push('flagos operators are chosen but USE_FLAGGEMS is off');
  for (const op of flagos) if (!whitelist.includes(op)) problems.push(`flagos operator ${op} is missing from the whitelist`);
  for (const op of Object.keys(recipe.opBackends)) if (ootNames.has(op) && !oot.includes(op)) problems.push(`OOT operator ${op} is missing from VLLM_FL_OOT_WHITELIST`);
  for (const op of oot) if (!ootNames.has(op)) problems.push(`${op} is not one of the plugin's OOT operators`);
  if (env['VLLM_FL_CONFIG'] === undefined) problems.push('VLLM_FL_CONFIG is not set');
  return problems;
}

/** The pass-through arguments with the engine study's winners on top: an argument they set replaces the measured one. */
function withEngineArgs(passthrough: readonly string[], engine: readonly string[]): string[] {
  const names = new Set(engine.map(optionName).filter((n): n is string => n !== null));
  const kept: string[] = [];
  let dropping = false;
  for (const token of passthrough) {
    const name = optionName(token);
    if (name !== null) dropping = names.has(name);
    if (!dropping) kept.push(token);
  }
  return [...kept, ...engine];
}

export function buildServeRecipe(input: RecipeInput): ServeRecipe {
  const { final } = input;
  const oot = input.oot ?? OOT_OPS;
  const plugin = combinedTrial(final.opBackends, 'combined_best', final.attention, oot).env;
  const env: Record<string, string> = {};
  for (const [name, value] of Object.entries(input.sessionEnv)) {
    if (!PER_RUN_ENV.has(name) && !(name in plugin) && name !== 'VLLM_FL_CONFIG') env[name] = value;
  }
  const unset: string[] = [];
  for (const [name, value] of Object.entries(plugin)) {
    if (value === null) {
      delete env[name];
      unset.push(name);
    } else {
      env[name] = value;
    }
  }
  env['VLLM_FL_CONFIG'] = input.bestConfigPath;
  const args = serveArguments(final.engine === undefined ? input.passthrough : withEngineArgs(input.passthrough, final.engine.args), input.serveOptions);
  const recipe: ServeRecipe = {
    session: input.sessionId,
    opBackends: { ...final.opBackends },
    validated: final.validated,
    speedup: final.speedup,
    low: final.low,
    high: final.high,
    env,
    unset,
    argv: [input.vllmBin, 'serve', ...(args.model === null ? [] : [args.model]), ...args.kept],
    dropped: args.dropped,
    ...(final.engine === undefined ? {} : { engine: final.engine }),
  };
  const problems = recipeProblems(recipe, oot);
  if (problems.length > 0) throw new Error(`serving recipe breaks the plugin's rules: ${problems.join('; ')}`);
  return recipe;
}

/** POSIX single quoting; plain words stay bare so the file reads well. */
export function shellQuote(word: string): string {
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}

function pct(x: number): string {
  return `${x >= 0 ? '+' : ''}${(x * 100).toFixed(2)}%`;
}

export function formatRecipeShell(recipe: ServeRecipe): string {
  const ops = Object.entries(recipe.opBackends);
  const gain =
    recipe.speedup === null
      ? ''
      : `, ${pct(recipe.speedup)}${recipe.low !== null && recipe.high !== null ? ` [${pct(recipe.low)}, ${pct(recipe.high)}]` : ''} vs baseline`;
  const lines = [
    '#!/bin/sh',
    `# Serves the configuration chosen by autotune session ${recipe.session}:`,
    `# ${ops.length === 0 ? 'no FlagGems operator' : ops.map(([op, b]) => `${op}=${b}`).join(', ')}${recipe.validated ? ' (validated as a set' : ' (not validated as a set'}${gain}).`,
    ...(recipe.engine === undefined ? [] : [`# Engine arguments: ${recipe.engine.args.length === 0 ? '(vLLM defaults)' : recipe.engine.args.join(' ')}${recipe.engine.gain === null ? '' : `, ${pct(recipe.engine.gain)}${recipe.engine.low !== null && recipe.engine.high !== null ? ` [${pct(recipe.engine.low)}, ${pct(recipe.engine.high)}]` : ''} vs the default configuration`}.`]),
    '# The environment is the measured one; extra `vllm serve` arguments may follow on the command line.',
    ...recipe.unset.map((name) => `unset ${name}`),
    ...Object.entries(recipe.env).map(([name, value]) => `export ${name}=${shellQuote(value)}`),
    `exec ${recipe.argv.map(shellQuote).join(' ')} "$@"`,
  ];
  return `${lines.join('\n')}\n`;
}

export function formatRecipeJson(recipe: ServeRecipe): string {
  return `${JSON.stringify(recipe, null, 2)}\n`;
}
