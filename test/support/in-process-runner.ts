/**
 * A Runner that runs nothing: each "benchmark" is a timer in this process that writes a log
 * and a result, so the runner contract (test/runners/contract.ts) can be held against a
 * runner with no processes, as a remote runner's test double would be.
 * Behaviour by the first pass-through argument: `ok`, `hang` (runs until stopped) or `fail`.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { fromThroughput } from '../../src/tuner/metrics.js';
import type { Orphan, RunRequest, RunResult, Runner } from '../../src/tuner/ports.js';

export class InProcessRunner implements Runner {
  readonly name = 'in-process';
  private next = 1;
  /** Live runs by handle id: what reap can still kill. */
  private readonly live = new Map<string, { runKey: string; kill: () => void }>();

  alive(id: string): boolean {
    return this.live.has(id);
  }

  reap(orphan: Orphan): boolean {
    const run = orphan.handle === null ? [...this.live.values()].find((r) => r.runKey === orphan.runKey) : this.live.get(orphan.handle.id);
    if (run === undefined || run.runKey !== orphan.runKey) return false;
    run.kill();
    return true;
  }

  run(request: RunRequest): Promise<RunResult> {
    const started = Date.now();
    const base = { signal: null, executedOps: null, failure: null } as const;
    if (request.signal?.aborted === true) return Promise.resolve({ ...base, outcome: 'interrupted', exitCode: null, metrics: null, durationMs: 0, failure: 'interrupted' });
    const behaviour = request.passthrough[0] ?? 'ok';
    const id = `job-${this.next++}`;
    mkdirSync(dirname(request.logPath), { recursive: true });
    return new Promise((resolve) => {
      const finish = (result: Omit<RunResult, 'durationMs'>, log: string): void => {
        clearTimeout(timer);
        this.live.delete(id);
        request.signal?.removeEventListener('abort', onAbort);
        writeFileSync(request.logPath, log);
        request.echo?.(log);
        resolve({ ...result, durationMs: Date.now() - started });
      };
      const timer = setTimeout(
        () => finish({ ...base, outcome: 'timeout', exitCode: null, signal: 'SIGKILL', metrics: null, failure: 'timed out' }, 'started\n'),
        behaviour === 'hang' ? request.timeoutMs : 5,
      );
      if (behaviour !== 'hang') {
        clearTimeout(timer);
        setTimeout(() => {
          if (behaviour === 'ok') finish({ ...base, outcome: 'ok', exitCode: 0, metrics: fromThroughput({ requestsPerSec: 1, totalTokensPerSec: 100, outputTokensPerSec: 50 }) }, 'Throughput: 1.00 requests/s, 100.00 total tokens/s, 50.00 output tokens/s\n');
          else finish({ ...base, outcome: 'nonzero_exit', exitCode: 1, metrics: null, failure: 'exited with code 1' }, 'boom\n');
        }, 5);
      }
      const onAbort = (): void => finish({ ...base, outcome: 'interrupted', exitCode: null, signal: 'SIGTERM', metrics: null, failure: 'interrupted' }, 'started\n');
      request.signal?.addEventListener('abort', onAbort, { once: true });
      this.live.set(id, { runKey: request.runKey, kill: () => finish({ ...base, outcome: 'nonzero_exit', exitCode: null, signal: 'SIGKILL', metrics: null, failure: 'killed' }, 'started\n') });
      request.onStart?.({ runner: this.name, id, pid: null });
    });
  }
}
