/**
 * Runs each benchmark invocation as a SLURM batch job: the job directory (job-files.ts) holds
 * the script and its inputs, sbatch submits it, and the job is followed with scontrol until it
 * ends. The run's timeout counts from the job's start (the script's marker), not from the
 * submission; a stop cancels the job (scancel); a job that a previous autotune left in flight,
 * found through the job record in its directory, is adopted rather than submitted again.
 * sbatch, scontrol and scancel run in autotune's own environment (SLURM_CONF and the like);
 * the trial's hermetic environment reaches only the benchmark, through the job directory.
 */
import { createHash } from 'node:crypto';
import { appendFile, mkdir, open, readFile, rm, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { performance } from 'node:perf_hooks';
import { execa, execaSync } from 'execa';
import type { Orphan, RunRequest, RunResult, Runner } from '../../tuner/ports.js';
import { benchmarkOf } from '../benchmarks/index.js';
import { buildEnv } from '../env.js';
import { readOplist } from '../oplist.js';
import { clearAttempt, hasNul, jobDirOf, readJobRecord, recordedExit, startedAt, writeJobDir, writeJobRecord } from './job-files.js';
import { isLive, isRetryable, parseJobInfo, parseQueueIds, stateOutcome, type JobInfo } from './job-state.js';
import { sbatchArgv, type SlurmOptions } from './options.js';

export interface SlurmRunnerOptions {
  /** Between two looks at a job (scontrol); also how soon a stop reaches it. */
  readonly pollMs?: number;
  /** Submissions of one run when its node fails or it is preempted. */
  readonly attempts?: number;
  readonly tailChars?: number;
}

const DEFAULT_POLL_MS = 1000;
const DEFAULT_ATTEMPTS = 3;
const DEFAULT_TAIL_CHARS = 2 * 1024 * 1024;

/** Names the run's job in squeue; derived from the run key, so a job proves it is ours. */
export function jobName(runKey: string): string {
  return `autotune-${createHash('sha256').update(runKey).digest('hex').slice(0, 16)}`;
}

type Lookup = { readonly kind: 'job'; readonly info: JobInfo } | { readonly kind: 'gone' } | { readonly kind: 'unknown' };

function lookupOf(result: { exitCode?: number | undefined; stdout?: unknown; stderr?: unknown }): Lookup {
  const stdout = typeof result.stdout === 'string' ? result.stdout : '';
  const stderr = typeof result.stderr === 'string' ? result.stderr : '';
  const info = result.exitCode === 0 ? parseJobInfo(stdout) : null;
  if (info !== null) return { kind: 'job', info };
  // Anything else (the controller not answering) is asked again at the next look.
  return /Invalid job id/i.test(stderr) ? { kind: 'gone' } : { kind: 'unknown' };
}

async function lookup(jobId: string): Promise<Lookup> {
  return lookupOf(await execa('scontrol', ['show', 'job', '-o', jobId], { reject: false, stdin: 'ignore' }));
}

function lookupSync(jobId: string): Lookup {
  return lookupOf(execaSync('scontrol', ['show', 'job', '-o', jobId], { reject: false, stdin: 'ignore' }));
}

function firstLine(text: unknown): string {
  return (typeof text === 'string' ? text : '').split('\n').map((l) => l.trim()).find((l) => l !== '') ?? '';
}

/** Resolves after `ms`, or as soon as the signal aborts. */
function pause(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted === true) return resolve();
    const done = (): void => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
  });
}

/** Follows the log as SLURM writes it, for the console. */
class LogFollower {
  #offset = 0;
  constructor(
    private readonly path: string,
    private readonly echo: ((chunk: string) => void) | undefined,
  ) {}

  async poll(): Promise<void> {
    if (this.echo === undefined) return;
    let handle;
    try {
      handle = await open(this.path, 'r');
    } catch {
      return;
    }
    try {
      for (;;) {
        const buffer = Buffer.alloc(64 * 1024);
        const { bytesRead } = await handle.read(buffer, 0, buffer.length, this.#offset);
        if (bytesRead === 0) break;
        this.#offset += bytesRead;
        this.echo(buffer.subarray(0, bytesRead).toString('utf8'));
      }
    } finally {
      await handle.close();
    }
  }
}

async function readOutputJson(path: string | null): Promise<string | null> {
  if (path === null) return null;
  try {
    return await readFile(path, 'utf8');
  } catch {
    return null;
  }
}

interface JobEnd {
  /** The last SLURM state seen; null when SLURM forgot the job before it was seen ending. */
  readonly state: string | null;
  readonly exitCode: number | null;
  readonly timedOut: boolean;
  readonly interrupted: boolean;
  readonly startedAt: number | null;
}

type Submitted = { readonly jobId: string } | { readonly spawnError: string };

export class SlurmRunner implements Runner {
  readonly name = 'slurm';
  readonly #options: SlurmOptions;
  readonly #pollMs: number;
  readonly #attempts: number;
  readonly #tailChars: number;

  constructor(options: SlurmOptions, runner: SlurmRunnerOptions = {}) {
    this.#options = options;
    this.#pollMs = runner.pollMs ?? DEFAULT_POLL_MS;
    this.#attempts = runner.attempts ?? DEFAULT_ATTEMPTS;
    this.#tailChars = runner.tailChars ?? DEFAULT_TAIL_CHARS;
  }

  /** Cancels the orphan's job when it is still in flight and carries the orphan's run key in its name. */
  reap(orphan: Orphan): boolean {
    const name = jobName(orphan.runKey);
    if (orphan.handle !== null) {
      const found = lookupSync(orphan.handle.id);
      if (found.kind !== 'job' || found.info.name !== name || !isLive(found.info.state)) return false;
      return execaSync('scancel', [orphan.handle.id], { reject: false, stdin: 'ignore' }).exitCode === 0;
    }
    const listed = execaSync('squeue', ['-h', '-n', name, '-o', '%i'], { reject: false, stdin: 'ignore' });
    const ids = parseQueueIds(typeof listed.stdout === 'string' ? listed.stdout : '');
    for (const id of ids) execaSync('scancel', [id], { reject: false, stdin: 'ignore' });
    return ids.length > 0;
  }

  async run(request: RunRequest): Promise<RunResult> {
    const started = performance.now();
    if (request.signal?.aborted === true) {
      return { outcome: 'interrupted', exitCode: null, signal: null, metrics: null, durationMs: 0, failure: 'interrupted: stopped before the job was submitted', executedOps: null };
    }
    const jobDir = jobDirOf(request.logPath, request.oplistPath);
    const previous = readJobRecord(jobDir);
    let jobId: string;
    if (previous !== null && previous.runKey === request.runKey) {
      // Submitted by an autotune that stopped before the job ended: its result is this run's.
      jobId = previous.jobId;
      await appendFile(request.logPath, `autotune: adopted SLURM job ${jobId}, left in flight by a previous autotune\n`).catch(() => {});
    } else {
      const submitted = await this.#prepareAndSubmit(request, jobDir);
      if ('spawnError' in submitted) return this.#spawnFailure(request, submitted.spawnError, started);
      jobId = submitted.jobId;
    }

    let end: JobEnd;
    for (let attempt = 1; ; attempt += 1) {
      request.onStart?.({ runner: this.name, id: jobId, pid: null });
      end = await this.#follow(jobId, jobDir, request);
      if (end.state === null || !isRetryable(end.state) || end.interrupted || end.timedOut || attempt >= this.#attempts) break;
      await appendFile(request.logPath, `autotune: SLURM job ${jobId} ended ${end.state}; submitting the run again (attempt ${attempt + 1} of ${this.#attempts})\n`).catch(() => {});
      await clearAttempt(jobDir);
      const again = await this.#submit(request, jobDir);
      if ('spawnError' in again) return this.#spawnFailure(request, again.spawnError, started);
      jobId = again.jobId;
    }
    return this.#result(request, jobDir, jobId, end, started);
  }

  async #prepareAndSubmit(request: RunRequest, jobDir: string): Promise<Submitted> {
    // Files left by an earlier run must never be read as this run's.
    await rm(request.oplistPath, { force: true });
    if (request.outputJsonPath !== null) await rm(request.outputJsonPath, { force: true });
    const argv = [request.vllmBin, ...benchmarkOf(request.trial).argv(request)];
    const input = { argv, env: buildEnv(request.baseEnv, request.trial, request), cwd: process.cwd() };
    // env(1) would read a command containing `=` as one more variable.
    if (request.vllmBin.includes('=')) return { spawnError: `cannot submit '${request.vllmBin}': a vllm executable for SLURM may not contain '='` };
    if (hasNul(input)) return { spawnError: 'cannot submit the run: an argument or variable contains a NUL byte' };
    await mkdir(dirname(request.logPath), { recursive: true });
    await writeFile(request.logPath, '');
    await writeJobDir(jobDir, input);
    return this.#submit(request, jobDir);
  }

  async #submit(request: RunRequest, jobDir: string): Promise<Submitted> {
    const argv = sbatchArgv(this.#options, { name: jobName(request.runKey), jobDir, logPath: request.logPath, script: `${jobDir}/job.sh` });
    const result = await execa('sbatch', argv, { reject: false, stdin: 'ignore' });
    const code = (result.cause as NodeJS.ErrnoException | undefined)?.code;
    if (code === 'ENOENT') return { spawnError: 'sbatch not found on PATH: --runner slurm submits from a SLURM login node' };
    const jobId = firstLine(result.stdout).split(';')[0] ?? '';
    if (result.exitCode !== 0 || !/^\d+(_\d+)?$/.test(jobId)) {
      return { spawnError: `sbatch refused the job: ${firstLine(result.stderr) || firstLine(result.stdout) || `exit status ${String(result.exitCode)}`}` };
    }
    await writeJobRecord(jobDir, { jobId, runKey: request.runKey });
    return { jobId };
  }

  /** Watches the job until SLURM says it ended (or forgets it), cancelling it on a stop or a timeout. */
  async #follow(jobId: string, jobDir: string, request: RunRequest): Promise<JobEnd> {
    const log = new LogFollower(request.logPath, request.echo);
    let state: string | null = null;
    let exitCode: number | null = null;
    let start: number | null = null;
    let timedOut = false;
    let interrupted = false;
    let cancelled = false;
    const cancel = async (): Promise<void> => {
      if (cancelled) return;
      cancelled = true;
      await execa('scancel', [jobId], { reject: false, stdin: 'ignore' });
    };
    for (;;) {
      if (request.signal?.aborted === true && !cancelled) {
        interrupted = true;
        await cancel();
      }
      const found = await lookup(jobId);
      await log.poll();
      start ??= startedAt(jobDir) ?? (found.kind === 'job' && found.info.state === 'RUNNING' ? Date.now() : null);
      if (start !== null && !cancelled && Date.now() - start > request.timeoutMs) {
        timedOut = true;
        await cancel();
      }
      if (found.kind === 'gone') break;
      if (found.kind === 'job') {
        state = found.info.state;
        exitCode = found.info.exitCode;
        if (!isLive(state)) break;
      }
      await pause(this.#pollMs, cancelled ? undefined : request.signal);
    }
    await log.poll();
    return { state, exitCode, timedOut, interrupted, startedAt: start };
  }

  async #result(request: RunRequest, jobDir: string, jobId: string, end: JobEnd, started: number): Promise<RunResult> {
    const benchmark = benchmarkOf(request.trial);
    const text = await readFile(request.logPath, 'utf8').catch(() => '');
    const logText = text.length > this.#tailChars ? text.slice(-this.#tailChars) : text;
    const exit = recordedExit(jobDir);
    const exitCode = exit?.code ?? (end.state === 'COMPLETED' || end.state === 'FAILED' ? end.exitCode : null);
    const metrics = benchmark.measure(logText, await readOutputJson(request.outputJsonPath), request);
    const spawnError =
      exitCode === 127 && /^\/usr\/bin\/env: /m.test(logText)
        ? `vllm executable not found on the compute node: '${request.vllmBin}' (set --vllm-bin)`
        : exitCode === 126
          ? `vllm executable not runnable on the compute node: '${request.vllmBin}' (set --vllm-bin)`
          : null;
    const byState = end.interrupted || end.timedOut || exit !== null || end.state === null ? null : stateOutcome(end.state);
    const classified =
      byState !== null
        ? { outcome: byState.outcome, failure: `SLURM job ${jobId} ${byState.failure}` }
        : end.state === null && exit === null && !end.interrupted && !end.timedOut
          ? { outcome: 'engine_failure' as const, failure: `SLURM job ${jobId} ended without recording an exit status, and SLURM no longer knows it` }
          : benchmark.classify({ log: logText, hasResult: metrics !== null, exitCode, signal: null, timedOut: end.timedOut, interrupted: end.interrupted, spawnError });
    const runStart = end.startedAt;
    const durationMs = runStart === null ? performance.now() - started : Math.max(0, (exit?.at ?? Date.now()) - runStart);
    return {
      outcome: classified.outcome,
      exitCode,
      signal: null,
      metrics,
      durationMs,
      failure: classified.failure,
      executedOps: request.trial.recordOplist ? await readOplist(request.oplistPath) : null,
    };
  }

  async #spawnFailure(request: RunRequest, message: string, started: number): Promise<RunResult> {
    await mkdir(dirname(request.logPath), { recursive: true });
    await appendFile(request.logPath, `autotune: ${message}\n`).catch(() => {});
    return { outcome: 'spawn_error', exitCode: null, signal: null, metrics: null, durationMs: performance.now() - started, failure: message, executedOps: null };
  }
}
