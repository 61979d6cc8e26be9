/** The options of a run: from the command line alone, or a job file with the command line on top. */
import { loadJobFile } from '../config/load-job.js';
import { AutotuneError } from '../errors.js';
import { parseRunArgs, parseRunFlags, type BenchKind, type RunOptions } from './args.js';
import { vllmArgCheck } from './job-arg-check.js';
import { resolveRunOptions } from './job-options.js';
import { loadVllmArgs, VllmOptions } from './vllm-args.js';

/** The vLLM command the pass-through arguments belong to: a serving session's go to `vllm serve`. */
function vllmCheck(bench: BenchKind): VllmOptions {
  return new VllmOptions(loadVllmArgs(bench === 'latency' ? 'bench-latency' : bench === 'serve' ? 'serve' : 'bench-throughput'));
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
  const firstPass = parseRunFlags(rest).explicit;
  const config = firstPass.config ?? null;
  if (positional !== null && config !== null) {
    throw new AutotuneError('E_USAGE', `two job files given: ${positional} and --autotune-config ${config}`);
  }
  const file = positional ?? config;
  if (file === null) return parseRunArgs(rest, vllmCheck(firstPass.bench ?? 'throughput'));
  const job = loadJobFile(file, vllmArgCheck());
  return resolveRunOptions(parseRunFlags(rest, vllmCheck(job.bench ?? 'throughput')), job, file);
}

/** What today's session engine runs; the rest of the job format is accepted and planned. */
export function assertRunnable(run: RunOptions): void {
  const refuse = (what: string): never => {
    throw new AutotuneError('E_NOT_SUPPORTED', `${what} cannot run in this release yet (\`--dry-run\` plans it)`);
  };
  if (run.bench === 'latency') refuse(`a ${run.bench} study`);
  if (run.workload !== null) refuse('a throughput workload matrix');
  // Any objective runs: policies score runs through src/tuner/objective.ts, constraints included.
}
