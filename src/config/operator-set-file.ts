/**
 * An operator set's file: a VLLM_FL_CONFIG payload (such as a best_config.yaml), read for a
 * latency study's `--op-set NAME=FILE` or a job file's `compare.operator_sets`.
 */
import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { readReason } from './file-reason.js';

export type OperatorSetRead = { readonly ok: true; readonly config: Readonly<Record<string, unknown>> } | { readonly ok: false; readonly reason: string };

/** Reads an operator set's file: its mapping, or why it cannot be one. */
export type OperatorSetReader = (file: string) => OperatorSetRead;

export const readOperatorSetFile: OperatorSetReader = (file) => {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    return { ok: false, reason: `cannot read ${file} (${readReason(error)})` };
  }
  let config: unknown;
  try {
    config = parseYaml(text);
  } catch (error) {
    return { ok: false, reason: `${file} is not valid YAML: ${(error as Error).message.split('\n')[0] ?? ''}` };
  }
  if (typeof config !== 'object' || config === null || Array.isArray(config)) return { ok: false, reason: `${file} is not a YAML mapping` };
  return { ok: true, config: config as Record<string, unknown> };
};
