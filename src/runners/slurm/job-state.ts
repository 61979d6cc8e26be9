/**
 * What `scontrol show job -o` says about a job, and what a finished job's SLURM state means for
 * the run. Pure. Accounting is often off on small clusters (no sacct), so scontrol, which knows
 * a job until MinJobAge after its end, and the files the job script writes are all there is.
 */
import type { RunOutcome } from '../../tuner/types.js';

export interface JobInfo {
  readonly id: string;
  readonly name: string;
  /** The base state: `CANCELLED` for `CANCELLED by 0`. */
  readonly state: string;
  readonly reason: string | null;
  /** The batch script's exit status (ExitCode=status:signal). */
  readonly exitCode: number | null;
  readonly signal: number | null;
  readonly nodes: string | null;
}

/** States in which the job may still start or run processes. */
const LIVE = new Set(['PENDING', 'CONFIGURING', 'RUNNING', 'SUSPENDED', 'COMPLETING', 'REQUEUED', 'REQUEUE_HOLD', 'REQUEUE_FED', 'RESIZING', 'SIGNALING', 'STAGE_OUT', 'STOPPED', 'RESV_DEL_HOLD']);

export function isLive(state: string): boolean {
  return LIVE.has(state);
}

/** Ended for a reason that says nothing about the trial: the run is submitted again. */
export function isRetryable(state: string): boolean {
  return state === 'NODE_FAIL' || state === 'PREEMPTED' || state === 'BOOT_FAIL';
}

/** Job ids of `squeue -h -o %i` (one a line, array tasks as `12_3`); anything else (a warning) is not one. */
export function parseQueueIds(text: string): string[] {
  return text.split('\n').map((l) => l.trim()).filter((l) => /^\d+(_\d+)?$/.test(l));
}

/** `Key=value` fields of one `scontrol -o` line; values never contain a space, except the last few (Command, WorkDir, Std*). */
function fields(line: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const match of line.matchAll(/(?:^|\s)([A-Za-z][A-Za-z/:_]*)=(\S*)/g)) {
    const [, key, value] = match;
    if (key !== undefined && value !== undefined && !out.has(key)) out.set(key, value);
  }
  return out;
}

const nullable = (v: string | undefined): string | null => (v === undefined || v === '' || v === '(null)' || v === 'None' ? null : v);

/** The job's line of `scontrol show job -o ID`; null when it names no job. */
export function parseJobInfo(text: string): JobInfo | null {
  const line = text.split('\n').find((l) => l.startsWith('JobId='));
  if (line === undefined) return null;
  const f = fields(line);
  const id = f.get('JobId');
  const state = f.get('JobState');
  if (id === undefined || state === undefined) return null;
  const [status, signal] = (f.get('ExitCode') ?? '').split(':').map((s) => (/^\d+$/.test(s) ? Number(s) : null));
  return {
    id,
    name: f.get('JobName') ?? '',
    state: state.split('+')[0] ?? state,
    reason: nullable(f.get('Reason')),
    exitCode: status ?? null,
    signal: signal ?? null,
    nodes: nullable(f.get('NodeList')),
  };
}

/** A finished job's state that decides the outcome by itself, whatever the benchmark printed; null: the log decides. */
export function stateOutcome(state: string): { readonly outcome: RunOutcome; readonly failure: string } | null {
  switch (state) {
    case 'TIMEOUT':
      return { outcome: 'timeout', failure: 'killed by its SLURM time limit (TIMEOUT)' };
    case 'DEADLINE':
      return { outcome: 'timeout', failure: 'killed at its SLURM deadline (DEADLINE)' };
    case 'OUT_OF_MEMORY':
      return { outcome: 'oom', failure: 'host out of memory: SLURM killed the job at its memory limit (OUT_OF_MEMORY)' };
    case 'NODE_FAIL':
      return { outcome: 'engine_failure', failure: 'its node failed (NODE_FAIL), on every attempt' };
    case 'PREEMPTED':
      return { outcome: 'engine_failure', failure: 'preempted by SLURM (PREEMPTED), on every attempt' };
    case 'BOOT_FAIL':
      return { outcome: 'engine_failure', failure: 'its node failed to boot (BOOT_FAIL), on every attempt' };
    case 'CANCELLED':
      return { outcome: 'nonzero_exit', failure: 'cancelled outside autotune (scancel)' };
    default:
      return null;
  }
}
