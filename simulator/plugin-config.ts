/** Reads the VLLM_FL_CONFIG file the way the plugin does, fast for the shapes autotune writes. */
import { readFileSync } from 'node:fs';
import { parseYaml } from './scenario.js';
import { parseSimpleYaml } from './simple-yaml.js';

export type PluginConfigFile =
  /** Unset, or a path with no file: the plugin then takes its policy from the environment. */
  | { readonly kind: 'absent' }
  | { readonly kind: 'parsed'; readonly value: unknown }
  | { readonly kind: 'invalid'; readonly message: string };

export function readPluginConfig(path: string | undefined): PluginConfigFile {
  if (path === undefined || path === '') return { kind: 'absent' };
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    return { kind: 'absent' };
  }
  try {
    // yaml.safe_load of an empty file gives None, which the plugin reads as `{}`.
    const simple = parseSimpleYaml(text);
    const value = simple !== undefined ? simple : parseYaml(text);
    return { kind: 'parsed', value: value ?? {} };
  } catch (error) {
    return { kind: 'invalid', message: (error instanceof Error ? error.message : String(error)).split('\n')[0] ?? '' };
  }
}
