/**
 * Runs one benchmark invocation (the trial's kind: `vllm bench throughput`, `vllm bench latency`)
 * on this machine as a child process in its own process group, streams its console to the
 * run's log, and turns the end of it into a RunResult.
 */
import { mkdir, open, readFile, rm, type FileHandle } from 'node:fs/promises';
import { dirname } from 'node:path';
import { performance } from 'node:perf_hooks';
import { StringDecoder } from 'node:string_decoder';
import { setTimeout as sleep } from 'node:timers/promises';
import { execa } from 'execa';
import { AutotuneError } from '../errors.js';
import type { Orphan, RunRequest, RunResult, Runner } from '../tuner/ports.js';
import { benchmarkOf } from './benchmarks/index.js';
import { buildEnv } from './env.js';
import { LogCapture } from './log-capture.js';
import { readOplist } from './oplist.js';
import { isProcessAlive, isProcessGroupAlive, killProcessGroup, killRunKeyProcesses, processEnvironHasRunKey, processesWithRunKey } from './process-group.js';

export { isProcessAlive, killProcessGroup, processEnvironHasRunKey } from './process-group.js';

export interface LocalRunnerOptions {
  /** Between SIGTERM and SIGKILL to the group; vLLM needs a few seconds to shut down cleanly. */
  readonly killGraceMs?: number;
  /** Console characters kept in memory for classification; the log file has everything. */
  readonly tailChars?: number;
}

const DEFAULT_KILL_GRACE_MS = 5000;
const DEFAULT_TAIL_CHARS = 2 * 1024 * 1024;
const GROUP_POLL_MS = 25;
/** After the whole tree is gone, how long the console pipe may take to reach its end. */
const DRAIN_MS = 500;
/** setTimeout fires at once for longer delays (it holds a signed 32-bit count). */
const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * SIGTERM now, SIGKILL after a grace period, whatever triggered it first (timeout, abort,
 * leader exit), to the benchmark's process group and to every process carrying the run's
 * key: a descendant that left the group (setsid) is still the run's.
 */
class TreeTermination {
  private killTimer: NodeJS.Timeout | null = null;
  private termSentAt: number | null = null;

  constructor(
    private readonly pgid: number,
    private readonly runKey: string,
    private readonly graceMs: number,
  ) {}

  private signal(signal: NodeJS.Signals): void {
    killProcessGroup(this.pgid, signal);
    killRunKeyProcesses((key) => key === this.runKey, signal);
  }

  private alive(): boolean {
    return isProcessGroupAlive(this.pgid) || processesWithRunKey((key) => key === this.runKey).length > 0;
  }

  terminate(): void {
    if (this.termSentAt !== null) return;
    this.termSentAt = performance.now();
    this.signal('SIGTERM');
    this.killTimer = setTimeout(() => this.signal('SIGKILL'), this.graceMs);
  }

  /** Returns once no process of the tree is left, escalating to SIGKILL if needed. */
  async settle(): Promise<void> {
    if (this.alive()) {
      this.terminate();
      const deadline = (this.termSentAt ?? performance.now()) + this.graceMs;
      while (this.alive() && performance.now() < deadline) await sleep(GROUP_POLL_MS);
      this.signal('SIGKILL');
      // SIGKILL cannot be caught, but a process stuck in the kernel (a wedged GPU driver) may
      // never die; waiting for it forever would hang the daemon too.
      const killDeadline = performance.now() + this.graceMs;
      while (this.alive() && performance.now() < killDeadline) await sleep(GROUP_POLL_MS);
    }
    if (this.killTimer !== null) clearTimeout(this.killTimer);
  }
}

function spawnErrorMessage(bin: string, cause: unknown): string {
  const code = (cause as NodeJS.ErrnoException | undefined)?.code;
  if (code === 'ENOENT') {
    return bin.includes('/')
      ? `vllm executable not found: '${bin}' does not exist (set --vllm-bin)`
      : `vllm executable not found: '${bin}' is not on PATH (set --vllm-bin)`;
  }
  if (code === 'EACCES') return `vllm executable not runnable: '${bin}' is not executable (set --vllm-bin)`;
  return `cannot start '${bin}': ${cause instanceof Error ? cause.message : String(cause)}`;
}

async function readOutputJson(path: string | null): Promise<string | null> {
  if (path === null) return null;
  try {
    return await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw error;
  }
}

function ioError(what: string, path: string, error: unknown): AutotuneError {
  const message = error instanceof Error ? error.message : String(error);
  return new AutotuneError('E_IO', `cannot ${what} ${path}: ${message}`, { cause: error });
}

async function writeLog(log: FileHandle, path: string, data: Buffer): Promise<void> {
  try {
    await log.write(data);
  } catch (error) {
    throw ioError('write the log', path, error);
  }
}

interface ProcessEnd {
  readonly exitCode: number | null;
  readonly signal: string | null;
  readonly timedOut: boolean;
  readonly interrupted: boolean;
  readonly spawnError: string | null;
}

export class LocalRunner implements Runner {
  readonly name = 'local';
  private readonly killGraceMs: number;
  private readonly tailChars: number;

  constructor(options: LocalRunnerOptions = {}) {
    this.killGraceMs = options.killGraceMs ?? DEFAULT_KILL_GRACE_MS;
    this.tailChars = options.tailChars ?? DEFAULT_TAIL_CHARS;
  }

  /**
   * Every process carrying the run's key, and its process group: a live leader must prove it is
   * ours through its environment (its pid may have been recycled); a group whose leader is gone
   * is still ours, since Linux never hands out a pid that is the id of a live process group.
   */
  reap(orphan: Orphan): boolean {
    const killed = killRunKeyProcesses((key) => key === orphan.runKey, 'SIGKILL').length > 0;
    const pgid = orphan.handle?.pid ?? null;
    if (pgid === null || !isProcessGroupAlive(pgid)) return killed;
    if (isProcessAlive(pgid) && !processEnvironHasRunKey(pgid, orphan.runKey)) return killed;
    killProcessGroup(pgid, 'SIGKILL');
    return true;
  }

  async run(request: RunRequest): Promise<RunResult> {
    const started = performance.now();
    const benchmark = benchmarkOf(request.trial);
    if (request.signal?.aborted === true) {
      return { outcome: 'interrupted', exitCode: null, signal: null, metrics: null, durationMs: 0, failure: 'interrupted: stopped before the benchmark started', executedOps: null };
    }
    // A file left by an earlier run must never be read as this run's.
    await rm(request.oplistPath, { force: true });
    if (request.outputJsonPath !== null) await rm(request.outputJsonPath, { force: true });

    let log: FileHandle;
    try {
      await mkdir(dirname(request.logPath), { recursive: true });
      log = await open(request.logPath, 'w');
    } catch (error) {
      throw ioError('create the log', request.logPath, error);
    }
    const capture = new LogCapture(this.tailChars);
    let end: ProcessEnd;
    try {
      end = await this.execute(request, log, capture);
    } finally {
      await log.close();
    }

    const logText = capture.text();
    const metrics = benchmark.measure(logText, await readOutputJson(request.outputJsonPath), request);
    const { outcome, failure } = benchmark.classify({ log: logText, hasResult: metrics !== null, ...end });
    return {
      outcome,
      exitCode: end.exitCode,
      signal: end.signal,
      metrics,
      durationMs: performance.now() - started,
      failure,
      executedOps: request.trial.recordOplist ? await readOplist(request.oplistPath) : null,
    };
  }

  private async execute(request: RunRequest, log: FileHandle, capture: LogCapture): Promise<ProcessEnd> {
    const subprocess = execa(request.vllmBin, benchmarkOf(request.trial).argv(request), {
      env: buildEnv(request.baseEnv, request.trial, request),
      extendEnv: false,
      detached: true, // its own process group, so the whole tree can be signalled
      all: true, // stdout and stderr interleaved as the user would see them
      buffer: false, // the log can be many MB; LogCapture keeps what is needed
      reject: false,
      stdin: 'ignore',
    });
    const pid = subprocess.pid;
    if (pid === undefined) {
      const result = await subprocess;
      const spawnError = spawnErrorMessage(request.vllmBin, result.cause);
      await writeLog(log, request.logPath, Buffer.from(`autotune: ${spawnError}\n`));
      return { exitCode: null, signal: null, timedOut: false, interrupted: false, spawnError };
    }

    const tree = new TreeTermination(pid, request.runKey, this.killGraceMs);
    let timedOut = false;
    let interrupted = false;
    const timer = setTimeout(() => {
      timedOut = true;
      tree.terminate();
    }, Math.min(request.timeoutMs, MAX_TIMER_MS));
    const onAbort = (): void => {
      interrupted = true;
      tree.terminate();
    };
    const exited = new Promise<{ exitCode: number | null; signal: string | null }>((resolve) => {
      subprocess.once('exit', (exitCode, signal) => resolve({ exitCode, signal }));
    });
    // Children that outlive the benchmark would hold the GPU (and our pipe): sweep them.
    void exited.then(() => tree.terminate());
    let abandoned = false;
    const pumping = this.pump(subprocess.all, request, log, capture).catch((error: unknown) => {
      // Reading was given up on purpose (below); only the log's own failures matter.
      if (!abandoned || error instanceof AutotuneError) throw error;
    });

    try {
      request.signal?.addEventListener('abort', onAbort, { once: true });
      // An abort during the file preparation above fired no event.
      if (request.signal?.aborted === true) onAbort();
      request.onStart?.({ runner: this.name, id: String(pid), pid });
      const end = await exited;
      await tree.settle();
      // Every process of the run is gone; a pipe still open is held by one that shed its
      // environment. Reading stops there, so nothing can hold the session past its end.
      const drained = await Promise.race([pumping.then(() => true), sleep(DRAIN_MS).then(() => false)]);
      if (!drained) {
        abandoned = true;
        subprocess.all?.destroy();
        subprocess.stdout?.destroy();
        subprocess.stderr?.destroy();
      }
      await pumping;
      return { exitCode: end.exitCode, signal: end.signal, timedOut, interrupted, spawnError: null };
    } catch (error) {
      tree.terminate();
      throw error;
    } finally {
      clearTimeout(timer);
      request.signal?.removeEventListener('abort', onAbort);
      await tree.settle();
      // Resolves once the streams are closed; with reject: false it never throws.
      await Promise.race([subprocess, sleep(DRAIN_MS)]);
    }
  }

  /** Copies the merged console to the log file (bytes as received), the capture and the echo. */
  private async pump(
    stream: AsyncIterable<unknown> | undefined,
    request: RunRequest,
    log: FileHandle,
    capture: LogCapture,
  ): Promise<void> {
    if (stream === undefined) return;
    const decoder = new StringDecoder('utf8');
    const deliver = (text: string): void => {
      if (text.length === 0) return;
      capture.push(text);
      request.echo?.(text);
    };
    for await (const chunk of stream) {
      const bytes = typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer);
      await writeLog(log, request.logPath, bytes);
      deliver(decoder.write(bytes));
    }
    deliver(decoder.end());
  }
}
