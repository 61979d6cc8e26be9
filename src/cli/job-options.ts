/**
 * A validated job file as run options, with the command line on top: an option given as a
 * flag replaces the file's, and a vLLM flag given on the command line replaces the file's
 * occurrence of that flag. Pure.
 */
import type { ArgValue, ArgWords, IntegerList, JobFile } from '../config/job-types.js';
import { AutotuneError } from '../errors.js';
import { constraintParts, defaultDirection, fullMetricName, objectiveFor, shorthandOf, type Constraint, type Objective } from '../tuner/objective.js';
import { DEFAULT_POLICY } from '../tuner/types.js';
import { SWEEP_CSV, SWEEP_OBJECTIVE } from './sweep-defaults.js';
import { caseFromJob, caseKey } from '../tuner/serve-cases.js';
import { checkBudget, checkRunner, defaultRunOptions, parseCsvName, type RunFlags, type RunOptions, type Workload } from './args.js';
import type { SlurmOptions } from '../runners/slurm/options.js';
import { engineFromBlock } from './engine-options.js';
import { parseGpuGroups } from './gpu-groups.js';
import { DEFAULT_ENGINE, DEFAULT_OPERATOR_SET, flagGemsOperatorSet, type EngineConfig, type OperatorSet } from '../tuner/spaces/grid.js';

function argWords(key: string, value: ArgValue): string[] {
  const flag = key.startsWith('-') ? key : `--${key}`;
  if (value === true) return [flag];
  if (value === false) return [];
  if (Array.isArray(value)) return [flag, ...value.map(String)];
  if (typeof value === 'object') return [flag, JSON.stringify(value)];
  return [flag, String(value)];
}

/** The file's `args` as command-line words. */
export function jobArgWords(args: ArgWords | undefined): string[] {
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
    const parsed = constraintParts(c);
    // The loader has checked every constraint string; reaching this is a bug, not a user error.
    if (parsed === null) throw new Error(`unchecked constraint ${JSON.stringify(c)}`);
    return parsed;
  });
  return { metric, direction: o.direction ?? defaultDirection(metric), constraints };
}

/** A serving study's keys as run options: cases and SLOs as the command line spells them. */
function serveJobOptions(job: JobFile): Partial<RunOptions> {
  const serve = job.serve ?? {};
  const out: Record<string, unknown> = {};
  const cases = serve.cases;
  if (cases !== undefined) out['cases'] = typeof cases === 'string' ? cases : cases.map((c, i) => caseKey(caseFromJob(c, i))).join(',');
  if (serve.slo !== undefined) out['slo'] = typeof serve.slo === 'string' ? serve.slo : serve.slo.join(',');
  if (serve.load_generator !== undefined) out['loadGenerator'] = serve.load_generator;
  if (serve.endpoint !== undefined) out['serveEndpoint'] = serve.endpoint;
  if (serve.server_ready_timeout !== undefined) out['serverReadyTimeoutS'] = serve.server_ready_timeout;
  if (serve.request_timeout !== undefined) out['requestTimeoutS'] = serve.request_timeout;
  if (job.bench_args !== undefined) out['benchArgs'] = job.bench_args.map(String);
  return out as Partial<RunOptions>;
}

/** The job's `compare` block: every engine configuration with every operator set; a key left out is the default alone. */
function compareOf(block: NonNullable<JobFile['compare']>): NonNullable<RunOptions['compare']> {
  const engines = Object.entries(block.engines ?? {}).map(([name, args]): EngineConfig => ({ name, args: jobArgWords(args) }));
  const operatorSets = Object.entries(block.operator_sets ?? {}).map(([name, payload]): OperatorSet => {
    // The loader has read every operator-set file into its payload; a path here is a bug.
    if (typeof payload === 'string') throw new Error(`operator set ${name}: ${payload} was not read`);
    return flagGemsOperatorSet(name, payload);
  });
  return {
    engines: engines.length === 0 ? [DEFAULT_ENGINE] : engines,
    operatorSets: operatorSets.length === 0 ? [DEFAULT_OPERATOR_SET] : operatorSets,
  };
}

/** The job file's `slurm` block in the runner's words. */
function slurmSettings(block: NonNullable<JobFile['slurm']>): Partial<SlurmOptions> {
  const out: { -readonly [K in keyof SlurmOptions]?: SlurmOptions[K] } = {};
  if (block.partition !== undefined) out.partition = block.partition;
  if (block.account !== undefined) out.account = block.account;
  if (block.qos !== undefined) out.qos = block.qos;
  if (block.gres !== undefined) out.gres = block.gres;
  if (block.time_limit !== undefined) out.timeLimit = String(block.time_limit);
  if (block.extra_args !== undefined) out.extraArgs = [...block.extra_args];
  if (block.max_jobs !== undefined) out.maxJobs = block.max_jobs;
  return out;
}

/** What the job file sets, as run options. */
export function jobRunOptions(job: JobFile): Partial<RunOptions> {
  const out: Record<string, unknown> = {};
  const set = (key: keyof RunOptions, value: unknown): void => {
    if (value !== undefined) out[key] = value;
  };
  const bench = job.bench ?? 'throughput';
  set('bench', bench);
  if (bench === 'serve') Object.assign(out, serveJobOptions(job));
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
  set('runner', job.runner);
  if (job.slurm !== undefined) set('slurm', slurmSettings(job.slurm));
  set('outputDir', job.output_dir);
  set('db', job.db);
  set('vllmBin', job.vllm_bin);
  set('python', job.python);
  set('gpuGroups', job.gpu_groups === undefined ? undefined : parseGpuGroups(job.gpu_groups, 'gpu_groups'));
  set('csvName', job.csv_path === undefined ? undefined : parseCsvName(job.csv_path, 'csv_path'));
  if (job.engine !== undefined) set('engine', engineFromBlock(job.engine));
  if (job.env !== undefined) set('env', Object.fromEntries(Object.entries(job.env).map(([k, v]) => [k, String(v)])));
  if (job.compare !== undefined) set('compare', compareOf(job.compare));
  if (job.mfu !== undefined) set('mfu', { modelConfig: job.mfu.model_config ?? null, gpu: job.mfu.gpu ?? null, peakTflops: job.mfu.peak_tflops ?? null });
  return out as Partial<RunOptions>;
}

/** Tuning options a latency grid has no use for: it measures every point and decides nothing. */
const TUNING_ONLY: ReadonlyArray<[keyof RunOptions, string]> = [
  ['policy', '--policy'],
  ['ops', '--ops'],
  ['minGain', '--min-gain'],
  ['budget', '--budget'],
  ['seed', '--autotune-seed'],
];

/** A latency study's own defaults: one invocation per point, the mean latency minimised, its table as sweep.csv. */
function latencyDefaults(config: string, explicit: Partial<RunOptions>): Partial<RunOptions> {
  const unused = TUNING_ONLY.find(([key]) => explicit[key] !== undefined);
  if (unused !== undefined) throw new AutotuneError('E_USAGE', `\`${unused[1]}\` does not apply to ${config}: a latency study measures every point of its grid`);
  return { numRuns: 1, objective: objectiveFor(SWEEP_OBJECTIVE), csvName: SWEEP_CSV };
}

/** Defaults, then the job file, then the command line. */
export function resolveRunOptions(flags: RunFlags, job: JobFile, config: string): RunOptions {
  const fromJob = jobRunOptions(job);
  const explicit = flags.explicit;
  const byBench = fromJob.bench === 'latency' ? latencyDefaults(config, explicit) : {};
  const base = { ...defaultRunOptions(), ...byBench, ...fromJob, ...explicit, config };
  // `--autotune-metric` replaces the file's objective metric but keeps its constraints.
  const objective: Objective =
    explicit.objective !== undefined ? { ...explicit.objective, constraints: fromJob.objective?.constraints ?? [] } : base.objective;
  const passthrough = mergeArgWords(fromJob.passthrough ?? [], flags.passthrough);
  if (passthrough.length === 0) {
    throw new AutotuneError('E_USAGE', `${config} has no benchmark arguments; add \`args\` (e.g. \`args: {model: /models/X}\`)`);
  }
  const options: RunOptions = { ...base, objective, passthrough, slurm: { ...fromJob.slurm, ...explicit.slurm } };
  checkBudget(options);
  checkRunner(options);
  return options;
}
