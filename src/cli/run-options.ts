/** The options of a run: from the command line alone, or a job file with the command line on top. */
import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { loadJobFile } from '../config/load-job.js';
import { isSweepLauncher, readSweepLauncher } from '../config/sweep-launcher.js';
import { AutotuneError } from '../errors.js';
import { checkBudget, defaultRunOptions, parseRunArgs, parseRunFlags, type BenchKind, type RunOptions } from './args.js';
import { vllmArgCheck } from './job-arg-check.js';
import { mergeArgWords, resolveRunOptions } from './job-options.js';
import { loadVllmArgs, VllmOptions } from './vllm-args.js';

/** The vLLM command the pass-through arguments belong to: a serving session's go to `vllm serve`. */
function vllmCheck(bench: BenchKind): VllmOptions {
  return new VllmOptions(loadVllmArgs(bench === 'latency' ? 'bench-latency' : bench === 'serve' ? 'serve' : 'bench-throughput'));
}

/** The job-file option in the global position: `autotune --config JOB.yaml ...`. */
export const GLOBAL_CONFIG_FLAG = '--config';

/**
 * `--config FILE` (or `--config=FILE`) as the very first argument names a job file. vLLM has
 * a `--config` of its own (a YAML of its arguments), so anywhere else the flag is vLLM's.
 */
function leadingConfig(argv: readonly string[]): { file: string; rest: readonly string[] } | null {
  const first = argv[0];
  if (first === GLOBAL_CONFIG_FLAG) {
    const file = argv[1];
    if (file === undefined || file.startsWith('-')) throw new AutotuneError('E_USAGE', '`--config` as the first argument needs a job file: `autotune --config job.yaml [options]`');
    return { file, rest: argv.slice(2) };
  }
  if (first?.startsWith(`${GLOBAL_CONFIG_FLAG}=`) === true) {
    const file = first.slice(GLOBAL_CONFIG_FLAG.length + 1);
    if (file === '') throw new AutotuneError('E_USAGE', '`--config=` needs a job file: `autotune --config job.yaml [options]`');
    return { file, rest: argv.slice(1) };
  }
  return null;
}

/**
 * `jobFirst`: the words came after `autotune run`, whose first word (when it is not an
 * option) names the job file; otherwise a leading `--config FILE` or `--autotune-config FILE`
 * anywhere names one, or there is none.
 */
export function readRunOptions(argv: readonly string[], jobFirst: boolean): RunOptions {
  const first = argv[0];
  const leading = jobFirst ? null : leadingConfig(argv);
  const positional = leading?.file ?? (jobFirst && first !== undefined && !first.startsWith('-') ? first : null);
  const rest = leading?.rest ?? (positional === null ? argv : argv.slice(1));
  // A first pass finds the job file; the command line is then checked against its benchmark's options.
  const firstPass = parseRunFlags(rest).explicit;
  const config = firstPass.config ?? null;
  if (positional !== null && config !== null) {
    throw new AutotuneError('E_USAGE', `two job files given: ${positional} and --autotune-config ${config}`);
  }
  const file = positional ?? config;
  if (file === null) return parseRunArgs(rest, vllmCheck(firstPass.bench ?? 'throughput'));
  const sweep = sweepLauncherOptions(file, rest);
  if (sweep !== null) return sweep;
  const job = loadJobFile(file, vllmArgCheck());
  return resolveRunOptions(parseRunFlags(rest, vllmCheck(job.bench ?? 'throughput')), job, file);
}

/** The YAML document of a file that may be a sweep-launcher file; null when it cannot be read (the job loader says why). */
function yamlDocument(file: string): unknown {
  try {
    return parseYaml(readFileSync(file, 'utf8'));
  } catch {
    return null;
  }
}

/**
 * A sweep-launcher file (`fixed_args`, `experiments`) runs as it is: an engine study of one
 * independent tier per experiment, every point measured (grid) unless `--autotune-search` says otherwise.
 */
function sweepLauncherOptions(file: string, argv: readonly string[]): RunOptions | null {
  const doc = yamlDocument(file);
  if (!isSweepLauncher(doc)) return null;
  const vllm = vllmCheck('throughput');
  const sweep = readSweepLauncher(doc, file, (flag) => vllm.accepts(flag));
  const flags = parseRunFlags(argv, vllm);
  const engine = { tiers: sweep.tiers, search: 'grid' as const, operators: false, retry: [], gpus: null, modelConfig: null, notes: sweep.notes };
  const options: RunOptions = { ...defaultRunOptions(), ...flags.explicit, config: file, passthrough: mergeArgWords(sweep.passthrough, flags.passthrough), engine };
  checkBudget(options);
  return options;
}

/** What today's session engine runs; the rest of the job format is accepted and planned. */
export function assertRunnable(run: RunOptions): void {
  const refuse = (what: string): never => {
    throw new AutotuneError('E_NOT_SUPPORTED', `${what} cannot run in this release yet (\`--dry-run\` plans it)`);
  };
  // A latency study is a grid sweep (commands/sweep.ts); only throughput studies get here.
  if (run.workload !== null) refuse('a throughput workload matrix');
  // Any objective runs: policies score runs through src/tuner/objective.ts, constraints included.
}
