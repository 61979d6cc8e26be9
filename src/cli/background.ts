/** Starts a detached worker that drives a session after this process has exited. */
import { closeSync, openSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { spawn } from 'node:child_process';
import type { SessionRecord } from '../store/records.js';
import { ARTIFACTS } from '../store/artifacts.js';

const MAIN = fileURLToPath(new URL('./main.js', import.meta.url));

/**
 * The worker gets its own session and process group (detached), so closing the terminal
 * (SIGHUP) or Ctrl-C there never reaches it; its output goes to the session log.
 */
export function startWorker(session: SessionRecord, dbPath: string): { pid: number; logPath: string } {
  const logPath = join(session.runDir, ARTIFACTS.sessionLog);
  const fd = openSync(logPath, 'a');
  try {
    // Plain spawn rather than execa: the worker must hold the log's file descriptor itself,
    // with no pipe that this short-lived parent would have to keep pumping.
    const child = spawn(process.execPath, [MAIN, 'resume', session.id, '--db', dbPath, '--worker'], {
      detached: true,
      stdio: ['ignore', fd, fd],
    });
    child.unref();
    if (child.pid === undefined) throw new Error('the worker process could not be started');
    return { pid: child.pid, logPath };
  } finally {
    closeSync(fd);
  }
}

export function workerBanner(session: SessionRecord, pid: number, logPath: string): string {
  return [
    `Started session ${session.id} in the background (worker pid ${pid}).`,
    `  run directory: ${session.runDir}`,
    `  log:           ${logPath}`,
    `  watch:         autotune status ${session.id}`,
    `  stop:          autotune stop ${session.id}`,
    `  resume later:  autotune resume ${session.id}`,
    '',
  ].join('\n');
}
