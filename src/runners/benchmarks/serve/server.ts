/**
 * A `vllm serve` started for one trial: its own process group, the trial's environment (with
 * AUTOTUNE_RUN_KEY, so a resume after a crash of the daemon can find and reap it), a free
 * loopback port of its own, its console in the run directory. The console goes straight to
 * the log file, not through a pipe of autotune's, which reads it back from there: a server
 * outlives a kill -9 of autotune as it would any other death of its parent (no broken pipe on
 * its next log line), and stays there for the reap.
 *
 * Ready means both: GET /v1/models answers 200, and the log shows uvicorn's `Application
 * startup complete.` (the port can answer before the engine is up behind a proxy, and a log
 * line alone says nothing about which port). Waiting is bounded by `readyTimeoutMs`; a server
 * that exits first, OOMs or never gets ready is a classified failure with the log's root cause.
 * Stop sends SIGTERM to the whole group, then SIGKILL after a grace period, and returns only
 * once no process of the group is left.
 */
import { createServer } from 'node:net';
import { spawn } from 'node:child_process';
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { mkdir, open, writeFile, type FileHandle } from 'node:fs/promises';
import { request as httpRequest } from 'node:http';
import { dirname } from 'node:path';
import { performance } from 'node:perf_hooks';
import { StringDecoder } from 'node:string_decoder';
import { setTimeout as sleep } from 'node:timers/promises';
import { AutotuneError } from '../../../errors.js';
import type { Classification } from '../../classify-failure.js';
import { isProcessGroupAlive, killProcessGroup } from '../../process-group.js';
import { buildServeArgv } from './args.js';
import { classifyServerDeathDuringLoad, classifyServerFailure } from './classify.js';
import { logShowsStartupComplete, parseServerMemory, type ServerMemory } from './server-log.js';

export const DEFAULT_SERVER_READY_TIMEOUT_S = 600;

export interface ServerOptions {
  readonly vllmBin: string;
  readonly model: string;
  /** `vllm serve` engine arguments (the trial's included); `--host`/`--port` are autotune's. */
  readonly engineArgs: readonly string[];
  /** The complete environment of the server (the trial's, built by the caller). */
  readonly env: Readonly<Record<string, string>>;
  readonly runKey: string;
  readonly logPath: string;
  readonly readyTimeoutMs: number;
  readonly signal?: AbortSignal;
  /** Between SIGTERM and SIGKILL. */
  readonly killGraceMs?: number;
  readonly pollMs?: number;
  /** Called with the group leader's pid as soon as it exists (to record it for a later reap). */
  readonly onSpawn?: (pid: number) => void;
  /** Where ports come from; pickFreePort unless a test needs a race it can see. */
  readonly pickPort?: () => Promise<number>;
}

export interface ServerExit {
  readonly exitCode: number | null;
  readonly signal: string | null;
}

export interface RunningServer {
  readonly baseUrl: string;
  readonly port: number;
  readonly pid: number;
  readonly logPath: string;
  /** The console so far: its first part (start-up, memory lines) and its tail. */
  log(): string;
  memory(): ServerMemory;
  /** Null while it runs. */
  exit(): ServerExit | null;
  /** Why it died, once it has (a death during the load). */
  deathClassification(): Classification | null;
  /** SIGTERM the group, SIGKILL after the grace period; resolves when nothing of it is left. */
  stop(): Promise<void>;
}

export type ServerStart =
  | { readonly kind: 'ready'; readonly server: RunningServer; readonly readyMs: number }
  | { readonly kind: 'failed'; readonly classification: Classification; readonly log: string; readonly readyMs: number }
  | { readonly kind: 'interrupted'; readonly log: string };

const DEFAULT_KILL_GRACE_MS = 5000;
const DEFAULT_POLL_MS = 250;
const HEAD_CHARS = 1024 * 1024;
const TAIL_CHARS = 1024 * 1024;
/** A port taken between our probe and the server's bind: try another, a few times. */
const PORT_ATTEMPTS = 3;
const ADDRESS_IN_USE = /address already in use|EADDRINUSE|Errno 98/;

/** A port the kernel has just handed out on loopback and that is free again when this returns. */
export function pickFreePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const address = probe.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      probe.close(() => (port > 0 ? resolve(port) : reject(new Error('no port assigned'))));
    });
  });
}

/** Whether something accepts connections on 127.0.0.1:port (the server, or a survivor of it). */
export function portIsBound(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = createServer();
    probe.once('error', () => resolve(true));
    probe.listen(port, '127.0.0.1', () => probe.close(() => resolve(false)));
  });
}

/** GET url: the status and body, or null when nothing answers within `timeoutMs`. */
export function httpGet(url: string, timeoutMs: number): Promise<{ status: number; body: string } | null> {
  return new Promise((resolve) => {
    const req = httpRequest(url, { method: 'GET', timeout: timeoutMs, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', () => resolve(null));
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(null));
    req.end();
  });
}

/** SIGTERM, then SIGKILL after `graceMs`; returns once no live process of the group is left (or a wedged one outlasts a second grace). */
async function stopGroup(pgid: number, graceMs: number): Promise<void> {
  if (!isProcessGroupAlive(pgid)) return;
  killProcessGroup(pgid, 'SIGTERM');
  const deadline = performance.now() + graceMs;
  while (isProcessGroupAlive(pgid) && performance.now() < deadline) await sleep(25);
  if (!isProcessGroupAlive(pgid)) return;
  killProcessGroup(pgid, 'SIGKILL');
  const killDeadline = performance.now() + graceMs;
  while (isProcessGroupAlive(pgid) && performance.now() < killDeadline) await sleep(25);
}

class ServerLog {
  private head = '';
  private tail = '';
  private truncated = false;
  push(text: string): void {
    if (this.head.length < HEAD_CHARS) {
      const room = HEAD_CHARS - this.head.length;
      this.head += text.slice(0, room);
      text = text.slice(room);
    }
    if (text.length === 0) return;
    this.tail += text;
    if (this.tail.length > 2 * TAIL_CHARS) {
      this.tail = this.tail.slice(-TAIL_CHARS);
      this.truncated = true;
    }
  }
  text(): string {
    return this.truncated ? `${this.head}\n${this.tail.slice(-TAIL_CHARS)}` : this.head + this.tail;
  }
}

/** The log file as the server writes it, read on demand from where the last read stopped. */
class FollowedLog {
  private readonly log = new ServerLog();
  private readonly decoder = new StringDecoder('utf8');
  private readonly buffer = Buffer.alloc(64 * 1024);
  private fd: number | null;
  /** From the end of what an earlier attempt wrote: each attempt's log is its own. */
  private offset: number;

  constructor(path: string) {
    this.fd = openSync(path, 'r');
    this.offset = fstatSync(this.fd).size;
  }

  text(): string {
    this.pull();
    return this.log.text();
  }

  /** Reads what is left and lets the file go. */
  close(): void {
    this.pull();
    if (this.fd !== null) closeSync(this.fd);
    this.fd = null;
  }

  private pull(): void {
    if (this.fd === null) return;
    for (;;) {
      const n = readSync(this.fd, this.buffer, 0, this.buffer.length, this.offset);
      if (n === 0) return;
      this.offset += n;
      this.log.push(this.decoder.write(this.buffer.subarray(0, n)));
    }
  }
}

function spawnFailure(bin: string, cause: unknown): string {
  const code = (cause as NodeJS.ErrnoException | undefined)?.code;
  if (code === 'ENOENT') return `vllm executable not found: '${bin}'${bin.includes('/') ? ' does not exist' : ' is not on PATH'} (set --vllm-bin)`;
  return `cannot start '${bin}': ${cause instanceof Error ? cause.message : String(cause)}`;
}

interface Attempt {
  readonly start: ServerStart;
  /** The server lost the race for its port: try again on another one. */
  readonly portTaken: boolean;
}

/** Starts the server and waits until it is ready, failed, or the wait is interrupted. */
export async function startServer(options: ServerOptions): Promise<ServerStart> {
  if (options.readyTimeoutMs <= 0) throw new AutotuneError('E_USAGE', '--server-ready-timeout must be above 0');
  await mkdir(dirname(options.logPath), { recursive: true });
  let file: FileHandle;
  try {
    // Appending: the server's writes and autotune's own lines never overwrite each other.
    await writeFile(options.logPath, '');
    file = await open(options.logPath, 'a');
  } catch (error) {
    throw new AutotuneError('E_IO', `cannot create the log ${options.logPath}: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
  }
  try {
    for (let attempt = 1; ; attempt++) {
      const a = await attemptStart(options, file);
      if (!a.portTaken || attempt >= PORT_ATTEMPTS) {
        if (a.start.kind !== 'ready') await file.close();
        return a.start;
      }
      await file.write(`autotune: port taken before the server could bind it; retrying on another port\n`);
    }
  } catch (error) {
    await file.close();
    throw error;
  }
}

async function attemptStart(options: ServerOptions, file: FileHandle): Promise<Attempt> {
  const started = performance.now();
  const port = await (options.pickPort ?? pickFreePort)();
  const baseUrl = `http://127.0.0.1:${port}`;
  const env = { ...options.env, AUTOTUNE_RUN_KEY: options.runKey };
  const log = new FollowedLog(options.logPath);
  // node:child_process, not execa: execa types no file descriptor of ours as stdout (its `file`
  // target pipes through this process, which is what must not happen here). Still an argv array.
  const child = spawn(options.vllmBin, buildServeArgv(options.model, options.engineArgs, port), { env, detached: true, stdio: ['ignore', file.fd, file.fd] });
  const spawned = new Promise<unknown>((resolve) => {
    child.once('spawn', () => resolve(null));
    child.once('error', (error) => resolve(error));
  });
  const spawnError = await spawned;
  const pid = child.pid;
  if (pid === undefined || spawnError !== null) {
    log.close();
    const failure = spawnFailure(options.vllmBin, spawnError);
    await file.write(`autotune: ${failure}\n`);
    return { start: { kind: 'failed', classification: { outcome: 'spawn_error', failure }, log: failure, readyMs: 0 }, portTaken: false };
  }
  options.onSpawn?.(pid);
  // A holder, not a `let`: it is set from a callback, which TypeScript's narrowing does not see.
  const state: { exited: ServerExit | null } = { exited: null };
  const done = new Promise<void>((resolve) => {
    child.once('exit', (exitCode, signal) => {
      state.exited = { exitCode, signal };
      resolve();
    });
  });
  const grace = options.killGraceMs ?? DEFAULT_KILL_GRACE_MS;
  let stopped: Promise<void> | null = null;
  /** Ends the group and flushes the log; the log file itself stays open for a retry. */
  const stop = (): Promise<void> => {
    stopped ??= (async () => {
      await stopGroup(pid, grace);
      await done;
      log.close();
    })();
    return stopped;
  };
  // Survivors of a leader that exited on its own (EngineCore, workers) hold the GPU: sweep them.
  void done.then(() => (stopped === null ? stopGroup(pid, grace) : undefined));

  const deadline = started + options.readyTimeoutMs;
  const poll = options.pollMs ?? DEFAULT_POLL_MS;
  let modelsAnswered = false;
  for (;;) {
    if (options.signal?.aborted === true) {
      await stop();
      return { start: { kind: 'interrupted', log: log.text() }, portTaken: false };
    }
    const current = state.exited;
    if (current !== null) {
      await stop();
      const text = log.text();
      const portTaken = ADDRESS_IN_USE.test(text);
      const classification = classifyServerFailure({ kind: 'exited', log: text, exitCode: current.exitCode, signal: current.signal, waitedS: (performance.now() - started) / 1000, modelsAnswered, startupLogged: logShowsStartupComplete(text) });
      return { start: { kind: 'failed', classification, log: text, readyMs: performance.now() - started }, portTaken };
    }
    const startupLogged = logShowsStartupComplete(log.text());
    if (!modelsAnswered || !startupLogged) {
      const answer = await httpGet(`${baseUrl}/v1/models`, Math.max(100, Math.min(2000, deadline - performance.now())));
      modelsAnswered = answer !== null && answer.status === 200;
    }
    if (modelsAnswered && logShowsStartupComplete(log.text()) && state.exited === null) {
      const server: RunningServer = {
        baseUrl,
        port,
        pid,
        logPath: options.logPath,
        log: () => log.text(),
        memory: () => parseServerMemory(log.text()),
        exit: () => state.exited,
        deathClassification: () => {
          const e = state.exited;
          return e === null ? null : classifyServerDeathDuringLoad({ log: log.text(), exitCode: e.exitCode, signal: e.signal });
        },
        stop: async () => {
          await stop();
          await file.close().catch(() => undefined);
        },
      };
      return { start: { kind: 'ready', server, readyMs: performance.now() - started }, portTaken: false };
    }
    if (performance.now() >= deadline) {
      await stop();
      const text = log.text();
      const classification = classifyServerFailure({ kind: 'never_ready', log: text, exitCode: null, signal: null, waitedS: options.readyTimeoutMs / 1000, modelsAnswered, startupLogged: logShowsStartupComplete(text) });
      return { start: { kind: 'failed', classification, log: text, readyMs: performance.now() - started }, portTaken: false };
    }
    await Promise.race([sleep(Math.min(poll, Math.max(1, deadline - performance.now()))), done]);
  }
}
