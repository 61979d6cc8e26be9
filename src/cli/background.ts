/** Starts a detached worker that drives a session after this process has exited. */
import { closeSync, openSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { spawn, type ChildProcess } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { AutotuneError } from '../errors.js';
import type { Store } from '../store/db.js';
import { makeDirs } from '../store/dirs.js';
import { RAW_DIR } from '../store/run-dir.js';
import type { SessionRecord } from '../store/records.js';
import { getSession } from '../store/sessions.js';
import { ARTIFACTS } from '../store/artifacts.js';

const MAIN = fileURLToPath(new URL('./main.js', import.meta.url));
/** How long the parent waits for the worker to take the session (node start-up on a loaded machine). */
const HANDSHAKE_MS = 15_000;
const POLL_MS = 50;

export interface Worker {
  readonly pid: number;
  readonly logPath: string;
}

/** The worker's stderr: autotune.log holds JSON lines only, so anything else goes here. */
function stderrPath(session: SessionRecord): string {
  return join(session.runDir, RAW_DIR, 'worker.stderr');
}

function lastLine(path: string): string | null {
  try {
    const lines = readFileSync(path, 'utf8').split('\n').map((l) => l.trim()).filter((l) => l !== '');
    return lines.at(-1)?.replace(/^autotune: /, '') ?? null;
  } catch {
    return null;
  }
}

/**
 * Waits until the worker holds the session (its lease, state running) or has already
 * finished; a worker that dies first is reported as one line with a non-zero status.
 */
async function handshake(store: Store, session: SessionRecord, child: ChildProcess, pid: number): Promise<void> {
  let exit: number | null = null;
  child.once('exit', (code, signal) => {
    exit = code ?? (signal === null ? 1 : 128);
  });
  const deadline = Date.now() + HANDSHAKE_MS;
  while (Date.now() < deadline) {
    if (exit !== null) {
      // 0: done already (a fast session); 130: it acknowledged a stop and ran nothing.
      if (exit === 0 || exit === 130) return;
      const why = lastLine(stderrPath(session)) ?? `exit status ${exit}`;
      throw new AutotuneError('E_WORKER', `the background worker for session ${session.id} failed at once: ${why}`, {
        exitStatus: exit > 0 && exit < 126 ? exit : 1,
      });
    }
    const now = getSession(store, session.id);
    if (now !== null && now.lease?.pid === pid && now.state === 'running') return;
    await sleep(POLL_MS);
  }
}

/**
 * The worker gets its own session and process group (detached), so closing the terminal
 * (SIGHUP) or Ctrl-C there never reaches it; it logs to the session log itself.
 */
export async function startWorker(store: Store, session: SessionRecord, dbPath: string): Promise<Worker> {
  const logPath = join(session.runDir, ARTIFACTS.sessionLog);
  const errPath = stderrPath(session);
  makeDirs(join(session.runDir, RAW_DIR));
  const fd = openSync(errPath, 'w');
  let child: ChildProcess;
  try {
    // Plain spawn rather than execa: the worker must hold its file descriptors itself, with no
    // pipe that this short-lived parent would have to keep pumping.
    child = spawn(process.execPath, [MAIN, 'resume', session.id, '--db', dbPath, '--worker'], {
      detached: true,
      stdio: ['ignore', 'ignore', fd],
    });
  } finally {
    closeSync(fd);
  }
  const pid = child.pid;
  if (pid === undefined) throw new AutotuneError('E_WORKER', 'the background worker process could not be started');
  try {
    await handshake(store, session, child, pid);
  } finally {
    child.unref();
  }
  return { pid, logPath };
}

export function workerBanner(session: SessionRecord, worker: Worker): string {
  return [
    `Started session ${session.id} in the background (worker pid ${worker.pid}).`,
    `  run directory: ${session.runDir}`,
    `  log:           ${worker.logPath}`,
    `  watch:         autotune status ${session.id}`,
    `  stop:          autotune stop ${session.id}`,
    `  resume later:  autotune resume ${session.id}`,
    '',
  ].join('\n');
}
