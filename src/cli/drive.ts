/**
 * Drives one session to its end in this process: takes the lease, reaps what a crashed
 * predecessor left running, wires the runner, journal, logs and signals to the engine, and
 * releases everything however it ends.
 */
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { AutotuneError, isAutotuneError } from '../errors.js';
import { createSessionLogger, logEngineEvent } from '../log.js';
import { createRunner } from '../runners/factory.js';
import { isProcessAlive } from '../runners/local.js';
import { userSetOutputJson } from '../runners/env.js';
import type { Store } from '../store/db.js';
import { SqliteJournal } from '../store/journal.js';
import { acquireLease, heartbeat, LEASE_STALE_MS, releaseLease } from '../store/lease.js';
import { reapRunningRuns } from './reap.js';
import { captureHardware } from '../runners/hardware.js';
import { hasHardware, saveHardware } from '../store/hardware.js';
import { defaultReportPath, writeSessionReport } from './session-report.js';
import { clearStop, getSession, setSessionError, updateSessionState } from '../store/sessions.js';
import { POLICIES } from '../tuner/policies/index.js';
import { runSession, type EngineEvent } from '../tuner/session.js';
import { objectiveUnit } from '../tuner/objective.js';
import { createRenderer } from './render.js';
import { policyContext, readSessionOptions } from './session-options.js';

const HEARTBEAT_MS = 2_000;

export interface DriveOptions {
  /** Print readable progress (foreground); a background worker only writes autotune.log. */
  readonly console: boolean;
  /** Echo the benchmark's own output to the console. */
  readonly echo: boolean;
}

function holderMessage(sessionId: string, pid: number, host: string): string {
  return `session ${sessionId} is already being run by pid ${pid} on ${host}; watch it with \`autotune status ${sessionId}\` or stop it with \`autotune stop ${sessionId}\``;
}

export async function driveSession(store: Store, sessionId: string, options: DriveOptions): Promise<number> {
  const token = randomUUID();
  const host = hostname();
  const lease = acquireLease(store, sessionId, { pid: process.pid, host, token, staleAfterMs: LEASE_STALE_MS, isAlive: isProcessAlive });
  if (!lease.acquired) throw new AutotuneError('E_SESSION_LOCKED', holderMessage(sessionId, lease.holder.pid, lease.holder.host));

  const session = getSession(store, sessionId);
  if (session === null) throw new AutotuneError('E_SESSION_NOT_FOUND', `no session ${sessionId}`);
  const opts = readSessionOptions(session.options);
  const logger = createSessionLogger(session.runDir, session.id);
  const print = options.console ? (line: string) => process.stdout.write(`${line}\n`) : () => {};
  const render = options.console ? createRenderer(print) : () => {};

  const controller = new AbortController();
  let signals = 0;
  const onSignal = (signal: NodeJS.Signals): void => {
    signals += 1;
    logger.warn({ event: 'signal', signal }, `received ${signal}`);
    if (signals === 1) {
      print(`Received ${signal}: stopping after killing the running benchmark (again to force)...`);
      controller.abort();
      return;
    }
    // A second signal: the user wants out now; the stale lease makes the session resumable.
    process.exit(130);
  };
  // A detached worker outlives its terminal; a foreground run stops cleanly when the terminal goes.
  const onHangup = options.console ? onSignal : (): void => {};
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  process.on('SIGHUP', onHangup);
  const beat = setInterval(() => {
    try {
      heartbeat(store, session.id, token);
      if (getSession(store, session.id)?.stopRequestedAt != null) controller.abort();
    } catch {
      // A busy or full disk: the next beat retries, and the next run's commit reports it.
    }
  }, HEARTBEAT_MS);

  let metricWarned = false;
  // Older vLLM prints no output tokens/s (and the legacy line no requests/s): say so once.
  const warnIfMetricMissing = (event: EngineEvent): void => {
    if (metricWarned || event.type !== 'run-end' || event.result.metrics === null) return;
    if (event.result.metrics[opts.objective.metric] !== undefined) return;
    metricWarned = true;
    const message = `WARNING: this vLLM does not report ${objectiveUnit(opts.objective)} (${opts.objective.metric}); no configuration can be judged on it (use --autotune-metric total)`;
    logger.warn({ event: 'metric-missing', metric: opts.objective.metric }, message);
    print(message);
  };

  // The recorded environment reproduces the measurement; the current PATH still finds vllm.
  const baseEnv = { ...process.env, ...session.env, PATH: process.env['PATH'] ?? session.env['PATH'] };
  try {
    for (const note of reapRunningRuns(store, session.id)) print(`${note}, left running by the previous worker`);
    clearStop(store, session.id);
    updateSessionState(store, session.id, 'running');
    if (!hasHardware(store, session.id)) saveHardware(store, session.id, await captureHardware(baseEnv));
    logger.info({ event: 'start', pid: process.pid, host, policy: opts.policy, args: session.args, options: opts }, 'session started');
    const outcome = await runSession({
      policy: POLICIES[opts.policy],
      context: policyContext(opts),
      runner: createRunner(),
      journal: new SqliteJournal(store, session, { csvName: opts.csvName, askOutputJson: !userSetOutputJson(session.args) }),
      sessionId: session.id,
      passthrough: session.args,
      vllmBin: opts.vllmBin,
      baseEnv,
      timeoutMs: opts.timeoutSec * 1000,
      signal: controller.signal,
      report: (event: EngineEvent) => {
        logEngineEvent(logger, event);
        render(event);
        warnIfMetricMissing(event);
      },
      ...(options.echo ? { echo: (chunk: string) => void process.stdout.write(chunk) } : {}),
    });
    if (outcome.state === 'completed') {
      print(`Artifacts: ${session.runDir}`);
      print(`Report: ${defaultReportPath(session)}`);
      return 0;
    }
    return 130;
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    logger.error({ event: 'error', code: isAutotuneError(error) ? error.code : 'internal' }, message);
    try {
      const current = getSession(store, session.id);
      if (current !== null && current.state === 'running') {
        setSessionError(store, session.id, message);
        updateSessionState(store, session.id, 'failed');
      }
    } catch {
      // The database itself may be what failed (disk full); the stale lease still marks the session resumable.
    }
    throw error;
  } finally {
    clearInterval(beat);
    // However the session ended, its report shows where it stands (a failure here is only logged).
    try {
      const current = getSession(store, session.id);
      if (current !== null) writeSessionReport(store, current, defaultReportPath(current), Date.now());
    } catch (error) {
      logger.warn({ event: 'report-failed', error: error instanceof Error ? error.message : String(error) }, 'could not write report.html');
    }
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    process.off('SIGHUP', onHangup);
    try {
      releaseLease(store, session.id, token);
      logger.flush();
    } catch {
      // Same: a lease that cannot be released goes stale once this process exits.
    }
  }
}
