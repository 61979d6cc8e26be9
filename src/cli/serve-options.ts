/**
 * The options `vllm serve` accepts, from configs/vllm-args/serve.json (read from vLLM's
 * sources): what decides which benchmark arguments belong in the serving recipe.
 */
import { readFileSync } from 'node:fs';
import { Ajv } from 'ajv';
import { AutotuneError } from '../errors.js';

interface ArgList {
  readonly options: readonly (readonly string[])[];
}

const validate = new Ajv().compile<ArgList>({
  type: 'object',
  required: ['options'],
  properties: { options: { type: 'array', minItems: 1, items: { type: 'array', minItems: 1, items: { type: 'string', pattern: '^--?[A-Za-z0-9]' } } } },
});

export function serveOptions(): ReadonlySet<string> {
  const url = new URL('../../../configs/vllm-args/serve.json', import.meta.url);
  let doc: unknown;
  try {
    doc = JSON.parse(readFileSync(url, 'utf8'));
  } catch (error) {
    throw new AutotuneError('E_CONFIG', `cannot read vLLM's serve argument list ${url.pathname}: ${(error as Error).message}`);
  }
  if (!validate(doc)) throw new AutotuneError('E_CONFIG', `vLLM's serve argument list ${url.pathname} is damaged`);
  return new Set(doc.options.flat());
}
