/**
 * Drives one session to its end in this process: takes the lease, reaps what a crashed
 * predecessor left running, wires the runner, journal, logs and signals to the engine, and
 * releases everything however it ends.
 */
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { AutotuneError, isAutotuneError } from '../errors.js';
import { createSessionLogger, logEngineEvent, type SessionLogger } from '../log.js';
import { createRunner } from '../runners/factory.js';
import { isProcessAlive } from '../runners/local.js';
import { envReport, formatEnvReport, userSetOutputJson } from '../runners/env.js';
import type { Store } from '../store/db.js';
import { SqliteJournal } from '../store/journal.js';
import { RECIPE_FILES } from '../store/recipe.js';
import { acquireLease, heartbeat, LEASE_STALE_MS, releaseLease } from '../store/lease.js';
import { killSessionBenchmarks, reapRunningRuns } from './reap.js';
import { captureHardware } from '../runners/hardware.js';
import { hasHardware, saveHardware } from '../store/hardware.js';
import { defaultReportPath, writeSessionReport } from './session-report.js';
import { getSession } from '../store/sessions.js';
import { priorRuns, priorSource, reusedRunCount, reuseOf } from '../store/reuse.js';
import { loadObservations } from '../store/runs.js';
import { PriorRuns } from '../tuner/prior-runs.js';
import { fenced, leaseLost as leaseLostError, startWorking, transition } from '../store/session-state.js';
import { sessionProgress } from '../store/progress.js';
import { POLICIES } from '../tuner/policies/index.js';
import { runSession, type EngineEvent } from '../tuner/session.js';
import { objectiveUnit } from '../tuner/objective.js';
import { createDisplay, SILENT, type Display } from './progress/display.js';
import { policyContext, readSessionOptions } from './session-options.js';
import { serveOptions } from './serve-options.js';
import { serveRunner } from './serve-runner.js';
import { gpuSlots, SlotRunner } from '../runners/slots.js';

const HEARTBEAT_MS = 2_000;

export interface DriveOptions {
  /** Print readable progress (foreground); a background worker only writes autotune.log. */
  readonly console: boolean;
  /** Echo the benchmark's own output to the console. */
  readonly echo: boolean;
  /** The live status area on a terminal (default); false prints plain lines (--no-progress). */
  readonly progress?: boolean;
}

function holderMessage(sessionId: string, pid: number, host: string): string {
  return `session ${sessionId} is already being run by pid ${pid} on ${host}; watch it with \`autotune status ${sessionId}\` or stop it with \`autotune stop ${sessionId}\``;
}

export async function driveSession(store: Store, sessionId: string, options: DriveOptions): Promise<number> {
  const token = randomUUID();
  const host = hostname();
  let display: Display = SILENT;
  // Until the session's display exists (and without a console), messages are plain lines.
  const print = (line: string): void => {
    if (display !== SILENT) display.print(line);
    else if (options.console) process.stdout.write(`${line}\n`);
  };
  const controller = new AbortController();
  let signals = 0;
  // Set once the lease is gone: from then on this process writes nothing, not even a log line.
  let leaseLost = false;
  let logger: SessionLogger | null = null;
  const onSignal = (signal: NodeJS.Signals): void => {
    signals += 1;
    if (!leaseLost) logger?.warn({ event: 'signal', signal }, `received ${signal}`);
    if (signals === 1) {
      print(`Received ${signal}: stopping after killing the running benchmark (again to force)...`);
      controller.abort();
      return;
    }
    // A second signal: the user wants out now. The benchmark dies first, so nothing is orphaned;
    // the runner then sees its end at once and the session is recorded stopped.
    print(`Received ${signal} again: killing the benchmark now`);
    killSessionBenchmarks(sessionId, runningPid(store, sessionId));
  };
  // A detached worker outlives its terminal; a foreground run stops cleanly when the terminal goes.
  const onHangup = options.console ? onSignal : (): void => {};
  // Installed before the lease is taken: `stop` signals only a lease holder, which must not die of it.
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  process.on('SIGHUP', onHangup);
  let beat: NodeJS.Timeout | undefined;
  let held = false;
  try {
    // What can fail on its own is read before the lease: a worker that holds the lease and has
    // marked the session running has started (the background parent waits for exactly that).
    const session = getSession(store, sessionId);
    if (session === null) throw new AutotuneError('E_SESSION_NOT_FOUND', `no session ${sessionId}`);
    const opts = readSessionOptions(session.options);
    const lease = acquireLease(store, sessionId, { pid: process.pid, host, token, staleAfterMs: LEASE_STALE_MS, isAlive: isProcessAlive });
    if (!lease.acquired) throw new AutotuneError('E_SESSION_LOCKED', holderMessage(sessionId, lease.holder.pid, lease.holder.host));
    held = true;
    logger = createSessionLogger(session.runDir, session.id);
    const log = logger;
    if (options.console) {
      display = createDisplay({ store, sessionId: session.id, out: process.stdout, env: process.env, progress: options.progress ?? true, echo: options.echo });
    }

    beat = setInterval(() => {
      try {
        if (!heartbeat(store, session.id, token)) {
          // Taken over (this process stalled past the stale limit): kill the benchmark, write nothing.
          leaseLost = true;
          controller.abort();
        } else if (getSession(store, session.id)?.stopRequestedAt != null) {
          controller.abort();
        }
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
      log.warn({ event: 'metric-missing', metric: opts.objective.metric }, message);
      print(message);
    };

    // The recorded environment reproduces the measurement; the current PATH still finds vllm.
    const baseEnv = { ...process.env, ...session.env, PATH: process.env['PATH'] ?? session.env['PATH'] };
    const runnerName = opts.runner ?? 'local';
    for (const note of reapRunningRuns(store, session.id, token, { runner: runnerName, adopt: true })) print(`${note}, left running by the previous worker`);
    if (startWorking(store, session.id, token) === 'stopped') {
      log.info({ event: 'stopped', pid: process.pid }, 'a stop was requested before the session started; nothing run');
      print('Session stopped before it started; continue it with `autotune resume`.');
      return 130;
    }
    if (!hasHardware(store, session.id)) {
      // The version probe asks the interpreter the user named for the plugin probe: the one vLLM runs in.
      const hardware = await captureHardware(baseEnv, { python: opts.python ?? 'python3' });
      fenced(store, session.id, token, () => saveHardware(store, session.id, hardware));
    }
    log.info({ event: 'start', pid: process.pid, host, policy: opts.policy, args: session.args, options: opts }, 'session started');
    const trialEnv = envReport(baseEnv, session.env);
    log.info({ event: 'environment', dropped: trialEnv.dropped, kept: trialEnv.kept }, formatEnvReport(trialEnv));
    print(formatEnvReport(trialEnv));
    // A serving session's runner starts each trial's server (one per slot); its lifecycle stops it.
    const serving = opts.serve === undefined ? null : serveRunner(opts.serve, opts.objective, opts.seed);
    const groups = opts.gpuGroups?.length ?? 1;
    if (groups > 1 && runnerName === 'local' && POLICIES[opts.policy].open === undefined) {
      // Said once so that idle GPUs are not a surprise: this policy decides each run from the last.
      const message = `Policy ${opts.policy} measures one run at a time: ${groups - 1} of the ${groups} GPU groups ${groups === 2 ? 'stays' : 'stay'} idle (sweeps and the noise-aware, screening and reference policies use every group)`;
      log.warn({ event: 'slots-idle', policy: opts.policy, groups }, message);
      print(message);
    }
    const servingRunner = serving === null ? null : new SlotRunner(serving.runner, gpuSlots(opts.gpuGroups));
    // A session retrying failures of a finished one answers every other run with that one's.
    const reuse = reuseOf(store, session.id);
    const prior = reuse === null ? null : priorSource(store, session.id, token, new PriorRuns(priorRuns(store, reuse.parentId), reuse.retry));
    const outcome = await runSession({
      policy: POLICIES[opts.policy],
      context: policyContext(opts),
      runner: servingRunner ?? createRunner(runnerName, { ...(opts.slurm === undefined ? {} : { slurm: opts.slurm }), gpuGroups: opts.gpuGroups ?? null }),
      ...(serving === null ? {} : { lifecycle: serving.lifecycle }),
      // SLURM's slots are its jobs in flight; local ones (a serving session's too) its GPU groups.
      slots: runnerName === 'slurm' && serving === null ? (opts.slurm?.maxJobs ?? 1) : (opts.gpuGroups?.length ?? 1),
      ...(opts.gpuGroups === undefined ? {} : { slotNames: opts.gpuGroups }),
      ...(prior === null ? {} : { prior }),
      journal: new SqliteJournal(store, session, {
        csvName: opts.csvName,
        askOutputJson: !userSetOutputJson(session.args),
        token,
        recipe: { vllmBin: opts.vllmBin, serveOptions: serveOptions() },
      }),
      sessionId: session.id,
      passthrough: session.args,
      vllmBin: opts.vllmBin,
      baseEnv,
      timeoutMs: opts.timeoutSec * 1000,
      signal: controller.signal,
      report: (event: EngineEvent) => {
        logEngineEvent(log, event);
        display.event(event);
        warnIfMetricMissing(event);
      },
      ...(display.echo === undefined ? {} : { echo: display.echo }),
    });
    if (leaseLost) throw leaseLostError(session.id);
    if (outcome.state === 'completed') {
      // The policy's own count (its summary's Invocations line) includes the runs it was answered with from the retried session.
      if (reuse !== null) {
        const reused = reusedRunCount(store, session.id);
        print(`Of this study's runs, ${reused} were reused from session ${reuse.parentId} without running; ${loadObservations(store, session.id).length - reused} ran in this session`);
      }
      print(`Artifacts: ${session.runDir}`);
      print(`Report: ${defaultReportPath(session)}`);
      // A sweep chooses nothing to serve; its results are the table (sweep.csv).
      if (opts.policy === 'sweep') print(`Results: ${join(session.runDir, opts.csvName)}`);
      else print(`Serve the chosen configuration: ${join(session.runDir, RECIPE_FILES.shell)} (environment and command in ${RECIPE_FILES.json})`);
      return 0;
    }
    return 130;
  } catch (error) {
    if (leaseLost || (isAutotuneError(error) && error.code === 'E_LEASE_LOST')) {
      leaseLost = true;
      throw isAutotuneError(error) && error.code === 'E_LEASE_LOST' ? error : leaseLostError(sessionId);
    }
    if (!held) throw error;
    const message = error instanceof Error ? error.message : String(error);
    logger?.error({ event: 'error', code: isAutotuneError(error) ? error.code : 'internal' }, message);
    try {
      const current = getSession(store, sessionId);
      if (current !== null && (current.state === 'running' || current.state === 'stopping')) {
        transition(store, sessionId, 'failed', { token }, { error: message, clearStop: true });
      }
    } catch {
      // The database itself may be what failed (disk full); the stale lease still marks the session resumable.
    }
    throw error;
  } finally {
    display.close();
    if (beat !== undefined) clearInterval(beat);
    // However the session ended, its report shows where it stands (a failure here is only
    // logged); it is written under the lease like every other artifact.
    if (held && !leaseLost) {
      try {
        // Jobs kept for adoption that the session never asked for again are cancelled.
        for (const note of reapRunningRuns(store, sessionId, token, { runner: runnerOf(store, sessionId) })) logger?.info({ event: 'reaped' }, note);
      } catch (error) {
        logger?.warn({ event: 'reap-failed', error: error instanceof Error ? error.message : String(error) }, 'could not reap runs left in flight');
      }
      try {
        fenced(store, sessionId, token, () => {
          const current = getSession(store, sessionId);
          if (current !== null) writeSessionReport(store, current, defaultReportPath(current), Date.now());
        });
      } catch (error) {
        logger?.warn({ event: 'report-failed', error: error instanceof Error ? error.message : String(error) }, 'could not write report.html');
      }
    }
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    process.off('SIGHUP', onHangup);
    try {
      if (held && !leaseLost) releaseLease(store, sessionId, token);
      if (!leaseLost) logger?.flush();
    } catch {
      // Same: a lease that cannot be released goes stale once this process exits.
    }
  }
}

function runnerOf(store: Store, sessionId: string): string {
  const session = getSession(store, sessionId);
  return session === null ? 'local' : (readSessionOptions(session.options).runner ?? 'local');
}

/** The pid (process-group id) of the session's benchmark in flight, if any. */
function runningPid(store: Store, sessionId: string): number | null {
  try {
    return sessionProgress(store, sessionId).currentRun?.pid ?? null;
  } catch {
    return null;
  }
}
