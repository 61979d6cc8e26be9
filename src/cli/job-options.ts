/**
 * A validated job file as run options, with the command line on top: an option given as a
 * flag replaces the file's, and a vLLM flag given on the command line replaces the file's
 * occurrence of that flag. Pure.
 */
import type { ArgValue, IntegerList, JobFile } from '../config/job-types.js';
import { defaultDirection, fullMetricName, METRIC_SHORTHANDS, parseConstraint, type Constraint, type Objective } from '../config/objective.js';
import { AutotuneError } from '../errors.js';
import { DEFAULT_POLICY, type Metric } from '../tuner/types.js';
import { parseGpuGroups } from './gpu-groups.js';
import { checkBudget, defaultRunOptions, parseCsvName, type RunFlags, type RunOptions, type Workload } from './args.js';

function argWords(key: string, value: ArgValue): string[] {
  const flag = key.startsWith('-') ? key : `--${key}`;
  if (value === true) return [flag];
  if (value === false) return [];
  if (Array.isArray(value)) return [flag, ...value.map(String)];
  if (typeof value === 'object') return [flag, JSON.stringify(value)];
  return [flag, String(value)];
}

/** The file's `args` as command-line words. */
export function jobArgWords(args: JobFile['args']): string[] {
  if (args === undefined) return [];
  if (Array.isArray(args)) return args.map(String);
  return Object.entries(args as Readonly<Record<string, ArgValue>>).flatMap(([k, v]) => argWords(k, v));
}

/** `--flag` or `--flag=value` -> `flag` with `_` as `-` (vLLM accepts both spellings); null for a value. */
function flagName(word: string): string | null {
  if (!word.startsWith('--') || word === '--') return null;
  const eq = word.indexOf('=');
  return (eq > 0 ? word.slice(2, eq) : word.slice(2)).replace(/_/g, '-');
}

/** The file's words without the flags (and their values) that the command line gives again. */
export function mergeArgWords(fileWords: readonly string[], cliWords: readonly string[]): string[] {
  const overridden = new Set(cliWords.map(flagName).filter((n): n is string => n !== null));
  const kept: string[] = [];
  let dropping = false;
  for (const word of fileWords) {
    const name = flagName(word);
    if (name !== null) dropping = overridden.has(name);
    if (!dropping) kept.push(word);
  }
  return [...kept, ...cliWords];
}

const list = (v: IntegerList | undefined): number[] => (v === undefined ? [] : typeof v === 'number' ? [v] : [...v]);

function workloadOf(job: JobFile): Workload | null {
  if (job.workload === undefined) return null;
  return {
    batchSizes: list(job.workload.batch_sizes),
    inputLens: list(job.workload.input_lens),
    outputLens: list(job.workload.output_lens),
    numPrompts: list(job.workload.num_prompts),
  };
}

/** A throughput workload of one point is plain benchmark arguments; a matrix stays a workload. */
function singlePointWords(w: Workload): string[] | null {
  if (w.batchSizes.length > 0 || w.inputLens.length > 1 || w.outputLens.length > 1 || w.numPrompts.length > 1) return null;
  return [
    ...w.inputLens.flatMap((n) => ['--input-len', String(n)]),
    ...w.outputLens.flatMap((n) => ['--output-len', String(n)]),
    ...w.numPrompts.flatMap((n) => ['--num-prompts', String(n)]),
  ];
}

function objectiveOf(job: JobFile): Objective | null {
  const o = job.objective;
  if (o === undefined) return null;
  const metric = fullMetricName(o.metric ?? 'total');
  const constraints = (o.constraints ?? []).map((c): Constraint => {
    if (typeof c !== 'string') return { metric: fullMetricName(c.metric), op: c.op, value: c.value };
    const parsed = parseConstraint(c);
    // The loader has checked every constraint string; reaching this is a bug, not a user error.
    if (parsed === null) throw new Error(`unchecked constraint ${JSON.stringify(c)}`);
    return parsed;
  });
  return { metric, direction: o.direction ?? defaultDirection(metric), constraints };
}

/** The `--autotune-metric` an objective can be written as, when it is one of today's throughput maxima. */
export function shorthandOf(o: Objective): Metric | null {
  if (o.direction !== 'maximize') return null;
  const entry = Object.entries(METRIC_SHORTHANDS).find(([, full]) => full === o.metric);
  return entry === undefined ? null : (entry[0] as Metric);
}

/** What the job file sets, as run options. */
export function jobRunOptions(job: JobFile): Partial<RunOptions> {
  const out: Record<string, unknown> = {};
  const set = (key: keyof RunOptions, value: unknown): void => {
    if (value !== undefined) out[key] = value;
  };
  const bench = job.bench ?? 'throughput';
  if (bench === 'serve') throw new AutotuneError('E_NOT_SUPPORTED', 'bench: serve is reserved for a later release');
  set('bench', bench);
  let words = jobArgWords(job.args);
  const workload = workloadOf(job);
  const single = bench === 'throughput' && workload !== null ? singlePointWords(workload) : null;
  if (single !== null) words = [...words, ...single];
  else set('workload', workload ?? undefined);
  set('passthrough', words);
  set('ops', job.search?.ops === undefined ? undefined : [...job.search.ops]);
  set('backends', job.search?.backends === undefined ? undefined : [...job.search.backends]);
  const objective = objectiveOf(job);
  if (objective !== null) {
    set('objective', objective);
    set('metric', shorthandOf(objective) ?? undefined);
  }
  set('numRuns', job.num_runs);
  const policy = typeof job.policy === 'string' ? { name: job.policy } : job.policy;
  if (policy !== undefined) {
    set('policy', policy.name ?? DEFAULT_POLICY);
    set('minGain', policy.min_gain);
    set('budget', policy.budget);
    set('seed', policy.seed);
  }
  set('timeoutSec', job.timeout);
  set('outputDir', job.output_dir);
  set('db', job.db);
  set('vllmBin', job.vllm_bin);
  set('python', job.python);
  set('gpuGroups', job.gpu_groups === undefined ? undefined : parseGpuGroups(job.gpu_groups, 'gpu_groups'));
  set('csvName', job.csv_path === undefined ? undefined : parseCsvName(job.csv_path, 'csv_path'));
  if (job.env !== undefined) set('env', Object.fromEntries(Object.entries(job.env).map(([k, v]) => [k, String(v)])));
  return out as Partial<RunOptions>;
}

/** Defaults, then the job file, then the command line. */
export function resolveRunOptions(flags: RunFlags, job: JobFile, config: string): RunOptions {
  const fromJob = jobRunOptions(job);
  const explicit = flags.explicit;
  const base = { ...defaultRunOptions(), ...fromJob, ...explicit, config };
  // `--autotune-metric` replaces the file's objective metric but keeps its constraints.
  const objective: Objective =
    explicit.objective !== undefined ? { ...explicit.objective, constraints: fromJob.objective?.constraints ?? [] } : base.objective;
  const passthrough = mergeArgWords(fromJob.passthrough ?? [], flags.passthrough);
  if (passthrough.length === 0) {
    throw new AutotuneError('E_USAGE', `${config} has no benchmark arguments; add \`args\` (e.g. \`args: {model: /models/X}\`)`);
  }
  const options: RunOptions = { ...base, objective, passthrough };
  checkBudget(options);
  return options;
}
