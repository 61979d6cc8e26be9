/**
 * Reads a job file: YAML with source lines, validated against configs/job.schema.json and
 * the rules a schema cannot say. Every problem is reported at once, as
 * `file:line path: message`, sorted by line.
 */
import { readFileSync } from 'node:fs';
import { AutotuneError } from '../errors.js';
import { didYouMean } from './did-you-mean.js';
import { readReason } from './file-reason.js';
import { readOperatorSetFile, type OperatorSetReader } from './operator-set-file.js';
import { JOB_VERSION, type ArgWords, type JobFile } from './job-types.js';
import { isMetricName, METRICS } from '../tuner/metrics.js';
import { constraintParts, fullMetricName } from '../tuner/objective.js';
import { HINT_KEYWORD, jobValidator, type SchemaError } from './schema.js';
import { parseYamlSource, type PathSegment, type YamlSource } from './yaml-source.js';

export interface Problem {
  readonly line: number | null;
  readonly path: readonly PathSegment[];
  readonly message: string;
}

/**
 * Judges one benchmark flag from `args` (`--tensor-parallel-size`, `-tp`) for a benchmark
 * kind: a problem message, or null when the flag may reach vLLM.
 */
export type ArgCheck = (flag: string, bench: 'throughput' | 'latency') => string | null;

export type JobCheck = { readonly ok: true; readonly job: JobFile } | { readonly ok: false; readonly problems: readonly Problem[] };

export function formatPath(path: readonly PathSegment[]): string {
  return path.map((s, i) => (typeof s === 'number' ? `[${s}]` : i === 0 ? s : `.${s}`)).join('');
}

export function formatProblem(file: string, p: Problem): string {
  const where = p.line === null ? file : `${file}:${p.line}`;
  return p.path.length === 0 ? `${where}: ${p.message}` : `${where} ${formatPath(p.path)}: ${p.message}`;
}

function segments(pointer: string): PathSegment[] {
  if (pointer === '') return [];
  return pointer
    .slice(1)
    .split('/')
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'))
    .map((s) => (/^\d+$/.test(s) ? Number(s) : s));
}

function show(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping';
  if (typeof value === 'string') return JSON.stringify(value);
  return String(value);
}

const TYPE_WORDS: Record<string, string> = {
  object: 'a mapping',
  array: 'a list',
  string: 'text',
  integer: 'an integer',
  number: 'a number',
  boolean: 'true/false',
  null: 'null',
};

function typeWords(types: unknown): string {
  const list = (Array.isArray(types) ? types : String(types).split(',')).map((t) => TYPE_WORDS[String(t)] ?? String(t));
  return list.length <= 1 ? (list[0] ?? '') : `${list.slice(0, -1).join(', ')} or ${list[list.length - 1] ?? ''}`;
}

function knownKeys(schema: unknown): string[] {
  if (typeof schema !== 'object' || schema === null || !('properties' in schema)) return [];
  const props = (schema as { properties?: unknown }).properties;
  return typeof props === 'object' && props !== null ? Object.keys(props) : [];
}

function hintOf(schema: unknown): string | null {
  if (typeof schema !== 'object' || schema === null || !(HINT_KEYWORD in schema)) return null;
  const hint = (schema as Record<string, unknown>)[HINT_KEYWORD];
  return typeof hint === 'string' ? hint : null;
}

/** One schema error as the user should read it; null for errors another one already explains. */
function describe(e: SchemaError, source: YamlSource): Problem | null {
  const at = segments(e.instancePath);
  const p = e.params as Record<string, unknown>;
  const problem = (path: PathSegment[], message: string, key = false): Problem => ({ line: source.lineOf(path, key), path, message });
  if (e.propertyName !== undefined) {
    const hint = hintOf(e.parentSchema);
    return problem([...at, e.propertyName], `\`${e.propertyName}\` is not a valid name here${hint === null ? '' : `; expected ${hint}`}`, true);
  }
  switch (e.keyword) {
    case 'propertyNames':
      return null;
    case 'additionalProperties': {
      const name = String(p['additionalProperty']);
      const known = knownKeys(e.parentSchema);
      const guess = didYouMean(name, known);
      return problem([...at, name], guess !== null ? `unknown key; did you mean \`${guess}\`?` : `unknown key; expected one of ${known.join(', ')}`, true);
    }
    case 'required': {
      const name = String(p['missingProperty']);
      const message = at.length === 0 && name === 'version' ? `missing; a job file starts with \`version: ${JOB_VERSION}\`` : 'missing (required)';
      return { line: source.lineOf(at, true), path: [...at, name], message };
    }
    case 'type':
      return problem(at, `expected ${typeWords(p['type'])}, got ${show(e.data)}`);
    case 'enum': {
      const allowed = Array.isArray(p['allowedValues']) ? p['allowedValues'].map(String) : [];
      const guess = typeof e.data === 'string' ? didYouMean(e.data, allowed) : null;
      return problem(at, `expected one of ${allowed.join(', ')}, got ${show(e.data)}${guess === null ? '' : `; did you mean \`${guess}\`?`}`);
    }
    case 'minimum':
    case 'maximum':
    case 'exclusiveMinimum':
    case 'exclusiveMaximum':
      return problem(at, `expected a value ${String(p['comparison'])} ${String(p['limit'])}, got ${show(e.data)}`);
    case 'minItems':
      return problem(at, `expected at least ${String(p['limit'])} item${p['limit'] === 1 ? '' : 's'}`);
    case 'minProperties':
      return problem(at, `expected at least ${String(p['limit'])} entr${p['limit'] === 1 ? 'y' : 'ies'}`);
    case 'uniqueItems': {
      const list = Array.isArray(e.data) ? e.data : [];
      return problem(at, `lists ${show(list[Number(p['i'])])} twice`);
    }
    case 'minLength':
      return problem(at, 'must not be empty');
    case 'pattern': {
      const hint = hintOf(e.parentSchema);
      return problem(at, hint !== null ? `expected ${hint}, got ${show(e.data)}` : `${show(e.data)} is not allowed here`);
    }
    default:
      return problem(at, e.message ?? e.keyword);
  }
}

const WORKLOAD_ARGS: Record<string, string> = { batch_sizes: 'batch-size', input_lens: 'input-len', output_lens: 'output-len', num_prompts: 'num-prompts' };

/** The flags of benchmark arguments at `at` (a map or a list of words) that `check` refuses. */
function flagProblems(at: readonly PathSegment[], args: ArgWords | undefined, check: (flag: string) => string | null, source: YamlSource): Problem[] {
  if (args === undefined) return [];
  // Map keys are flags by position; in a list only `--words` are (`-1` may be a value).
  const flags: [PathSegment, string][] = Array.isArray(args)
    ? args.flatMap((w, i): [PathSegment, string][] => (typeof w === 'string' && w.startsWith('--') && w !== '--' ? [[i, w]] : []))
    : Object.keys(args).map((k): [PathSegment, string] => [k, k.startsWith('-') ? k : `--${k}`]);
  return flags.flatMap(([key, flag]): Problem[] => {
    const message = check(flag);
    const path = [...at, key];
    return message === null ? [] : [{ line: source.lineOf(path, !Array.isArray(args)), path, message }];
  });
}

/** What the schema cannot say: reserved values, cross-key rules, the metric inside a constraint string. */
function crossChecks(job: JobFile, source: YamlSource, argCheck: ArgCheck | null): Problem[] {
  const out: Problem[] = [];
  const add = (path: PathSegment[], message: string): void => void out.push({ line: source.lineOf(path), path, message });
  const bench = job.bench ?? 'throughput';
  if (bench !== 'serve' && job.serve !== undefined) add(['serve'], 'only serving studies (bench: serve) take serve options');
  if (bench !== 'serve' && job.bench_args !== undefined) add(['bench_args'], 'only serving studies (bench: serve) take bench_args');
  if (job.slurm !== undefined && job.runner !== 'slurm') add(['slurm'], 'needs `runner: slurm`');
  if (job.search?.ops !== undefined && job.search.discover === true) add(['search', 'discover'], 'cannot be true together with search.ops');
  if (job.search?.ops === undefined && job.search?.discover === false) add(['search', 'discover'], 'false needs search.ops (the operators to tune)');
  if (job.csv_path !== undefined && ['', '.', '..'].includes(job.csv_path.split(/[\\/]/).pop() ?? '')) add(['csv_path'], 'must name a file');
  const workload = job.workload ?? {};
  if (bench === 'throughput' && workload.batch_sizes !== undefined) add(['workload', 'batch_sizes'], 'only latency studies take batch sizes (throughput: num_prompts)');
  if (bench === 'latency' && workload.num_prompts !== undefined) add(['workload', 'num_prompts'], 'only throughput studies take num_prompts (latency: batch_sizes)');
  // A latency study measures every point of its grid with the operators the environment selects.
  if (bench === 'latency' && job.policy !== undefined) add(['policy'], 'a latency study measures every point of its grid; leave `policy` out');
  if (bench === 'latency' && job.search !== undefined) add(['search'], 'a latency study does not search operators; leave `search` out (compare operator sets with `compare.operator_sets`)');
  if (bench !== 'latency' && job.mfu !== undefined) add(['mfu'], 'only latency studies report MFU');
  if (bench !== 'latency' && job.compare !== undefined) add(['compare'], 'only latency studies (bench: latency) compare configurations side by side');
  if (argCheck !== null && bench !== 'serve') {
    out.push(...flagProblems(['args'], job.args, (flag) => argCheck(flag, bench), source));
    for (const [name, words] of Object.entries(job.compare?.engines ?? {})) {
      out.push(...flagProblems(['compare', 'engines', name], words, (flag) => argCheck(flag, bench), source));
    }
  }
  const args = job.args;
  if (args !== undefined && !Array.isArray(args)) {
    for (const key of Object.keys(args)) {
      const flag = key.replace(/^--/, '').replace(/_/g, '-');
      const owner = Object.entries(WORKLOAD_ARGS).find(([k, f]) => f === flag && k in workload);
      if (owner !== undefined) add(['args', key], `also set by workload.${owner[0]}; keep one`);
    }
  }
  (job.objective?.constraints ?? []).forEach((c, i) => {
    const metric = typeof c === 'string' ? constraintParts(c)?.metric : fullMetricName(c.metric);
    if (metric !== undefined && !isMetricName(metric)) {
      const guess = didYouMean(metric, METRICS.map((m) => m.name));
      add(['objective', 'constraints', i], `unknown metric \`${metric}\`${guess === null ? '' : `; did you mean \`${guess}\`?`}`);
    }
  });
  return out;
}

function byLine(a: Problem, b: Problem): number {
  return (a.line ?? 0) - (b.line ?? 0) || formatPath(a.path).localeCompare(formatPath(b.path));
}

/** The job with its operator-set files read into their payloads, and the files that could not be. */
function withOperatorSetFiles(job: JobFile, source: YamlSource, read: OperatorSetReader): { job: JobFile; problems: Problem[] } {
  const sets = job.compare?.operator_sets;
  if (job.compare === undefined || sets === undefined) return { job, problems: [] };
  const problems: Problem[] = [];
  const inlined = Object.fromEntries(
    Object.entries(sets).map(([name, value]) => {
      if (typeof value !== 'string') return [name, value];
      const file = read(value);
      if (file.ok) return [name, file.config];
      const path = ['compare', 'operator_sets', name];
      problems.push({ line: source.lineOf(path), path, message: file.reason });
      return [name, value];
    }),
  );
  return { job: { ...job, compare: { ...job.compare, operator_sets: inlined } }, problems };
}

/**
 * Checks a job file's text. Pure apart from the schema file it compiles once, `argCheck`
 * and `readOperatorSet` (without it, operator-set files are left unread).
 */
export function checkJobText(text: string, argCheck: ArgCheck | null = null, readOperatorSet: OperatorSetReader | null = null): JobCheck {
  const source = parseYamlSource(text);
  const syntax = source.syntaxProblems[0];
  if (syntax !== undefined) {
    // Later syntax errors are mostly the first one seen again from another angle.
    return { ok: false, problems: [{ line: syntax.line, path: [], message: `YAML syntax error: ${syntax.message}` }] };
  }
  const value = source.value;
  if (value === undefined || value === null) {
    return { ok: false, problems: [{ line: 1, path: [], message: `the file is empty; a job file starts with \`version: ${JOB_VERSION}\`` }] };
  }
  const version = typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>)['version'] : undefined;
  if (typeof version === 'number' && Number.isInteger(version) && version > JOB_VERSION) {
    // A newer format may mean anything by its other keys: say only what to do.
    return {
      ok: false,
      problems: [{ line: source.lineOf(['version']), path: ['version'], message: `version ${version} is newer than this autotune reads (${JOB_VERSION}); upgrade autotune` }],
    };
  }
  const validate = jobValidator();
  if (!validate(value)) {
    const seen = new Set<string>();
    const problems: Problem[] = [];
    for (const e of validate.errors ?? []) {
      const p = describe(e, source);
      const key = p === null ? '' : `${formatPath(p.path)}\u0000${p.message}`;
      if (p === null || seen.has(key)) continue;
      seen.add(key);
      problems.push(p);
    }
    return { ok: false, problems: problems.sort(byLine) };
  }
  const files = readOperatorSet === null ? { job: value, problems: [] } : withOperatorSetFiles(value, source, readOperatorSet);
  const problems = [...crossChecks(value, source, argCheck), ...files.problems];
  return problems.length > 0 ? { ok: false, problems: problems.sort(byLine) } : { ok: true, job: files.job };
}

/** The validated job in `file`, its operator-set files read, or an E_CONFIG error with one line per problem. */
export function loadJobFile(file: string, argCheck: ArgCheck | null = null): JobFile {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new AutotuneError('E_CONFIG', `${file}: cannot read the job file (${readReason(error)})`);
  }
  const check = checkJobText(text, argCheck, readOperatorSetFile);
  if (!check.ok) throw new AutotuneError('E_CONFIG', check.problems.map((p) => formatProblem(file, p)).join('\n'));
  return check.job;
}
