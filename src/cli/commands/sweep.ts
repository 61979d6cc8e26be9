/**
 * `autotune sweep latency --batch-sizes 1,8,32 --input-lens 128,1024 --output-lens 128 [vllm args]`,
 * or a job file with `bench: latency` (`autotune run job.yaml`): measures every (batch, input,
 * output) point with `vllm bench latency` as one resumable session (policy `sweep`), and
 * reports per point latency avg/p50/p90/p99, tokens/s and MFU.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { AutotuneError } from '../../errors.js';
import { latencyAxisDefaults, splitLatencyArgs, VLLM_LATENCY_DEFAULTS } from '../../runners/benchmarks/latency/args.js';
import { openStore } from '../../store/db.js';
import { createRunDir } from '../../store/run-dir.js';
import { createSession, makeSessionId } from '../../store/sessions.js';
import { expandLatencyGrid, latencyAxes, parseGridAxis, resolveMaxModelLen, type LatencyGridAxes } from '../../tuner/latency-grid.js';
import { gpuCount, latencyPointWork } from '../../tuner/mfu.js';
import { modelShapeFromConfig, type ModelShape } from '../../tuner/model-config.js';
import { objectiveFor, type Objective } from '../../tuner/objective.js';
import { peakTflops, type PeakDtype } from '../../tuner/peak-tflops.js';
import { DEFAULT_ENGINE, DEFAULT_OPERATOR_SET, flagGemsOperatorSet, gridTrials, type EngineConfig, type OperatorSet } from '../../tuner/spaces/grid.js';
import { readOperatorSetFile } from '../../config/operator-set-file.js';
import { checkRunner, DEFAULT_TIMEOUT_SEC, RUNNER_FLAGS, withRunnerFlag, type RunnerChoice, type RunOptions } from '../args.js';
import { DEFAULT_SLURM_OPTIONS } from '../../runners/slurm/options.js';
import { startWorker, workerBanner } from '../background.js';
import { defaultDbPath, writePointer } from '../session-files.js';
import { relevantEnv, SESSION_OPTIONS_VERSION, type SessionOptions } from '../session-options.js';
import { SWEEP_CSV, SWEEP_OBJECTIVE } from '../sweep-defaults.js';
import { parseGpuGroups } from '../gpu-groups.js';
import { sweepTable } from '../sweep-table.js';

const VALUES = [
  '--batch-sizes',
  '--input-lens',
  '--output-lens',
  '--num-runs',
  '--model-config',
  '--peak-tflops',
  '--gpu',
  '--timeout',
  '--vllm-bin',
  '--output-dir',
  '--autotune-db',
  '--gpu-groups',
] as const;
type Value = (typeof VALUES)[number];

interface SweepArgs {
  readonly values: Partial<Record<Value, string>>;
  /** `--engine NAME=ARGS` and `--op-set NAME=FILE`, repeatable, in order. */
  readonly engines: string[];
  readonly opSets: string[];
  readonly quiet: boolean;
  readonly calibrate: boolean;
  readonly passthrough: string[];
  readonly runner: RunnerChoice;
}

function parseSweepArgs(argv: readonly string[]): SweepArgs {
  const values: Partial<Record<Value, string>> = {};
  const passthrough: string[] = [];
  const engines: string[] = [];
  const opSets: string[] = [];
  let quiet = false;
  let runner: RunnerChoice = { runner: 'local', slurm: {} };
  let calibrate = false;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    if (arg === '--') {
      passthrough.push(...argv.slice(i + 1));
      break;
    }
    if (arg === '--quiet') {
      quiet = true;
      continue;
    }
    if (arg === '--slot-calibration') {
      calibrate = true;
      continue;
    }
    const eq = arg.indexOf('=');
    if (arg === '--engine' || arg === '--op-set' || arg.startsWith('--engine=') || arg.startsWith('--op-set=')) {
      const value = eq > 0 ? arg.slice(eq + 1) : argv[++i];
      if (value === undefined) throw new AutotuneError('E_USAGE', `\`${arg}\` needs a value`);
      (arg.startsWith('--engine') ? engines : opSets).push(value);
      continue;
    }
    const flag = eq > 0 ? arg.slice(0, eq) : arg;
    if (RUNNER_FLAGS.includes(flag)) {
      const value = eq > 0 ? arg.slice(eq + 1) : argv[++i];
      if (value === undefined) throw new AutotuneError('E_USAGE', `\`${flag}\` needs a value`);
      runner = withRunnerFlag(runner, flag, value);
      continue;
    }
    const name = flag as Value;
    if (!VALUES.includes(name)) {
      passthrough.push(arg);
      continue;
    }
    const value = eq > 0 ? arg.slice(eq + 1) : argv[++i];
    if (value === undefined) throw new AutotuneError('E_USAGE', `\`${name}\` needs a value`);
    values[name] = value;
  }
  checkRunner(runner);
  return { values, engines, opSets, quiet, calibrate, passthrough, runner };
}

function positive(flag: string, text: string | undefined, fallback: number): number {
  if (text === undefined) return fallback;
  const n = Number(text);
  if (!Number.isFinite(n) || n <= 0) throw new AutotuneError('E_USAGE', `Expected \`${flag}\` to be a number > 0, got \`${text}\``);
  return n;
}

function modelArg(args: readonly string[]): string | null {
  for (let i = 0; i < args.length; i++) {
    const a = args[i] as string;
    if (a === '--model') return args[i + 1] ?? null;
    if (a.startsWith('--model=')) return a.slice('--model='.length);
  }
  return null;
}

/** `--model-config PATH`, else the `--model` directory's config.json when there is one; null otherwise. */
function readModelShape(path: string | null, model: string | null): ModelShape | null {
  const file = path ?? (model !== null && existsSync(join(model, 'config.json')) ? join(model, 'config.json') : null);
  if (file === null) return null;
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(file, 'utf8'));
  } catch (error) {
    throw new AutotuneError('E_CONFIG', `cannot read the model config ${file}: ${(error as Error).message.split('\n')[0]}`);
  }
  return modelShapeFromConfig(json, file);
}

const NAME = /^[a-z0-9][a-z0-9-]*$/;

function named(flag: string, text: string): [string, string] {
  const eq = text.indexOf('=');
  const name = eq > 0 ? text.slice(0, eq) : '';
  if (!NAME.test(name) || name === 'default') {
    throw new AutotuneError('E_USAGE', `\`${flag}\` takes NAME=VALUE with a name of lower-case letters, digits and -, not 'default' (got \`${text}\`)`);
  }
  return [name, text.slice(eq + 1)];
}

/** `--engine NAME='--enforce-eager --max-num-seqs 64'`: engine arguments added for that configuration. */
function engineConfigs(specs: readonly string[]): EngineConfig[] {
  if (specs.length === 0) return [DEFAULT_ENGINE];
  return specs.map((s) => {
    const [name, args] = named('--engine', s);
    return { name, args: args.split(/\s+/).filter((a) => a !== '') };
  });
}

/** `--op-set NAME=FILE`: a VLLM_FL_CONFIG file (e.g. a best_config.yaml), with FlagGems on. */
function operatorSets(specs: readonly string[]): OperatorSet[] {
  if (specs.length === 0) return [DEFAULT_OPERATOR_SET];
  return specs.map((s) => {
    const [name, file] = named('--op-set', s);
    const read = readOperatorSetFile(file);
    if (!read.ok) throw new AutotuneError('E_CONFIG', `--op-set ${name}: ${read.reason}`);
    return flagGemsOperatorSet(name, read.config);
  });
}

const PEAK_DTYPES: Readonly<Record<string, PeakDtype>> = { bf16: 'bf16', fp16: 'fp16', fp8: 'fp8' };

/** What MFU needs besides the measurement: the model's shape (a config.json; null: the `--model` directory's) and the accelerators' peak. */
export type MfuInputs = RunOptions['mfu'];

/** A latency grid to measure, from `autotune sweep latency` or a job file. */
export interface LatencyStudy {
  /** Empty lists take the user's own flag, else vLLM's default. */
  readonly axes: Partial<LatencyGridAxes> | null;
  readonly passthrough: readonly string[];
  readonly mfu: MfuInputs;
  readonly engines: readonly EngineConfig[];
  readonly operatorSets: readonly OperatorSet[];
  readonly numRuns: number;
  readonly objective: Objective;
  readonly timeoutSec: number;
  readonly vllmBin: string;
  /** The results table in the run directory. */
  readonly csvName: string;
  readonly outputDir: string;
  readonly db: string | null;
  /** Added to every run and recorded for resume. */
  readonly env: Readonly<Record<string, string>>;
  readonly background: boolean;
  readonly quiet: boolean;
  readonly progress: boolean;
  /** One slot per GPU group (`--gpu-groups`); null: one slot on the inherited devices. */
  readonly gpuGroups: readonly string[] | null;
  /** Where the runs execute; with SLURM, `maxJobs` points are measured at once. */
  readonly runner: RunnerChoice;
  /** `--slot-calibration`: the first trial measured once on every other slot, for the Slots table's factors. */
  readonly calibrate: boolean;
}


function gridTrialsOf(study: LatencyStudy): ReturnType<typeof gridTrials> {
  const { given } = splitLatencyArgs(study.passthrough);
  const shape = readModelShape(study.mfu.modelConfig, modelArg(study.passthrough));
  const grid = expandLatencyGrid(latencyAxes(study.axes, latencyAxisDefaults(given)), resolveMaxModelLen(given.maxModelLen, shape?.maxModelLen ?? null));
  for (const s of grid.skipped) process.stdout.write(`Skipped ${s.key}: ${s.reason}\n`);
  if (grid.points.length === 0) throw new AutotuneError('E_USAGE', 'every point of the grid exceeds max-model-len; nothing to measure');

  const gpus = gpuCount({ tensorParallel: given.tensorParallel ?? 1, pipelineParallel: given.pipelineParallel ?? 1 });
  const dtype = PEAK_DTYPES[shape?.dtype ?? 'bf16'];
  const { gpu, peakTflops: override } = study.mfu;
  const peak = shape !== null && dtype !== undefined && (override !== null || gpu !== null) ? peakTflops(gpu, dtype, override) * 1e12 * gpus : null;
  if (peak === null) process.stdout.write('No MFU: it needs the model config (--model-config or a --model directory) and --gpu or --peak-tflops\n');

  const slots = study.runner.runner === 'slurm' ? (study.runner.slurm.maxJobs ?? 1) : (study.gpuGroups?.length ?? 1);
  if (study.calibrate && slots < 2) throw new AutotuneError('E_USAGE', '`--slot-calibration` needs two slots or more (`--gpu-groups "0 1"`)');
  return gridTrials({
    benchmark: 'latency',
    ...(study.calibrate ? { calibrationSlots: slots } : {}),
    operatorSets: study.operatorSets,
    engines: study.engines,
    points: grid.points.map((p) => ({
      key: p.key,
      workload: {
        batch_size: p.batchSize,
        input_len: p.inputLen,
        output_len: p.outputLen,
        num_iters_warmup: given.warmup ?? VLLM_LATENCY_DEFAULTS.warmup,
        num_iters: given.measured ?? VLLM_LATENCY_DEFAULTS.measured,
        ...(peak === null || shape === null ? {} : { flops: latencyPointWork(shape, { ...p, n: given.n ?? 1 }).flops, peak_flops: peak }),
      },
    })),
  });
}

/** Creates the sweep's session and measures it, here or in a background worker. */
export async function runLatencyStudy(study: LatencyStudy): Promise<number> {
  // Everything that can be refused is checked before the database or a run directory exists.
  const trials = gridTrialsOf(study);
  const now = new Date();
  const id = makeSessionId(now);
  const options: SessionOptions = {
    version: SESSION_OPTIONS_VERSION,
    // The shorthand stored for readers of the throughput options; the objective is what counts.
    metric: 'total',
    bench: 'latency',
    workload: null,
    numRuns: study.numRuns,
    objective: study.objective,
    minGain: 0,
    budget: null,
    seed: 0,
    timeoutSec: study.timeoutSec,
    vllmBin: study.vllmBin,
    csvName: study.csvName,
    policy: 'sweep',
    discovery: { explicitOps: null, configOps: null },
    trials,
    ...(study.gpuGroups === null ? {} : { gpuGroups: study.gpuGroups }),
    ...(study.runner.runner === 'local' ? {} : { runner: study.runner.runner, slurm: { ...DEFAULT_SLURM_OPTIONS, ...study.runner.slurm } }),
  };
  const dbPath = study.db ?? defaultDbPath(study.outputDir);
  if (study.background && dbPath === ':memory:') {
    throw new AutotuneError('E_USAGE', '`--background true` needs a database file; `--autotune-db :memory:` lives only in this process');
  }
  const store = openStore(dbPath);
  try {
    const runDir = createRunDir(study.outputDir, now);
    const session = createSession(store, {
      id,
      runDir,
      policy: 'sweep',
      args: [...study.passthrough],
      options: { ...options },
      env: { ...relevantEnv(process.env), ...study.env, ...(process.env['PATH'] === undefined ? {} : { PATH: process.env['PATH'] }) },
    });
    writePointer(runDir, session.id, dbPath);
    if (study.background) {
      process.stdout.write(workerBanner(session, await startWorker(store, session, dbPath)));
      return 0;
    }
    process.stdout.write(`Session ${session.id}, run directory ${session.runDir}, ${trials.length} points\n`);
    const { driveSession } = await import('../drive.js');
    const code = await driveSession(store, session.id, { console: true, echo: !study.quiet, progress: study.progress });
    if (code === 0) for (const line of sweepTable(store, session.id)) process.stdout.write(`${line}\n`);
    return code;
  } finally {
    store.close();
  }
}

/** A job file's latency study (`bench: latency`): its workload is the grid. */
export function latencyStudyOf(run: RunOptions): LatencyStudy {
  return {
    axes: run.workload,
    passthrough: run.passthrough,
    mfu: run.mfu,
    engines: run.compare?.engines ?? [DEFAULT_ENGINE],
    operatorSets: run.compare?.operatorSets ?? [DEFAULT_OPERATOR_SET],
    numRuns: run.numRuns,
    objective: run.objective,
    timeoutSec: run.timeoutSec,
    vllmBin: run.vllmBin,
    csvName: run.csvName,
    outputDir: run.outputDir,
    db: run.db,
    env: run.env,
    background: run.background,
    quiet: run.quiet,
    progress: run.progress,
    gpuGroups: run.gpuGroups,
    runner: { runner: run.runner, slurm: run.slurm },
    calibrate: false,
  };
}

export async function sweepCommand(argv: string[]): Promise<number> {
  if (argv[0] !== 'latency') throw new AutotuneError('E_USAGE', 'sweep needs a benchmark kind: `autotune sweep latency --batch-sizes 1,8 --input-lens 128 --output-lens 128 --model M`');
  const args = parseSweepArgs(argv.slice(1));
  const v = args.values;
  if (v['--batch-sizes'] === undefined || v['--input-lens'] === undefined || v['--output-lens'] === undefined) {
    throw new AutotuneError('E_USAGE', 'sweep latency needs --batch-sizes, --input-lens and --output-lens (comma-separated, e.g. 1,8,32)');
  }
  return runLatencyStudy({
    axes: {
      batchSizes: parseGridAxis('--batch-sizes', v['--batch-sizes']),
      inputLens: parseGridAxis('--input-lens', v['--input-lens']),
      outputLens: parseGridAxis('--output-lens', v['--output-lens']),
    },
    passthrough: args.passthrough,
    mfu: {
      modelConfig: v['--model-config'] ?? null,
      gpu: v['--gpu'] ?? null,
      peakTflops: v['--peak-tflops'] === undefined ? null : positive('--peak-tflops', v['--peak-tflops'], 1),
    },
    engines: engineConfigs(args.engines),
    operatorSets: operatorSets(args.opSets),
    numRuns: Math.round(positive('--num-runs', v['--num-runs'], 1)),
    objective: objectiveFor(SWEEP_OBJECTIVE),
    timeoutSec: positive('--timeout', v['--timeout'], DEFAULT_TIMEOUT_SEC),
    vllmBin: v['--vllm-bin'] ?? 'vllm',
    csvName: SWEEP_CSV,
    outputDir: v['--output-dir'] ?? 'autotune_logs',
    db: v['--autotune-db'] ?? null,
    env: {},
    background: false,
    quiet: args.quiet,
    progress: true,
    gpuGroups: v['--gpu-groups'] === undefined ? null : parseGpuGroups(v['--gpu-groups'], '--gpu-groups'),
    runner: args.runner,
    calibrate: args.calibrate,
  });
}
