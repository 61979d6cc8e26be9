/**
 * Signals and liveness checks for a benchmark's process group. vLLM's EngineCore, workers and
 * Ray actors are children of the benchmark; a survivor holds GPU memory and makes the next run
 * fail (vllm-bench-throughput.md §6.1), so they are always killed as a group.
 */
import { readdirSync, readFileSync } from 'node:fs';

function errnoCode(error: unknown): string | undefined {
  return (error as NodeJS.ErrnoException).code;
}

/** Sends `signal` (0 only probes) to every process of the group led by `pgid`; false when the group is gone. */
export function killProcessGroup(pgid: number, signal: NodeJS.Signals | 0): boolean {
  try {
    process.kill(-pgid, signal);
    return true;
  } catch (error) {
    if (errnoCode(error) === 'ESRCH') return false;
    throw error;
  }
}

interface ProcStat {
  readonly state: string;
  readonly pgrp: number;
}

/** Fields of /proc/<pid>/stat after the command name, which may itself contain `)`. Null off Linux or once gone. */
function readProcStat(pid: string | number): ProcStat | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return { state: fields[0] ?? '', pgrp: Number(fields[2]) };
  } catch {
    return null;
  }
}

/** Zombies count as dead: where PID 1 does not reap, they would otherwise look alive forever. */
export function isProcessAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (error) {
    return errnoCode(error) === 'EPERM';
  }
  return readProcStat(pid)?.state !== 'Z';
}

/** Whether any live (non-zombie) process remains in the group. */
export function isProcessGroupAlive(pgid: number): boolean {
  if (!killProcessGroup(pgid, 0)) return false;
  let entries: string[];
  try {
    entries = readdirSync('/proc');
  } catch {
    return true; // no /proc: trust the signal probe
  }
  return entries.some((entry) => {
    if (!/^\d+$/.test(entry)) return false;
    const stat = readProcStat(entry);
    return stat !== null && stat.pgrp === pgid && stat.state !== 'Z';
  });
}

/**
 * Whether the process was started by autotune for this run (its environment carries
 * AUTOTUNE_RUN_KEY=runKey), so a pid recorded before a crash is not a recycled stranger's.
 * False when the environment cannot be read (gone, not ours, not Linux).
 */
export function processEnvironHasRunKey(pid: number, runKey: string): boolean {
  try {
    const entries = readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0');
    return entries.includes(`AUTOTUNE_RUN_KEY=${runKey}`);
  } catch {
    return false;
  }
}

function runKeyOf(pid: string): string | null {
  try {
    const entry = readFileSync(`/proc/${pid}/environ`, 'utf8')
      .split('\0')
      .find((e) => e.startsWith('AUTOTUNE_RUN_KEY='));
    return entry === undefined ? null : entry.slice('AUTOTUNE_RUN_KEY='.length);
  } catch {
    return null;
  }
}

/**
 * Live processes whose AUTOTUNE_RUN_KEY satisfies `matches`: every descendant of a run,
 * including ones that left its process group or session (setsid, double fork). Empty off Linux.
 */
export function processesWithRunKey(matches: (runKey: string) => boolean): number[] {
  let entries: string[];
  try {
    entries = readdirSync('/proc');
  } catch {
    return [];
  }
  const pids: number[] = [];
  for (const entry of entries) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    const key = runKeyOf(entry);
    if (key !== null && matches(key) && readProcStat(entry)?.state !== 'Z') pids.push(Number(entry));
  }
  return pids;
}

/** Signals every live process carrying a matching run key; returns their pids. */
export function killRunKeyProcesses(matches: (runKey: string) => boolean, signal: NodeJS.Signals): number[] {
  const pids = processesWithRunKey(matches);
  for (const pid of pids) {
    try {
      process.kill(pid, signal);
    } catch (error) {
      if (errnoCode(error) !== 'ESRCH') throw error;
    }
  }
  return pids;
}
