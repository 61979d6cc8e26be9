/**
 * `autotune [vllm args...] [options]`, `autotune --config job.yaml`, `autotune run
 * job.yaml`: creates a session and tunes it, here or in the background; with `--dry-run`, plans it.
 * A job with `bench: latency` is a grid sweep instead (sweep.ts).
 */
import { AutotuneError } from '../../errors.js';
import { startWorker, workerBanner } from '../background.js';
import { printDryRun } from '../dry-run.js';
import { engineRequestOf } from '../engine-options.js';
import { assertRunnable, readRunOptions } from '../run-options.js';
import { defaultDbPath, writePointer } from '../session-files.js';
import { relevantEnv, sessionOptionsFrom, type SessionOptions } from '../session-options.js';
import { probeSummary, probeTimeoutMs } from '../probe-text.js';
import { runPluginProbe } from '../../runners/python-probe.js';
import { writeBestConfig } from '../../store/artifacts.js';
import { openStore } from '../../store/db.js';
import { createRunDir, discardRunDir } from '../../store/run-dir.js';
import type { SessionRecord } from '../../store/records.js';
import { createSession, makeSessionId } from '../../store/sessions.js';

/** The plugin probe runs only where it decides something: no --ops and no auto_tune VLLM_FL_CONFIG. */
async function withProbe(options: SessionOptions, python: string, env: NodeJS.ProcessEnv): Promise<SessionOptions> {
  if (options.discovery.explicitOps !== null || options.discovery.configOps !== null) return options;
  const outcome = await runPluginProbe(python, env, probeTimeoutMs(env));
  process.stdout.write(`${probeSummary(outcome)}\n`);
  return { ...options, discovery: { ...options.discovery, probe: outcome.ok ? outcome.probe : null } };
}

export async function runCommand(argv: string[], jobFirst: boolean): Promise<number> {
  const run = readRunOptions(argv, jobFirst);
  if (run.dryRun) return printDryRun(run);
  // A latency study measures its workload grid: no operator search, no probe.
  if (run.bench === 'latency') {
    const sweep = await import('./sweep.js');
    return sweep.runLatencyStudy(sweep.latencyStudyOf(run));
  }
  assertRunnable(run);
  // Everything that can be refused is checked before the database or a run directory exists.
  const now = new Date();
  const id = makeSessionId(now);
  // The job's environment additions are part of the recorded environment, so resume reapplies them.
  const planned = sessionOptionsFrom(run, id, { ...process.env, ...run.env });
  for (const note of engineRequestOf(run)?.notes ?? []) process.stdout.write(`${note}\n`);
  // An engine study without an operator tier decides no operator: nothing to probe for.
  const options = planned.engine !== undefined && !planned.engine.operators ? planned : await withProbe(planned, run.python, { ...process.env, ...run.env });
  const dbPath = run.db ?? defaultDbPath(run.outputDir);
  if (run.background && dbPath === ':memory:') {
    throw new AutotuneError('E_USAGE', '`--background true` needs a database file; `--autotune-db :memory:` lives only in this process');
  }
  const store = openStore(dbPath);
  try {
    const runDir = createRunDir(run.outputDir, now);
    let session: SessionRecord;
    try {
      session = createSession(store, {
        id,
        runDir,
        policy: options.policy,
        args: run.passthrough,
        options: { ...options },
        env: { ...relevantEnv(process.env), ...run.env, ...(process.env['PATH'] === undefined ? {} : { PATH: process.env['PATH'] }) },
      });
    } catch (error) {
      // A locked or read-only database refuses the session only now; its run directory goes too.
      discardRunDir(runDir);
      throw error;
    }
    writePointer(runDir, session.id, dbPath);
    // The reference writes an empty best_config_temp.yaml before the first run.
    writeBestConfig(runDir, {}, 'temp');
    if (run.background) {
      process.stdout.write(workerBanner(session, await startWorker(store, session, dbPath)));
      return 0;
    }
    process.stdout.write(`Session ${session.id}, run directory ${session.runDir}\n`);
    // Imported here so that a background start does not pay for the runner and the policies.
    const { driveSession } = await import('../drive.js');
    return await driveSession(store, session.id, { console: true, echo: !run.quiet, progress: run.progress });
  } finally {
    store.close();
  }
}
