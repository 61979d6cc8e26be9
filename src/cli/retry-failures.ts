/**
 * `autotune resume ID --retry-failures CLASSES` on a finished engine study: a new session with
 * the same arguments, options and environment, whose runs are the finished one's except where
 * a point failed with one of CLASSES. Those points run again (from their warm-up, with one more
 * attempt on a repeat of the class), every other run is reused without running, and the new
 * session's answer, report and artifacts cover them all.
 */
import { dirname } from 'node:path';
import { AutotuneError } from '../errors.js';
import type { Store } from '../store/db.js';
import { writeBestConfig } from '../store/artifacts.js';
import type { SessionRecord } from '../store/records.js';
import { linkReuse, priorRuns } from '../store/reuse.js';
import { createRunDir, discardRunDir } from '../store/run-dir.js';
import { createSession, makeSessionId } from '../store/sessions.js';
import { failureClass } from '../tuner/policies/tiers.js';
import type { PriorRun } from '../tuner/prior-runs.js';
import type { FailureClass } from '../tuner/spaces/engine.js';
import { writePointer } from './session-files.js';
import { readSessionOptions } from './session-options.js';

export interface RetrySession {
  readonly session: SessionRecord;
  /** Runs of the finished session that run again, and those reused. */
  readonly retried: number;
  readonly reused: number;
}

/** The new session, or null when the finished one has no failure of `classes` (nothing to retry). */
export function retrySession(store: Store, parent: SessionRecord, dbPath: string, classes: readonly FailureClass[]): RetrySession | null {
  if (parent.state !== 'completed' && parent.state !== 'failed') {
    throw new AutotuneError(
      'E_SESSION_STATE',
      `session ${parent.id} is ${parent.state}: \`--retry-failures\` retries the failures of a finished study; resume it first (\`autotune resume ${parent.id}\`)`,
    );
  }
  const options = readSessionOptions(parent.options);
  const engine = options.engine;
  if (engine === undefined) throw new AutotuneError('E_USAGE', `session ${parent.id} is not an engine study: \`--retry-failures\` retries the failed points of one`);
  const runs = priorRuns(store, parent.id);
  const retried = (outcome: PriorRun['outcome']): boolean => {
    const cls = failureClass(outcome);
    return cls !== null && classes.includes(cls);
  };
  const failed = new Set(runs.filter((r) => retried(r.outcome)).map((r) => r.trialKey));
  if (failed.size === 0) return null;
  const rerun = runs.filter((r) => failed.has(r.trialKey)).length;
  const now = new Date();
  const runDir = createRunDir(dirname(parent.runDir), now);
  let session: SessionRecord;
  try {
    session = store.write(() => {
      const created = createSession(store, {
        id: makeSessionId(now),
        runDir,
        policy: parent.policy,
        args: parent.args,
        options: { ...options, engine: { ...engine, retry: [...new Set([...engine.retry, ...classes])] } },
        env: parent.env,
      });
      linkReuse(store, created.id, { parentId: parent.id, retry: classes });
      return created;
    });
  } catch (error) {
    discardRunDir(runDir);
    throw error;
  }
  writePointer(runDir, session.id, dbPath);
  writeBestConfig(runDir, {}, 'temp');
  return { session, retried: rerun, reused: runs.length - rerun };
}
