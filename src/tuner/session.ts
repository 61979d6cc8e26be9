/**
 * The session engine: drives a policy through the runner, committing every run to the
 * journal as it ends. A resumed session replays its stored observations into a fresh policy
 * cursor, so completed runs are never repeated and the interrupted run starts again cleanly.
 */
import { AutotuneError } from '../errors.js';
import type { Policy, PolicyContext, PolicyCursor, PolicyEvent, FinalResult, RunStep, Step } from './policy.js';
import { toObservation, type RunResult, type Runner, type SessionJournal } from './ports.js';
import type { Observation, TrialSpec } from './types.js';

export type EngineEvent =
  | { readonly type: 'replayed'; readonly runs: number }
  | { readonly type: 'policy'; readonly event: PolicyEvent }
  | {
      readonly type: 'run-start';
      readonly seq: number;
      readonly step: number;
      readonly trial: TrialSpec;
      readonly kind: RunStep['kind'];
      readonly warmupIndex: number | null;
      readonly logPath: string;
    }
  | { readonly type: 'run-end'; readonly seq: number; readonly trial: TrialSpec; readonly kind: RunStep['kind']; readonly result: RunResult }
  | { readonly type: 'done'; readonly result: FinalResult }
  | { readonly type: 'stopped' };

export interface EngineOptions {
  readonly policy: Policy;
  readonly context: PolicyContext;
  readonly runner: Runner;
  readonly journal: SessionJournal;
  readonly sessionId: string;
  readonly passthrough: readonly string[];
  readonly vllmBin: string;
  readonly baseEnv: Readonly<Record<string, string | undefined>>;
  readonly timeoutMs: number;
  /** Aborted by stop requests and signals: kills the running benchmark. */
  readonly signal: AbortSignal;
  readonly report: (event: EngineEvent) => void;
  readonly echo?: (chunk: string) => void;
}

export type EngineOutcome = { readonly state: 'completed'; readonly result: FinalResult } | { readonly state: 'stopped' };

function replayMismatch(step: Step, trialKey: string, kind: string): AutotuneError {
  const wanted = step.type === 'run' ? `${step.kind} of ${step.trial.key}` : step.type;
  return new AutotuneError(
    'E_REPLAY',
    `stored run (${kind} of ${trialKey}) does not match what the policy asks for on replay (${wanted}); the session was changed or its database edited`,
  );
}

export interface Replayed {
  /** The step to take next. */
  readonly step: Step;
  readonly cursor: PolicyCursor;
  /** Completed runs per trial key: the next run's ordinal within its trial. */
  readonly runsPerTrial: Map<string, number>;
}

/**
 * Feeds stored observations into a fresh cursor, checking each matches what the policy asks
 * for; `onStep` sees every replayed step (the engine re-applies its events, idempotently).
 */
export function replay(
  policy: Policy,
  context: PolicyContext,
  stored: readonly Observation[],
  onStep: (step: RunStep) => void = () => {},
): Replayed {
  const cursor = policy.start(context);
  let step = cursor.next();
  const runsPerTrial = new Map<string, number>();
  for (const obs of stored) {
    if (step.type !== 'run' || step.trial.key !== obs.trialKey || step.kind !== obs.kind) {
      throw replayMismatch(step, obs.trialKey, obs.kind);
    }
    onStep(step);
    runsPerTrial.set(obs.trialKey, (runsPerTrial.get(obs.trialKey) ?? 0) + 1);
    step = cursor.next(obs);
  }
  return { step, cursor, runsPerTrial };
}

/** The failures of a session's runs, to name the root cause when none produced a number. */
class Measurements {
  #measured = false;
  readonly #failures = new Map<string, number>();
  #runs = 0;

  add(throughput: unknown, failure: string | null): void {
    this.#runs += 1;
    if (throughput !== null) this.#measured = true;
    else if (failure !== null) this.#failures.set(failure, (this.#failures.get(failure) ?? 0) + 1);
  }

  /** Null once any run measured something; else one line with the most frequent failure. */
  noneMessage(): string | null {
    if (this.#measured || this.#runs === 0) return null;
    let cause: string | null = null;
    let most = 0;
    for (const [failure, count] of this.#failures) {
      if (count >= most) [cause, most] = [failure, count];
    }
    return `no benchmark run produced a measurement (${this.#runs} of ${this.#runs} failed): ${cause ?? 'no result in the output'}`;
  }
}

export async function runSession(o: EngineOptions): Promise<EngineOutcome> {
  const stored = o.journal.completedObservations();
  const replayed = replay(o.policy, o.context, stored, (s) => o.journal.applyEvents(s.events));
  const { cursor, runsPerTrial } = replayed;
  let step = replayed.step;
  if (stored.length > 0) o.report({ type: 'replayed', runs: stored.length });
  let completed = stored.length;
  let lastTrialKey: string | null = stored.at(-1)?.trialKey ?? null;
  const measurements = new Measurements();
  for (const obs of stored) measurements.add(obs.throughput, obs.failure);

  for (;;) {
    o.journal.applyEvents(step.events);
    for (const event of step.events) o.report({ type: 'policy', event });
    if (lastTrialKey !== null && (step.type !== 'run' || step.trial.key !== lastTrialKey)) o.journal.refreshHistory();

    // A session in which nothing was measured decided nothing: it fails with the runs' cause.
    const nothing = step.type === 'run' ? null : measurements.noneMessage();
    if (nothing !== null) {
      o.journal.fail(nothing);
      throw new AutotuneError('E_NO_RESULT', nothing);
    }
    if (step.type === 'done') {
      o.journal.complete(step.result);
      o.report({ type: 'done', result: step.result });
      return { state: 'completed', result: step.result };
    }
    if (step.type === 'fail') {
      o.journal.fail(step.message);
      throw new AutotuneError(step.code, step.message);
    }
    if (o.signal.aborted) {
      o.journal.markStopped();
      o.report({ type: 'stopped' });
      return { state: 'stopped' };
    }

    const { trial, kind, warmupIndex } = step;
    const ordinal = runsPerTrial.get(trial.key) ?? 0;
    const begun = o.journal.beginRun(trial, kind, warmupIndex, completed);
    o.report({ type: 'run-start', seq: begun.seq, step: completed, trial, kind, warmupIndex, logPath: begun.files.logPath });
    const result = await o.runner.run({
      trial,
      passthrough: o.passthrough,
      vllmBin: o.vllmBin,
      baseEnv: o.baseEnv,
      ...begun.files,
      runKey: `${o.sessionId}:${completed}:${ordinal}:${trial.key}`,
      timeoutMs: o.timeoutMs,
      signal: o.signal,
      onSpawn: (pid) => o.journal.setRunPid(begun.runId, pid),
      ...(o.echo === undefined ? {} : { echo: o.echo }),
    });
    o.journal.finishRun(begun.runId, result);
    o.report({ type: 'run-end', seq: begun.seq, trial, kind, result });

    if (result.outcome === 'spawn_error') {
      const message = result.failure ?? `could not start ${o.vllmBin}`;
      o.journal.fail(message);
      throw new AutotuneError('E_VLLM_NOT_FOUND', message);
    }
    const observation = toObservation(trial.key, kind, result);
    if (observation === null) {
      o.journal.markStopped();
      o.report({ type: 'stopped' });
      return { state: 'stopped' };
    }
    measurements.add(observation.throughput, result.failure);
    runsPerTrial.set(trial.key, ordinal + 1);
    completed += 1;
    lastTrialKey = trial.key;
    step = cursor.next(observation);
  }
}
