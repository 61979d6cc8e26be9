/** Where and how runs are submitted: the `slurm` block of a job file, or the --slurm-* flags. Pure. */

export interface SlurmOptions {
  readonly partition: string | null;
  readonly account: string | null;
  readonly qos: string | null;
  /** e.g. `gpu:2`, or `gpu:h100:8`. */
  readonly gres: string | null;
  /** sbatch's --time (`MM`, `HH:MM:SS`, `D-HH`...); null: the partition's default. */
  readonly timeLimit: string | null;
  /** More sbatch options, one word each, passed after autotune's own. */
  readonly extraArgs: readonly string[];
  /** Jobs in flight at once. */
  readonly maxJobs: number;
}

export const DEFAULT_SLURM_OPTIONS: SlurmOptions = {
  partition: null,
  account: null,
  qos: null,
  gres: null,
  timeLimit: null,
  extraArgs: [],
  maxJobs: 1,
};

export interface JobPlacement {
  readonly name: string;
  readonly jobDir: string;
  readonly logPath: string;
  readonly script: string;
}

/**
 * sbatch's argv for one run. The log collects stdout and stderr (SLURM's own messages, such as
 * a time-limit kill, included) and is appended to across attempts; SLURM never requeues the
 * job by itself, since a retried run is submitted again by the runner with fresh files.
 */
export function sbatchArgv(o: SlurmOptions, job: JobPlacement): string[] {
  const opt = (flag: string, value: string | null): string[] => (value === null ? [] : [`${flag}=${value}`]);
  return [
    '--parsable',
    `--job-name=${job.name}`,
    `--chdir=${job.jobDir}`,
    `--output=${job.logPath}`,
    '--open-mode=append',
    '--no-requeue',
    '--nodes=1',
    '--ntasks=1',
    ...opt('--partition', o.partition),
    ...opt('--account', o.account),
    ...opt('--qos', o.qos),
    ...opt('--gres', o.gres),
    ...opt('--time', o.timeLimit),
    ...o.extraArgs,
    job.script,
  ];
}
