/**
 * vLLM's own command-line options, kept as data in configs/vllm-args/ (with the vLLM commit
 * they were read from). autotune's options must never shadow one of them, and an unknown
 * option close to one of autotune's is only a typo when vLLM does not take it either.
 */
import { readFileSync } from 'node:fs';
import { Ajv } from 'ajv';
import { AutotuneError } from '../errors.js';
import { normalizedOption } from './option-names.js';

/** The vLLM commands autotune drives, or may: the file names under configs/vllm-args/. */
export const VLLM_COMMANDS = ['bench-throughput', 'bench-latency', 'bench-serve', 'serve'] as const;
export type VllmCommand = (typeof VLLM_COMMANDS)[number];

export interface VllmArgList {
  readonly command: string;
  readonly vllm: { readonly repository: string; readonly commit: string; readonly date: string };
  /** Each option with its aliases (`--tensor-parallel-size`, `-tp`) and `--no-` forms. */
  readonly options: readonly (readonly string[])[];
}

const SCHEMA = {
  type: 'object',
  required: ['command', 'vllm', 'options'],
  properties: {
    command: { type: 'string', minLength: 1 },
    vllm: {
      type: 'object',
      required: ['repository', 'commit', 'date'],
      properties: { repository: { type: 'string' }, commit: { type: 'string', pattern: '^[0-9a-f]{40}$' }, date: { type: 'string' } },
    },
    options: { type: 'array', minItems: 1, items: { type: 'array', minItems: 1, items: { type: 'string', pattern: '^--?[A-Za-z0-9]' } } },
  },
} as const;

const validate = new Ajv({ allErrors: false }).compile<VllmArgList>(SCHEMA);

export function vllmArgsPath(command: VllmCommand): URL {
  return new URL(`../../../configs/vllm-args/${command}.json`, import.meta.url);
}

export function loadVllmArgs(command: VllmCommand): VllmArgList {
  const path = vllmArgsPath(command);
  let doc: unknown;
  try {
    doc = JSON.parse(readFileSync(path, 'utf8'));
  } catch (error) {
    throw new AutotuneError('E_CONFIG', `cannot read vLLM's argument list ${path.pathname}: ${(error as Error).message}`);
  }
  if (!validate(doc)) throw new AutotuneError('E_CONFIG', `vLLM's argument list ${path.pathname} is damaged: ${validate.errors?.[0]?.message ?? 'invalid'}`);
  return doc;
}

/** Whether vLLM's parser takes `token` as one of its options. */
export class VllmOptions {
  readonly command: string;
  readonly #names: ReadonlySet<string>;
  readonly #long: readonly string[];

  constructor(list: VllmArgList) {
    this.command = list.command;
    this.#names = new Set(list.options.flat());
    this.#long = [...this.#names].filter((n) => n.startsWith('--'));
  }

  has(name: string): boolean {
    return this.#names.has(name);
  }

  /** Exactly one of its options, or (argparse's allow_abbrev) a prefix of exactly one long option. */
  accepts(token: string): boolean {
    const name = normalizedOption(token);
    if (this.#names.has(name)) return true;
    return name.startsWith('--') && name.length > 2 && this.#long.filter((n) => n.startsWith(name)).length === 1;
  }

  /** Options `name` equals or abbreviates: what an autotune option of that name would shadow. */
  shadowedBy(name: string): string[] {
    return [...this.#names].filter((n) => n === name || (name.startsWith('--') && n.startsWith(name)));
  }
}
