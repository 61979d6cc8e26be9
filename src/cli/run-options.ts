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

function vllmCheck(bench: BenchKind): VllmOptions {
  return new VllmOptions(loadVllmArgs(bench === 'latency' ? 'bench-latency' : 'bench-throughput'));
}

/**
 * `jobFirst`: the words came after `autotune run`, whose first word (when it is not an
 * option) names the job file; otherwise `--autotune-config FILE` names one, or there is none.
 */
export function readRunOptions(argv: readonly string[], jobFirst: boolean): RunOptions {
  const first = argv[0];
  const positional = jobFirst && first !== undefined && !first.startsWith('-') ? first : null;
  const rest = positional === null ? argv : argv.slice(1);
  // A first pass finds the job file; the command line is then checked against its benchmark's options.
  const config = parseRunFlags(rest).explicit.config ?? null;
  if (positional !== null && config !== null) {
    throw new AutotuneError('E_USAGE', `two job files given: ${positional} and --autotune-config ${config}`);
  }
  const file = positional ?? config;
  if (file === null) return parseRunArgs(rest, vllmCheck('throughput'));
  const sweep = sweepLauncherOptions(file, rest);
  if (sweep !== null) return sweep;
  const job = loadJobFile(file, vllmArgCheck());
  return resolveRunOptions(parseRunFlags(rest, vllmCheck(job.bench === 'latency' ? 'latency' : 'throughput')), job, file);
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
  if (run.bench !== 'throughput') refuse(`a ${run.bench} study`);
  if (run.workload !== null) refuse('a throughput workload matrix');
  // Any objective runs: policies score runs through src/tuner/objective.ts, constraints included.
}
