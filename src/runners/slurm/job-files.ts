/**
 * One run's job directory: the batch script (the same text for every run: nothing of the
 * user's input is ever part of a shell string), and beside it, NUL-separated, the argv, the
 * environment and the working directory it reads, plus what it writes back: a marker when the
 * job starts (queue wait is not run time) and the benchmark's exit status. It lives on the
 * shared filesystem with the run directory, so a resumed autotune finds a job's end without
 * SLURM accounting.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

export const JOB_FILES = {
  script: 'job.sh',
  argv: 'argv.nul',
  env: 'env.nul',
  cwd: 'cwd.nul',
  /** {jobId, runKey}: written by the runner after sbatch; identifies the job on resume. */
  job: 'job.json',
  /** Written by the script when the job starts. */
  started: 'started',
  /** The benchmark's exit status, written by the script when it ends. */
  exit: 'exit-status',
} as const;

/**
 * Variables SLURM gives the job that the trial's environment must keep: the allocation's own
 * (SLURM_*) and the devices its gres granted, which replace whatever the submitting shell had.
 */
export const JOB_VARIABLES = /^(SLURM_|SLURMD_|CUDA_VISIBLE_DEVICES=|GPU_DEVICE_ORDINAL=|ROCR_VISIBLE_DEVICES=|HIP_VISIBLE_DEVICES=|ZE_AFFINITY_MASK=|ASCEND_RT_VISIBLE_DEVICES=)/;

/**
 * The batch script. It runs in its job directory (sbatch --chdir), reads its inputs there into
 * arrays (mapfile -d '': no word splitting, no globbing, no quoting), and starts the benchmark
 * through `env -i` with exactly the trial's environment plus the job's own variables.
 */
export const JOB_SCRIPT = `#!/bin/bash
# Written by autotune: runs one benchmark with the argv, environment and working directory
# stored NUL-separated beside this file, and records the job's start and the exit status.
set -u
jobdir=$PWD
mapfile -d '' -t argv < ${JOB_FILES.argv} || exit 120
mapfile -d '' -t trialenv < ${JOB_FILES.env} || exit 120
mapfile -d '' -t cwd < ${JOB_FILES.cwd} || exit 120
jobenv=()
keep='${JOB_VARIABLES.source}'
while IFS= read -r -d '' kv; do
  [[ $kv =~ $keep ]] && jobenv+=("$kv")
done < <(/usr/bin/env -0)
date +%s > "$jobdir/${JOB_FILES.started}.tmp" && mv -f "$jobdir/${JOB_FILES.started}.tmp" "$jobdir/${JOB_FILES.started}"
cd -- "\${cwd[0]}" || exit 121
/usr/bin/env -i "\${trialenv[@]}" "\${jobenv[@]}" "\${argv[@]}"
status=$?
echo "$status" > "$jobdir/${JOB_FILES.exit}.tmp" && mv -f "$jobdir/${JOB_FILES.exit}.tmp" "$jobdir/${JOB_FILES.exit}"
exit "$status"
`;

/** Beside the run's raw files (its oplist and --output-json), named after its log. */
export function jobDirOf(logPath: string, oplistPath: string): string {
  return join(dirname(oplistPath), `${basename(logPath, '.log')}.slurm`);
}

export interface JobInput {
  readonly argv: readonly string[];
  readonly env: Readonly<Record<string, string>>;
  readonly cwd: string;
}

const nul = (words: readonly string[]): string => words.map((w) => `${w}\0`).join('');

/** A NUL inside a word would cut it short in the script; no argv or environment can hold one anyway. */
export function hasNul(input: JobInput): boolean {
  const words = [...input.argv, input.cwd, ...Object.entries(input.env).flat()];
  return words.some((w) => w.includes('\0'));
}

/** A fresh job directory: anything an earlier attempt left there is removed first. */
export async function writeJobDir(dir: string, input: JobInput): Promise<string> {
  await rm(dir, { recursive: true, force: true });
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const script = join(dir, JOB_FILES.script);
  await writeFile(script, JOB_SCRIPT, { mode: 0o700 });
  await writeFile(join(dir, JOB_FILES.argv), nul(input.argv), { mode: 0o600 });
  // The environment may hold tokens (HF_TOKEN): readable by the user only.
  await writeFile(join(dir, JOB_FILES.env), nul(Object.entries(input.env).map(([k, v]) => `${k}=${v}`)), { mode: 0o600 });
  await writeFile(join(dir, JOB_FILES.cwd), nul([input.cwd]), { mode: 0o600 });
  return script;
}

/** Clears what one attempt wrote before the job is submitted again. */
export async function clearAttempt(dir: string): Promise<void> {
  await rm(join(dir, JOB_FILES.started), { force: true });
  await rm(join(dir, JOB_FILES.exit), { force: true });
}

export interface JobRecord {
  readonly jobId: string;
  readonly runKey: string;
}

export async function writeJobRecord(dir: string, record: JobRecord): Promise<void> {
  await writeFile(join(dir, JOB_FILES.job), `${JSON.stringify(record)}\n`, { mode: 0o600 });
}

/** The job an earlier autotune submitted for this run; null when none was, or the file is not one. */
export function readJobRecord(dir: string): JobRecord | null {
  try {
    const doc: unknown = JSON.parse(readFileSync(join(dir, JOB_FILES.job), 'utf8'));
    if (typeof doc !== 'object' || doc === null) return null;
    const { jobId, runKey } = doc as Record<string, unknown>;
    return typeof jobId === 'string' && /^\d+(_\d+)?$/.test(jobId) && typeof runKey === 'string' ? { jobId, runKey } : null;
  } catch {
    return null;
  }
}

/** When the job started (ms since the epoch, this machine's view of the file), or null while it waits in the queue. */
export function startedAt(dir: string): number | null {
  try {
    return statSync(join(dir, JOB_FILES.started)).mtimeMs;
  } catch {
    return null;
  }
}

/** The benchmark's exit status as the script recorded it, and when; null when it never ended on its own. */
export function recordedExit(dir: string): { readonly code: number; readonly at: number } | null {
  const path = join(dir, JOB_FILES.exit);
  if (!existsSync(path)) return null;
  try {
    const code = Number(readFileSync(path, 'utf8').trim());
    return Number.isSafeInteger(code) ? { code, at: statSync(path).mtimeMs } : null;
  } catch {
    return null;
  }
}
