/** Structured JSON-lines log of a session, in `<run dir>/autotune.log`. */
import { makeDirs } from './store/dirs.js';
import { join } from 'node:path';
import { pino, type Logger } from 'pino';
import type { EngineEvent } from './tuner/session.js';

export type SessionLogger = Logger;

export function createSessionLogger(runDir: string, sessionId: string): SessionLogger {
  makeDirs(runDir);
  // Synchronous appends: a line logged just before a crash must still be on disk.
  const destination = pino.destination({ dest: join(runDir, 'autotune.log'), sync: true, append: true, mkdir: true });
  return pino({ base: { session: sessionId }, timestamp: pino.stdTimeFunctions.isoTime }, destination);
}

/** One structured record per engine event. */
export function logEngineEvent(log: SessionLogger, event: EngineEvent): void {
  switch (event.type) {
    case 'replayed':
      log.info({ event: 'replayed', runs: event.runs }, 'completed runs restored from the database');
      return;
    case 'run-start':
      log.info(
        { event: 'run-start', seq: event.seq, step: event.step, trial: event.trial.key, round: event.trial.round, kind: event.kind, warmupIndex: event.warmupIndex, env: event.trial.env, logPath: event.logPath },
        `run ${event.seq}: ${event.trial.prefix} ${event.kind}`,
      );
      return;
    case 'run-end': {
      const r = event.result;
      log.info(
        { event: 'run-end', seq: event.seq, trial: event.trial.key, kind: event.kind, outcome: r.outcome, exitCode: r.exitCode, signal: r.signal, metrics: r.metrics, durationMs: Math.round(r.durationMs), failure: r.failure },
        `run ${event.seq}: ${r.outcome}`,
      );
      return;
    }
    case 'policy': {
      const e = event.event;
      if (e.type === 'decision') log.info({ event: 'decision', ...e }, `${e.subject}: ${e.verdict} (${e.reason})`);
      else if (e.type === 'ops') log.info({ event: 'ops', source: e.source, initial: e.initial, final: e.final }, `${Object.keys(e.final).length} operators to tune`);
      else if (e.type === 'best') log.info({ event: 'best', opBackends: e.opBackends }, 'best set so far');
      else if (e.type === 'note') log[e.level]({ event: 'note' }, e.message);
      return;
    }
    case 'done':
      log.info({ event: 'done', result: event.result }, 'session completed');
      return;
    case 'stopped':
      log.info({ event: 'stopped' }, 'session stopped');
      return;
  }
}
