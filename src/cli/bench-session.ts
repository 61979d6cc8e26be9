/**
 * `autotune bench serve` as a session of the database: one trial per case, one run row per
 * warm-up or measured run with the run's named metrics, under a lease with a heartbeat like a
 * tuning worker, so `list`, `status`, `export` and `report` read it as any session. Its policy
 * is `sweep` (it measures, it decides nothing); it is never resumed (`resume` says so): the
 * benchmark is run again instead.
 */
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { AutotuneError } from '../errors.js';
import { isProcessAlive } from '../runners/local.js';
import type { Store } from '../store/db.js';
import { acquireLease, heartbeat, LEASE_STALE_MS, releaseLease } from '../store/lease.js';
import type { SessionRecord } from '../store/records.js';
import { beginRun, finishRun, setRunHandle } from '../store/runs.js';
import { createSession } from '../store/sessions.js';
import { startWorking, transition } from '../store/session-state.js';
import { objectiveFor } from '../tuner/objective.js';
import type { FinalResult } from '../tuner/policy.js';
import type { RunResult } from '../tuner/ports.js';
import { caseKey, type ServeCase } from '../tuner/serve-cases.js';
import { sloConstraints, studySlos, type ServeStudy } from '../tuner/serve-study.js';
import type { TrialSpec } from '../tuner/types.js';
import { relevantEnv, SESSION_OPTIONS_VERSION, type SessionOptions } from './session-options.js';
import { writePointer } from './session-files.js';

const HEARTBEAT_MS = 2_000;

/** A bench serve session: stored options of bench `serve` under the `sweep` policy. */
export function isBenchServeSession(session: Pick<SessionRecord, 'policy' | 'options'>): boolean {
  return session.policy === 'sweep' && session.options['bench'] === 'serve';
}

/** The case as a trial: its key, file prefix and workload point. */
function caseTrial(c: ServeCase): TrialSpec {
  const key = caseKey(c);
  return {
    key: `serve:${key}`,
    prefix: key.replace(/[^A-Za-z0-9.]+/g, '_'),
    kind: 'point',
    round: key,
    op: null,
    backend: null,
    attention: null,
    opBackends: {},
    env: {},
    extraArgs: [],
    config: {},
    recordOplist: false,
    benchmark: 'serve',
    workload: {
      input_len: c.inputLen,
      output_len: c.outputLen,
      ...(c.load.kind === 'concurrency' ? { max_concurrency: c.load.concurrency } : { request_rate: c.load.rate }),
      num_prompts: c.prompts,
    },
    label: key,
  };
}

export interface BenchSessionInput {
  readonly runDir: string;
  readonly dbPath: string;
  /** The `vllm serve` arguments of a server autotune starts (model first); empty for --base-url. */
  readonly args: readonly string[];
  /** Every case is a trial; one the server cannot take has no run. */
  readonly study: ServeStudy;
  readonly numRuns: number;
  readonly seed: number;
  readonly vllmBin: string;
}

export class BenchSession {
  readonly #store: Store;
  readonly #token = randomUUID();
  readonly #session: SessionRecord;
  readonly #beat: NodeJS.Timeout;

  constructor(store: Store, input: BenchSessionInput) {
    this.#store = store;
    const trials = input.study.cases.map(caseTrial);
    const options: SessionOptions = {
      version: SESSION_OPTIONS_VERSION,
      metric: 'output',
      bench: 'serve',
      workload: null,
      numRuns: input.numRuns,
      objective: objectiveFor('output', sloConstraints(studySlos(input.study))),
      minGain: 0,
      budget: null,
      seed: input.seed,
      timeoutSec: input.study.requestTimeoutS,
      vllmBin: input.vllmBin,
      csvName: 'serve.csv',
      policy: 'sweep',
      discovery: { explicitOps: null, configOps: null },
      serve: input.study,
      trials,
    };
    this.#session = createSession(store, {
      runDir: input.runDir,
      policy: 'sweep',
      args: [...input.args],
      options: { ...options },
      env: { ...relevantEnv(process.env), ...(process.env['PATH'] === undefined ? {} : { PATH: process.env['PATH'] }) },
    });
    writePointer(input.runDir, this.#session.id, input.dbPath);
    const lease = acquireLease(store, this.#session.id, { pid: process.pid, host: hostname(), token: this.#token, staleAfterMs: LEASE_STALE_MS, isAlive: isProcessAlive });
    if (!lease.acquired) throw new AutotuneError('E_SESSION_LOCKED', `session ${this.#session.id} is held by pid ${lease.holder.pid}`);
    startWorking(store, this.#session.id, this.#token);
    this.#beat = setInterval(() => {
      try {
        heartbeat(store, this.#session.id, this.#token);
      } catch {
        // A busy database: the next beat retries.
      }
    }, HEARTBEAT_MS);
  }

  get id(): string {
    return this.#session.id;
  }

  /** A 'running' row for the case's run (1-based warm-up index, or null for a measured run). */
  begin(c: ServeCase, step: number, warmupIndex: number | null, files: { logPath: string; configPath: string }): number {
    const run = beginRun(this.#store, this.#session.id, { trial: caseTrial(c), kind: warmupIndex === null ? 'measure' : 'warmup', warmupIndex, step, slot: 0, files: () => files });
    return run.runId;
  }

  /** The server's process group, so `stop` and a later bench find what the run depends on. */
  handle(runId: number, pid: number): void {
    setRunHandle(this.#store, runId, 'local', String(pid), pid);
  }

  finish(runId: number, result: RunResult): void {
    finishRun(this.#store, runId, result);
  }

  /** Completed with a one-line summary, stopped (interrupted) or failed with its reason; the lease goes. */
  end(state: 'completed' | 'stopped' | 'failed', summary: string): void {
    clearInterval(this.#beat);
    try {
      const final: FinalResult = { opBackends: {}, attention: null, validated: false, speedup: null, low: null, high: null, summary: [summary] };
      transition(this.#store, this.#session.id, state, { token: this.#token }, state === 'completed' ? { finalJson: JSON.stringify(final) } : { error: summary });
    } finally {
      releaseLease(this.#store, this.#session.id, this.#token);
    }
  }
}
