/**
 * A job file's benchmark flags against vLLM's own option lists: autotune's options have their
 * own keys, and a near miss of a vLLM option would fail every run. Anything else unknown may
 * be an option of a newer vLLM and is left to vLLM, as on the command line.
 */
import { editDistance } from '../config/did-you-mean.js';
import type { ArgCheck } from '../config/load-job.js';
import { RUN_FLAGS, type BenchKind } from './args.js';
import { normalizedOption } from './option-names.js';
import { loadVllmArgs, VllmOptions } from './vllm-args.js';

/** Where each autotune option goes in a job file; null: on the command line only. */
export const JOB_KEY_OF_FLAG: Readonly<Record<string, string | null>> = {
  '--ops': 'search.ops',
  '--num-runs': 'num_runs',
  '--csv-path': 'csv_path',
  '--background': null,
  '--timeout': 'timeout',
  '--vllm-bin': 'vllm_bin',
  '--policy': 'policy',
  '--autotune-metric': 'objective.metric',
  '--min-gain': 'policy.min_gain',
  '--budget': 'policy.budget',
  '--autotune-seed': 'policy.seed',
  '--autotune-db': 'db',
  '--output-dir': 'output_dir',
  '--autotune-config': null,
  '--run-minutes': null,
  '--quiet': null,
  '--no-progress': null,
  '--python': 'python',
  '--bench': 'bench',
  '--cases': 'serve.cases',
  '--slo': 'serve.slo',
  '--server-ready-timeout': 'serve.server_ready_timeout',
  '--load-generator': 'serve.load_generator',
  '--autotune-endpoint': 'serve.endpoint',
  '--request-timeout': 'serve.request_timeout',
  '--bench-args': 'bench_args',
  '--gpu-groups': 'gpu_groups',
  '--dry-run': null,
  '--autotune-runner': 'runner',
  '--slurm-partition': 'slurm.partition',
  '--slurm-account': 'slurm.account',
  '--slurm-qos': 'slurm.qos',
  '--slurm-gres': 'slurm.gres',
  '--slurm-time-limit': 'slurm.time_limit',
  '--slurm-args': 'slurm.extra_args',
  '--slurm-max-jobs': 'slurm.max_jobs',
  '--autotune-axis': 'engine.tiers',
  '--autotune-search': 'engine.search',
  '--retry-failures': 'engine.retry_failures',
};

interface Known {
  readonly options: VllmOptions;
  readonly long: readonly string[];
}

/** The closest long option within typo distance (1 for short names, else 2). */
function nearest(name: string, long: readonly string[]): string | null {
  const limit = name.replace(/^--/, '').length <= 4 ? 1 : 2;
  let best: string | null = null;
  let bestDistance = limit + 1;
  for (const option of long) {
    const d = editDistance(name, option);
    if (d < bestDistance) {
      best = option;
      bestDistance = d;
    }
  }
  return best;
}

export function vllmArgCheck(): ArgCheck {
  const known = new Map<BenchKind, Known>();
  const forBench = (bench: BenchKind): Known => {
    let k = known.get(bench);
    if (k === undefined) {
      const list = loadVllmArgs(bench === 'latency' ? 'bench-latency' : 'bench-throughput');
      k = { options: new VllmOptions(list), long: list.options.flat().filter((o) => o.startsWith('--')) };
      known.set(bench, k);
    }
    return k;
  };
  return (flag, bench) => {
    const name = normalizedOption(flag);
    if (RUN_FLAGS.includes(name)) {
      const key = JOB_KEY_OF_FLAG[name] ?? null;
      return `\`${name}\` is an autotune option, not a vLLM one; ${key === null ? 'give it on the command line' : `set \`${key}\` instead`}`;
    }
    const { options, long } = forBench(bench);
    if (options.accepts(flag)) return null;
    const guess = nearest(name, long);
    return guess === null ? null : `\`${name}\` is not a \`${options.command}\` option; did you mean \`${guess}\`?`;
  };
}
