/**
 * Splits a tuning command line into autotune's own options and the `vllm bench throughput`
 * arguments, which are passed on verbatim and in order. Pure.
 *
 * autotune's options never shadow one of vLLM's (configs/vllm-args/, test/cli/vllm-args.test.ts):
 * besides the reference tool's four (`--ops`, `--num-runs`, `--csv-path`, `--background`),
 * those that collided are named `--autotune-*`.
 */
import { AutotuneError } from '../errors.js';
import { parseBoolWord } from './bool-words.js';
import { ARTIFACTS } from '../store/artifacts.js';
import { CONFIGS_DIR, RAW_DIR } from '../store/run-dir.js';
import { minimumBudget } from '../tuner/policies/minimum-budget.js';
import { metricObjective, type Objective } from '../tuner/objective.js';
import { isValidName } from '../tuner/spaces/operators.js';
import { DEFAULT_POLICY, type Backend, type Metric, type PolicyName } from '../tuner/types.js';
import { DEFAULT_REQUEST_TIMEOUT_S, GOODPUT, MAX_CONCURRENCY_UNDER_SLO } from '../tuner/serve-study.js';

/** `vllm serve`'s usual wait for readiness (src/runners/benchmarks/serve/server.ts uses the same). */
export const DEFAULT_SERVER_READY_TIMEOUT_S = 600;
import { RUNNER_NAMES, type RunnerName } from '../runners/names.js';
import type { SlurmOptions } from '../runners/slurm/options.js';
import type { FailureClass, SearchMode } from '../tuner/spaces/engine.js';
import type { EngineConfig, OperatorSet } from '../tuner/spaces/grid.js';
import { engineRequestOf, parseRetryFailures, type EngineRequest } from './engine-options.js';
import { parseGpuGroups } from './gpu-groups.js';
import { editDistance, normalizedOption } from './option-names.js';
import { POINTER_FILE } from './session-files.js';

export type BenchKind = 'throughput' | 'latency' | 'serve';

/** Workload points still to be expanded by the study (every combination of the lists). */
export interface Workload {
  readonly batchSizes: readonly number[];
  readonly inputLens: readonly number[];
  readonly outputLens: readonly number[];
  readonly numPrompts: readonly number[];
}

export interface RunOptions {
  readonly passthrough: string[];
  readonly ops: string[] | null;
  readonly numRuns: number;
  readonly csvName: string;
  readonly background: boolean;
  readonly timeoutSec: number;
  readonly vllmBin: string;
  readonly policy: PolicyName;
  readonly metric: Metric;
  readonly minGain: number;
  readonly budget: number | null;
  readonly seed: number | null;
  readonly db: string | null;
  readonly outputDir: string;
  readonly quiet: boolean;
  readonly bench: BenchKind;
  /** Null when the benchmark arguments alone say what is measured. */
  readonly workload: Workload | null;
  /** What is optimised; `--autotune-metric` is its shorthand. */
  readonly objective: Objective;
  /** Backends the search may use; null for every backend an operator has. */
  readonly backends: readonly Backend[] | null;
  /** Environment variables added to every run (from a job file). */
  readonly env: Readonly<Record<string, string>>;
  /** A job file (`--autotune-config`). */
  readonly config: string | null;
  readonly dryRun: boolean;
  /** Per-run minutes for the dry-run's GPU-hour estimate. */
  readonly runMinutes: number | null;
  /** Interpreter of the plugin probe (operator discovery). */
  readonly python: string;
  /** Live progress display on a terminal; false prints one plain line per event. */
  readonly progress: boolean;
  /** What a latency grid's MFU needs (a job file's `mfu`); all null: no MFU unless the model directory has a config.json and a peak is known. */
  readonly mfu: { readonly modelConfig: string | null; readonly gpu: string | null; readonly peakTflops: number | null };
  /** Serving sessions (`--bench serve`): the case matrix as written (`--cases`), null for the core preset. */
  readonly cases: string | null;
  /** `--slo ttft_p99_ms<=2000,tpot_mean_ms<=50`; null for none. */
  readonly slo: string | null;
  readonly serverReadyTimeoutS: number;
  readonly loadGenerator: 'builtin' | 'vllm';
  readonly serveEndpoint: 'completions' | 'chat';
  readonly requestTimeoutS: number;
  /** The words after `--bench-args`: `vllm bench serve`'s own arguments. */
  readonly benchArgs: string[];
  /** Where benchmarks run (`--autotune-runner`: vLLM has a `--runner`). */
  readonly runner: RunnerName;
  /** The SLURM settings given (job file, then --slurm-* flags); the rest are SLURM's defaults. */
  readonly slurm: Partial<SlurmOptions>;
  /** An engine study's tiers from a job file's `engine` block or a sweep file; null for none. */
  readonly engine: EngineRequest | null;
  /** `--autotune-axis [TIER:]NAME=V1,V2`, repeatable, in order. */
  readonly engineAxes: readonly string[];
  /** `--autotune-search`; null: the study's default. */
  readonly engineSearch: SearchMode | null;
  /** `--retry-failures`; null: the job file's, else none. */
  readonly retryFailures: readonly FailureClass[] | null;
  /** One trial slot per group (a CUDA_VISIBLE_DEVICES value each); null: one slot, devices as inherited. */
  readonly gpuGroups: readonly string[] | null;
  /** A latency study's configurations side by side (a job file's `compare`); null: the arguments and environment as they are. */
  readonly compare: { readonly engines: readonly EngineConfig[]; readonly operatorSets: readonly OperatorSet[] } | null;
}

/** What tells vLLM's options apart from the rest (src/cli/vllm-args.ts). */
export interface VllmOptionCheck {
  readonly command: string;
  accepts(token: string): boolean;
}

export const DEFAULT_TIMEOUT_SEC = 7200;

/** Options renamed because vLLM has one of that name (or one it abbreviates): the old name now goes to vLLM. */
export const RENAMED: Readonly<Record<string, string>> = {
  '--seed': '--autotune-seed',
  '--metric': '--autotune-metric',
  '--db': '--autotune-db',
};

type Parser = (value: string, flag: string) => Partial<Record<keyof RunOptions, unknown>>;

const usage = (message: string): AutotuneError => new AutotuneError('E_USAGE', message);

function integer(value: string, flag: string, min: number): number {
  const n = Number(value);
  if (!/^\s*-?\d+\s*$/.test(value) || !Number.isSafeInteger(n) || n < min) {
    throw usage(`Expected \`${flag}\` to be an integer >= ${min}, got \`${value}\``);
  }
  return n;
}

function positiveNumber(value: string, flag: string): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n) || n <= 0) {
    throw usage(`Expected \`${flag}\` to be a number > 0, got \`${value}\``);
  }
  return n;
}

function oneOf<T extends string>(value: string, flag: string, allowed: readonly T[]): T {
  const found = allowed.find((a) => a === value);
  if (found === undefined) {
    throw usage(`Expected \`${flag}\` to be one of ${allowed.join(', ')}, got \`${value}\``);
  }
  return found;
}

function nonEmpty(value: string, flag: string): string {
  if (value.trim() === '') throw usage(`Expected \`${flag}\` to have a value, got an empty string`);
  return value;
}

function path(value: string, flag: string): string {
  if (value.trim() === '') throw usage(`Expected \`${flag}\` to be a path, got an empty string`);
  return value;
}

function parseOps(value: string, flag: string): string[] {
  const ops = value.split(',').map((s) => s.trim()).filter((s) => s !== '');
  if (ops.length === 0) {
    throw usage(`\`${flag}\` names no operator (got \`${value}\`); leave it out to discover the operators, or name them: \`${flag} rms_norm,silu_and_mul\``);
  }
  const bad = ops.find((op) => !isValidName(op));
  if (bad !== undefined) {
    throw usage(`\`${flag}\`: \`${bad}\` is not an operator name (letters, digits, \`_\` and \`.\`, not starting with a digit or \`.\`)`);
  }
  return [...new Set(ops)];
}

/** File names a session owns in its run directory; the history CSV may take none of them. */
const RESERVED_NAMES: readonly string[] = [
  ...Object.values(ARTIFACTS).filter((name) => name !== ARTIFACTS.history),
  POINTER_FILE,
  CONFIGS_DIR,
  RAW_DIR,
];
/** Run logs are `NNNN_<prefix>_...`; a CSV of that shape could replace one. */
const RUN_FILE = /^\d{4,}_/;
const CSV_NAME = /^[A-Za-z0-9_][A-Za-z0-9_.-]*$/;

export function parseCsvName(value: string, flag: string): string {
  const base = value.split(/[\\/]/).pop() ?? '';
  if (!CSV_NAME.test(base)) {
    throw usage(`Expected \`${flag}\` to name a file (letters, digits, \`_\`, \`.\` and \`-\`, not starting with \`.\`), got \`${value}\``);
  }
  if (RESERVED_NAMES.some((name) => name.toLowerCase() === base.toLowerCase()) || RUN_FILE.test(base)) {
    throw usage(`\`${flag} ${value}\` would overwrite the session's own \`${base}\`; choose another name, e.g. history.csv`);
  }
  return base;
}

const SLURM_FLAGS: Readonly<Record<string, (value: string, flag: string) => Partial<SlurmOptions>>> = {
  '--slurm-partition': (v, f) => ({ partition: word(v, f) }),
  '--slurm-account': (v, f) => ({ account: word(v, f) }),
  '--slurm-qos': (v, f) => ({ qos: word(v, f) }),
  '--slurm-gres': (v, f) => ({ gres: word(v, f) }),
  '--slurm-time-limit': (v, f) => ({ timeLimit: word(v, f) }),
  // Split at white space, never through a shell; a word with a space needs the job file's list.
  '--slurm-args': (v) => ({ extraArgs: v.split(/\s+/).filter((w) => w !== '') }),
  '--slurm-max-jobs': (v, f) => ({ maxJobs: integer(v, f, 1) }),
};

const VALUE_FLAGS: Readonly<Record<string, Parser>> = {
  '--ops': (v, f) => ({ ops: parseOps(v, f) }),
  '--num-runs': (v, f) => ({ numRuns: integer(v, f, 1) }),
  '--csv-path': (v, f) => ({ csvName: parseCsvName(v, f) }),
  '--background': (v, f) => ({ background: parseBoolWord(v, f) }),
  '--timeout': (v, f) => ({ timeoutSec: positiveNumber(v, f) }),
  '--vllm-bin': (v, f) => ({ vllmBin: path(v, f) }),
  '--policy': (v, f) => ({ policy: oneOf(v, f, ['noise-aware', 'screening', 'reference'] as const) }),
  '--autotune-metric': (v, f) => {
    const name = oneOf(v, f, ['total', 'output', 'requests', 'goodput', 'max-concurrency'] as const);
    // Serving objectives (src/tuner/serve-study.ts); `metric` keeps the nearest throughput shorthand.
    if (name === 'goodput') return { metric: 'requests', objective: { metric: GOODPUT, direction: 'maximize', constraints: [] } };
    if (name === 'max-concurrency') return { metric: 'requests', objective: { metric: MAX_CONCURRENCY_UNDER_SLO, direction: 'maximize', constraints: [] } };
    return { metric: name, objective: metricObjective(name) };
  },
  '--min-gain': (v, f) => {
    const n = Number(v);
    if (v.trim() === '' || !Number.isFinite(n) || n < 0 || n >= 1) {
      throw usage(`Expected \`${f}\` to be a fraction in [0, 1) such as 0.005, got \`${v}\``);
    }
    return { minGain: n };
  },
  '--budget': (v, f) => ({ budget: integer(v, f, 1) }),
  '--autotune-seed': (v, f) => ({ seed: integer(v, f, 0) }),
  '--autotune-db': (v, f) => ({ db: path(v, f) }),
  '--output-dir': (v, f) => ({ outputDir: path(v, f) }),
  '--autotune-config': (v, f) => ({ config: path(v, f) }),
  '--run-minutes': (v, f) => ({ runMinutes: positiveNumber(v, f) }),
  '--python': (v, f) => ({ python: path(v, f) }),
  '--bench': (v, f) => ({ bench: oneOf(v, f, ['throughput', 'latency', 'serve'] as const) }),
  '--cases': (v, f) => ({ cases: nonEmpty(v, f) }),
  '--slo': (v, f) => ({ slo: nonEmpty(v, f) }),
  '--server-ready-timeout': (v, f) => ({ serverReadyTimeoutS: positiveNumber(v, f) }),
  '--load-generator': (v, f) => ({ loadGenerator: oneOf(v, f, ['builtin', 'vllm'] as const) }),
  '--autotune-endpoint': (v, f) => ({ serveEndpoint: oneOf(v, f, ['completions', 'chat'] as const) }),
  '--request-timeout': (v, f) => ({ requestTimeoutS: positiveNumber(v, f) }),
  '--autotune-runner': (v, f) => ({ runner: oneOf(v, f, RUNNER_NAMES) }),
  ...Object.fromEntries(Object.entries(SLURM_FLAGS).map(([flag, parse]): [string, Parser] => [flag, (v, f) => ({ slurm: parse(v, f) })])),
  '--autotune-axis': (v) => ({ engineAxes: [v] }),
  '--autotune-search': (v, f) => ({ engineSearch: oneOf(v, f, ['coordinate', 'grid'] as const) }),
  '--retry-failures': (v, f) => ({ retryFailures: parseRetryFailures(v, f) }),
  '--gpu-groups': (v, f) => ({ gpuGroups: parseGpuGroups(v, f) }),
};

/** Options that may be given more than once; their values add up. */
const REPEATABLE: ReadonlySet<string> = new Set(['engineAxes']);

/** The rest of the command line goes to `vllm bench serve` (a serving session's load generator). */
export const BENCH_ARGS_MARKER = '--bench-args';

/** One sbatch option value: no white space, so that it reads as the user wrote it. */
function word(value: string, flag: string): string {
  if (!/^\S+$/.test(value)) throw usage(`Expected \`${flag}\` to be one word (no spaces), got \`${value}\``);
  return value;
}

/** Where runs execute: `--autotune-runner` and the --slurm-* settings, which the sweep verb takes as the tuning command does. */
export const RUNNER_FLAGS: readonly string[] = ['--autotune-runner', ...Object.keys(SLURM_FLAGS)];

export interface RunnerChoice {
  readonly runner: RunnerName;
  readonly slurm: Partial<SlurmOptions>;
}

/** Adds one of RUNNER_FLAGS to a choice, with the tuning command's parsing and messages. */
export function withRunnerFlag(choice: RunnerChoice, flag: string, value: string): RunnerChoice {
  if (flag === '--autotune-runner') return { ...choice, runner: oneOf(value, flag, RUNNER_NAMES) };
  const parse = SLURM_FLAGS[flag];
  if (parse === undefined) throw new Error(`not a runner flag: ${flag}`);
  return { ...choice, slurm: { ...choice.slurm, ...parse(value, flag) } };
}

/** The --slurm-* settings only mean something to the SLURM runner: refused elsewhere rather than ignored. */
export function checkRunner(o: RunnerChoice): void {
  const given = Object.keys(o.slurm);
  if (o.runner !== 'slurm' && given.length > 0) {
    throw usage(`SLURM settings (${given.join(', ')}) need \`--autotune-runner slurm\` (job file: \`runner: slurm\`)`);
  }
}

/** Later flags win; repeatable options and the SLURM settings of several flags add up. */
function assignFlag(parsed: Record<string, unknown>, value: Partial<Record<keyof RunOptions, unknown>>): void {
  for (const [key, v] of Object.entries(value)) {
    const before = parsed[key];
    if (key === 'slurm') parsed[key] = { ...(before as object | undefined), ...(v as object) };
    else parsed[key] = REPEATABLE.has(key) && Array.isArray(before) && Array.isArray(v) ? [...(before as unknown[]), ...(v as unknown[])] : v;
  }
}

const SWITCHES: Readonly<Record<string, Partial<Record<keyof RunOptions, unknown>>>> = {
  '--quiet': { quiet: true },
  '--dry-run': { dryRun: true },
  '--no-progress': { progress: false },
};

/** Every option the tuning command takes; none may be, or abbreviate, a vLLM option. */
export const RUN_FLAGS: readonly string[] = [...Object.keys(VALUE_FLAGS), ...Object.keys(SWITCHES), BENCH_ARGS_MARKER];

export function defaultRunOptions(): RunOptions {
  return {
    passthrough: [],
    ops: null,
    numRuns: 2,
    csvName: 'history.csv',
    background: false,
    timeoutSec: DEFAULT_TIMEOUT_SEC,
    vllmBin: 'vllm',
    policy: DEFAULT_POLICY,
    metric: 'total',
    minGain: 0.005,
    budget: null,
    seed: null,
    db: null,
    outputDir: 'autotune_logs',
    quiet: false,
    bench: 'throughput',
    workload: null,
    objective: metricObjective('total'),
    backends: null,
    env: {},
    config: null,
    dryRun: false,
    runMinutes: null,
    python: 'python3',
    progress: true,
    mfu: { modelConfig: null, gpu: null, peakTflops: null },
    cases: null,
    slo: null,
    serverReadyTimeoutS: DEFAULT_SERVER_READY_TIMEOUT_S,
    loadGenerator: 'builtin',
    serveEndpoint: 'completions',
    requestTimeoutS: DEFAULT_REQUEST_TIMEOUT_S,
    benchArgs: [],
    runner: 'local',
    slurm: {},
    engine: null,
    engineAxes: [],
    engineSearch: null,
    retryFailures: null,
    gpuGroups: null,
    compare: null,
  };
}

export interface RunFlags {
  /** Only the options given on the command line. */
  readonly explicit: Partial<RunOptions>;
  readonly passthrough: string[];
}

/** The closest of autotune's options to `name`, if it is close enough to be a typo of it. */
function nearestOwnFlag(name: string): string | null {
  let best: { flag: string; d: number } | null = null;
  for (const flag of RUN_FLAGS) {
    const d = editDistance(name, flag);
    if (best === null || d < best.d) best = { flag, d };
  }
  if (best === null) return null;
  const word = name.replace(/^--/, '');
  return best.d <= (word.length <= 4 ? 1 : 2) || name.startsWith('--autotune-') ? best.flag : null;
}

/**
 * An option vLLM does not take either is refused when it is autotune's old name for one of
 * its own, or a near miss of one (`--polciy`): it would otherwise reach vLLM, which fails every
 * run on it, or worse, tune with a default the user did not want.
 */
function checkUnknown(token: string, vllm: VllmOptionCheck): void {
  if (!token.startsWith('--') || token.length <= 2 || vllm.accepts(token)) return;
  const name = normalizedOption(token);
  const renamed = RENAMED[name];
  if (renamed !== undefined) {
    throw usage(`\`${name}\` is not a \`${vllm.command}\` option; autotune's is now \`${renamed}\``);
  }
  const nearest = nearestOwnFlag(name);
  if (nearest !== null) {
    throw usage(`unknown option \`${name}\`: did you mean \`${nearest}\`? (\`${vllm.command}\` has no such option either; put it after \`--\` to pass it to vLLM anyway)`);
  }
}

/**
 * `--flag value` and `--flag=value` are autotune's when the flag is; everything else, and
 * everything after a literal `--`, goes to vLLM untouched. With `vllm`, an option that neither
 * autotune nor vLLM takes and that is close to one of autotune's is a usage error.
 */
export function parseRunFlags(argv: readonly string[], vllm: VllmOptionCheck | null = null): RunFlags {
  const parsed: Record<string, unknown> = {};
  const passthrough: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    if (arg === BENCH_ARGS_MARKER) {
      parsed['benchArgs'] = argv.slice(i + 1);
      break;
    }
    if (arg === '--') {
      const rest = argv.slice(i + 1);
      const marker = rest.indexOf(BENCH_ARGS_MARKER);
      passthrough.push(...(marker === -1 ? rest : rest.slice(0, marker)));
      if (marker !== -1) parsed['benchArgs'] = rest.slice(marker + 1);
      break;
    }
    const eq = arg.indexOf('=');
    const name = arg.startsWith('--') && eq > 0 ? arg.slice(0, eq) : arg;
    const sw = SWITCHES[name];
    if (sw !== undefined && name === arg) {
      Object.assign(parsed, sw);
      continue;
    }
    const parser = VALUE_FLAGS[name];
    if (parser === undefined) {
      if (vllm !== null) checkUnknown(arg, vllm);
      passthrough.push(arg);
      continue;
    }
    let value: string;
    const next = argv[i + 1];
    if (name !== arg) {
      value = arg.slice(eq + 1);
    } else if (name === '--background' && (next === undefined || next.startsWith('-'))) {
      // A bare `--background` means true; what follows (`-tp 2`) is never taken as its value.
      value = 'true';
    } else {
      if (next === undefined) throw usage(`\`${name}\` needs a value`);
      value = next;
      i += 1;
    }
    assignFlag(parsed, parser(value, name));
  }
  return { explicit: parsed as Partial<RunOptions>, passthrough };
}

/** A run from the command line alone. */
export function parseRunArgs(argv: readonly string[], vllm: VllmOptionCheck | null = null): RunOptions {
  const { explicit, passthrough } = parseRunFlags(argv, vllm);
  if (passthrough.length === 0) {
    throw usage(
      'no `vllm bench throughput` arguments given; pass them after the autotune options, e.g. `autotune --model /models/X --dataset-name random --input-len 512 --output-len 128`',
    );
  }
  const options: RunOptions = { ...defaultRunOptions(), ...explicit, passthrough };
  checkBudget(options);
  checkRunner(options);
  return options;
}

/** The budget is a hard limit: one below what the policy's fixed rounds need is refused up front. */
export function checkBudget(o: RunOptions): void {
  if (o.budget === null) return;
  const min = minimumBudget(engineRequestOf(o) === null ? o.policy : 'tiers', o.numRuns);
  if (o.budget < min.invocations) {
    throw usage(`\`--budget ${o.budget}\` is below the ${min.invocations} invocations the ${o.policy} policy needs at least (${min.why})`);
  }
}
