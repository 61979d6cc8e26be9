/**
 * The session engine: drives a policy through the runner, committing every run to the
 * journal as it ends. A resumed session replays its stored observations into a fresh policy
 * cursor, so completed runs are never repeated and the interrupted run starts again cleanly.
 */
import { AutotuneError } from '../errors.js';
import type { FinalResult, Policy, PolicyContext, PolicyEvent, Proposal, Proposed, RunStep, StudyCursor } from './policy.js';
import { NO_LIFECYCLE, toObservation, type RunLifecycle, type RunResult, type Runner, type SessionJournal, type StoredObservation } from './ports.js';
import type { Measurement } from './metrics.js';
import { openPolicy } from './study-cursor.js';
import type { TrialSpec } from './types.js';

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
  /** Prepared before every run and disposed at the end; default: nothing to do. */
  readonly lifecycle?: RunLifecycle;
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

function replayMismatch(wanted: string, trialKey: string, kind: string, step: number): AutotuneError {
  return new AutotuneError(
    'E_REPLAY',
    `stored run (${kind} of ${trialKey}, step ${step}) does not match what the policy asks for on replay (${wanted}); the session was changed or its database edited`,
  );
}

function describe(p: Proposed): string {
  if (p.type !== 'runs') return p.type;
  return p.runs.map((r) => `${r.kind} of ${r.trial.key} at step ${r.step}`).join(', ') || 'nothing new';
}

export interface Replayed {
  /** What the policy proposes next: the proposal to run, or the end. */
  readonly next: Proposed;
  readonly cursor: StudyCursor;
  /** Completed runs per trial key: the next run's ordinal within its trial. */
  readonly runsPerTrial: Map<string, number>;
}

/**
 * Feeds stored observations into a fresh cursor by step id, checking each answers a run the
 * policy proposes at that point; `onStep` sees every replayed proposal (the engine re-applies
 * its events, idempotently). The engine runs one at a time, so replay proposes one at a time.
 */
export function replay(
  policy: Policy,
  context: PolicyContext,
  stored: readonly StoredObservation[],
  onStep: (proposal: Proposal) => void = () => {},
): Replayed {
  const cursor = openPolicy(policy, context);
  const runsPerTrial = new Map<string, number>();
  let next = cursor.propose(1);
  for (const obs of stored) {
    const proposal = next.type === 'runs' ? next.runs.find((r) => r.step === obs.step) : undefined;
    if (proposal === undefined || proposal.trial.key !== obs.trialKey || proposal.kind !== obs.kind) {
      throw replayMismatch(describe(next), obs.trialKey, obs.kind, obs.step);
    }
    onStep(proposal);
    runsPerTrial.set(obs.trialKey, (runsPerTrial.get(obs.trialKey) ?? 0) + 1);
    cursor.observe(obs.step, obs);
    next = cursor.propose(1);
  }
  return { next, cursor, runsPerTrial };
}

/** The failures of a session's runs, to name the root cause when none produced a number. */
class Measurements {
  #measured = false;
  readonly #failures = new Map<string, number>();
  #runs = 0;

  add(metrics: Measurement | null, failure: string | null): void {
    this.#runs += 1;
    if (metrics !== null) this.#measured = true;
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
  const lifecycle = o.lifecycle ?? NO_LIFECYCLE;
  try {
    return await drive(o, lifecycle);
  } finally {
    await lifecycle.dispose();
  }
}

async function drive(o: EngineOptions, lifecycle: RunLifecycle): Promise<EngineOutcome> {
  const stored = o.journal.completedObservations();
  const replayed = replay(o.policy, o.context, stored, (s) => o.journal.applyEvents(s.events));
  const { cursor, runsPerTrial } = replayed;
  let next = replayed.next;
  if (stored.length > 0) o.report({ type: 'replayed', runs: stored.length });
  let lastTrialKey: string | null = stored.at(-1)?.trialKey ?? null;
  const measurements = new Measurements();
  for (const obs of stored) measurements.add(obs.metrics, obs.failure);

  for (;;) {
    const proposal = next.type === 'runs' ? next.runs[0] : undefined;
    const events = next.type === 'runs' ? next.runs.flatMap((r) => r.events) : next.events;
    o.journal.applyEvents(events);
    for (const event of events) o.report({ type: 'policy', event });
    if (lastTrialKey !== null && (proposal === undefined || proposal.trial.key !== lastTrialKey)) o.journal.refreshHistory();

    // A session in which nothing was measured decided nothing: it fails with the runs' cause.
    const nothing = next.type === 'runs' ? null : measurements.noneMessage();
    if (nothing !== null) {
      o.journal.fail(nothing);
      throw new AutotuneError('E_NO_RESULT', nothing);
    }
    if (next.type === 'done') {
      o.journal.complete(next.result);
      o.report({ type: 'done', result: next.result });
      return { state: 'completed', result: next.result };
    }
    if (next.type === 'fail') {
      o.journal.fail(next.message);
      throw new AutotuneError(next.code, next.message);
    }
    if (proposal === undefined) throw new AutotuneError('E_REPLAY', `policy ${o.policy.name} proposed no run with none in flight`);
    if (o.signal.aborted) {
      o.journal.markStopped();
      o.report({ type: 'stopped' });
      return { state: 'stopped' };
    }

    const { trial, kind, warmupIndex, step } = proposal;
    const ordinal = runsPerTrial.get(trial.key) ?? 0;
    await lifecycle.prepare(trial);
    const begun = o.journal.beginRun(trial, kind, warmupIndex, step);
    o.report({ type: 'run-start', seq: begun.seq, step, trial, kind, warmupIndex, logPath: begun.files.logPath });
    const result = await o.runner.run({
      trial,
      passthrough: o.passthrough,
      vllmBin: o.vllmBin,
      baseEnv: o.baseEnv,
      ...begun.files,
      runKey: `${o.sessionId}:${step}:${ordinal}:${trial.key}`,
      timeoutMs: o.timeoutMs,
      signal: o.signal,
      onStart: (handle) => o.journal.setRunHandle(begun.runId, handle),
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
    measurements.add(observation.metrics, result.failure);
    runsPerTrial.set(trial.key, ordinal + 1);
    lastTrialKey = trial.key;
    cursor.observe(step, observation);
    next = cursor.propose(1);
  }
}
