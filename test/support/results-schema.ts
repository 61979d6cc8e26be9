/** configs/results.schema.json compiled with ajv, as a consumer of the documents would. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { ROOT } from './cli.js';

export function resultsValidator(): (doc: unknown) => string | null {
  const schema = JSON.parse(readFileSync(join(ROOT, 'configs', 'results.schema.json'), 'utf8')) as Record<string, unknown>;
  const validate = new Ajv2020({ allErrors: true, strict: true, allowUnionTypes: true }).compile(schema);
  return (doc) => (validate(doc) ? null : JSON.stringify(validate.errors));
}
