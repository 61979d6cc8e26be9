/** serve_recipe.sh and serve_recipe.json beside best_config.yaml, each written whole. */
import { chmodSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { OOT_OPS } from '../tuner/plugin-ops.js';
import type { FinalResult } from '../tuner/policy.js';
import { buildServeRecipe, formatRecipeJson, formatRecipeShell, type ServeRecipe } from '../tuner/recipe.js';
import { ARTIFACTS } from './artifacts.js';
import { atomicWriteFile } from './atomic-write.js';
import { makeDirs } from './dirs.js';
import type { SessionRecord } from './records.js';

export const RECIPE_FILES = { shell: 'serve_recipe.sh', json: 'serve_recipe.json' } as const;

export interface RecipeSettings {
  readonly vllmBin: string;
  readonly serveOptions: ReadonlySet<string>;
}

/**
 * The OOT names the session's trials used: those the plugin probe stored with the session's
 * options (checked against the schema when the session was created), else the built-in list.
 */
function storedOotNames(options: SessionRecord['options']): ReadonlySet<string> {
  const field = (value: unknown, key: string): unknown => (typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>)[key] : undefined);
  const oot = field(field(field(options, 'discovery'), 'probe'), 'plugin');
  const names = field(oot, 'oot');
  return Array.isArray(names) && names.every((n): n is string => typeof n === 'string') ? new Set(names) : OOT_OPS;
}

export function sessionRecipe(session: SessionRecord, final: FinalResult, settings: RecipeSettings): ServeRecipe {
  return buildServeRecipe({
    sessionId: session.id,
    final,
    passthrough: session.args,
    sessionEnv: session.env,
    bestConfigPath: resolve(session.runDir, ARTIFACTS.bestConfig),
    vllmBin: settings.vllmBin,
    serveOptions: settings.serveOptions,
    oot: storedOotNames(session.options),
  });
}

/** Writes both files into `dir`; returns their paths. */
export function writeServeRecipe(dir: string, recipe: ServeRecipe): { shell: string; json: string } {
  makeDirs(dir);
  const shell = join(dir, RECIPE_FILES.shell);
  const json = join(dir, RECIPE_FILES.json);
  atomicWriteFile(json, formatRecipeJson(recipe));
  atomicWriteFile(shell, formatRecipeShell(recipe));
  chmodSync(shell, 0o755);
  return { shell, json };
}
