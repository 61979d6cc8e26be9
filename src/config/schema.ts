/**
 * configs/job.schema.json, compiled once: the job file format and, under
 * `$defs/sessionOptions`, the options stored with every session. ajv is loaded only by
 * commands that read one of those, so `--help` and the management verbs stay fast.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { ErrorObject, ValidateFunction } from 'ajv';
import type { JobFile } from './job-types.js';

/** Annotation keyword: how to describe what a `pattern` accepts. */
export const HINT_KEYWORD = 'x-hint';

const SCHEMA_URL = new URL('../../../configs/job.schema.json', import.meta.url);
const SCHEMA_ID = 'https://autotune.local/job.schema.json';
const requireLazily = createRequire(import.meta.url);

interface Compiled {
  readonly job: ValidateFunction<JobFile>;
  readonly sessionOptions: ValidateFunction;
}

let compiled: Compiled | null = null;

function compile(): Compiled {
  if (compiled !== null) return compiled;
  const { Ajv2020 } = requireLazily('ajv/dist/2020.js') as typeof import('ajv/dist/2020.js');
  const schema = JSON.parse(readFileSync(SCHEMA_URL, 'utf8')) as Record<string, unknown>;
  const ajv = new Ajv2020({ allErrors: true, strict: true, allowUnionTypes: true, verbose: true });
  ajv.addKeyword({ keyword: HINT_KEYWORD, schemaType: 'string' });
  const job = ajv.compile<JobFile>(schema);
  const sessionOptions = ajv.getSchema(`${SCHEMA_ID}#/$defs/sessionOptions`);
  if (sessionOptions === undefined) throw new Error(`${SCHEMA_URL.pathname} has no $defs/sessionOptions`);
  compiled = { job, sessionOptions };
  return compiled;
}

export function jobValidator(): ValidateFunction<JobFile> {
  return compile().job;
}

export function sessionOptionsValidator(): ValidateFunction {
  return compile().sessionOptions;
}

export type SchemaError = ErrorObject;
