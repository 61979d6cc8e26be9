/**
 * The session engine: drives a policy through the runner, committing every run to the
 * journal as it ends. A resumed session replays its stored observations into a fresh policy
 * cursor, so completed runs are never repeated and the interrupted run starts again cleanly.
 *
 * With several slots, up to that many runs are in flight. Their order never depends on which
 * ends first: runs are numbered when they start, in proposal order, and their observations
 * reach the policy in step order, so results, file names and history.csv are the same
 * whatever the completion order (a run that ends early waits for the older ones).
 */
import { AutotuneError } from '../errors.js';
import type { DoneStep, FailStep, FinalResult, Policy, PolicyContext, PolicyEvent, Proposal, Proposed, RunStep, StudyCursor } from './policy.js';
import { NO_LIFECYCLE, toObservation, type PriorSource, type RunLifecycle, type RunResult, type Runner, type SessionJournal, type StoredObservation } from './ports.js';
import type { Measurement } from './metrics.js';
import { SlotPlan, type Retirement } from './slot-plan.js';
import { openPolicy } from './study-cursor.js';
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
      /** The slot it runs on, when the session has several. */
      readonly slot?: number;
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
  /** Runs at once (GPU groups, or concurrent jobs); default 1. Part of the session: a resume uses the same. */
  readonly slots?: number;
  /** Each slot's name for messages (its GPUs), by index. */
  readonly slotNames?: readonly string[];
  /** Stored runs of another session that answer a proposal instead of running it (`resume --retry-failures`). */
  readonly prior?: PriorSource;
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
  /** What the policy has out: its runs not yet answered (in step order), or the end. */
  readonly next: Proposed;
  readonly cursor: StudyCursor;
  /** Proposals per trial key so far: the next proposal's ordinal within its trial. */
  readonly runsPerTrial: Map<string, number>;
  /** Stored runs the policy still has out (they completed after an earlier one was interrupted): adopted, not repeated. */
  readonly adopted: ReadonlyMap<number, StoredObservation>;
}

/**
 * The engine's calls, in the only order it makes them: propose(free) first and after every
 * delivered observation, observations delivered in step order. Live and replayed sessions go
 * through this one class, so a resume rebuilds the interrupted session's exact state.
 */
class Conductor {
  readonly plan: SlotPlan;
  readonly runsPerTrial = new Map<string, number>();
  readonly ordinals = new Map<number, number>();
  /** Proposals out, in step order. */
  readonly outstanding: Proposal[] = [];
  readonly retired: Retirement[] = [];
  end: DoneStep | FailStep | null = null;
  /** Trial key of the last delivered observation. */
  lastDelivered: string | null = null;

  constructor(
    readonly cursor: StudyCursor,
    readonly slots: number,
  ) {
    this.plan = new SlotPlan(slots);
  }

  /** Asks the policy for as many runs as there are free slots; returns the new ones. */
  propose(): readonly Proposal[] {
    const p = this.cursor.propose(this.plan.free);
    if (p.type !== 'runs') {
      this.end = p;
      return [];
    }
    for (const run of p.runs) {
      const ordinal = this.runsPerTrial.get(run.trial.key) ?? 0;
      this.runsPerTrial.set(run.trial.key, ordinal + 1);
      this.ordinals.set(run.step, ordinal);
      this.plan.assign(run.step, run.trial, run.slot);
      this.outstanding.push(run);
    }
    return p.runs;
  }

  /** Delivers the observation of the oldest outstanding run; returns the slot it retires, if any. */
  deliver(observation: Observation): Retirement | null {
    const head = this.outstanding.shift();
    if (head === undefined) throw new Error('conductor: no run out');
    const slot = this.plan.slotOf(head.step);
    const retired = this.plan.release(head.step, head.trial.key, observation.outcome);
    if (retired !== null) this.retired.push(retired);
    this.lastDelivered = head.trial.key;
    // A policy that compares runs within a slot learns where each ran (one slot: nothing to learn).
    this.cursor.observe(head.step, this.slots > 1 && slot !== undefined ? { ...observation, slot } : observation);
    return retired;
  }

  /** The outstanding proposals and the end, as one Proposed. */
  next(): Proposed {
    return this.end ?? { type: 'runs', runs: [...this.outstanding] };
  }
}

/**
 * Feeds stored observations into a fresh cursor by step id, checking each answers a run the
 * policy has out at that point; `onStep` sees every replayed proposal (the engine re-applies
 * its events, idempotently). Replay stops at the first run that did not complete; stored runs
 * after it (several were in flight) must be runs the policy still has out, and are adopted.
 */
function replayInto(
  conductor: Conductor,
  stored: readonly StoredObservation[],
  onStep: (proposal: Proposal) => void,
): Map<number, StoredObservation> {
  const byStep = new Map<number, StoredObservation>();
  for (const obs of stored) {
    if (byStep.has(obs.step)) throw replayMismatch('one run per step', obs.trialKey, obs.kind, obs.step);
    byStep.set(obs.step, obs);
  }
  const matches = (proposal: Proposal | undefined, obs: StoredObservation): proposal is Proposal =>
    proposal !== undefined && proposal.trial.key === obs.trialKey && proposal.kind === obs.kind;
  conductor.propose();
  for (;;) {
    const head = conductor.outstanding[0];
    const obs = head === undefined ? undefined : byStep.get(head.step);
    if (head === undefined || obs === undefined) break;
    if (!matches(head, obs)) throw replayMismatch(describe(conductor.next()), obs.trialKey, obs.kind, obs.step);
    byStep.delete(head.step);
    onStep(head);
    conductor.deliver(obs);
    conductor.propose();
  }
  const adopted = new Map<number, StoredObservation>();
  for (const obs of byStep.values()) {
    const proposal = conductor.outstanding.find((r) => r.step === obs.step);
    if (!matches(proposal, obs)) throw replayMismatch(describe(conductor.next()), obs.trialKey, obs.kind, obs.step);
    adopted.set(obs.step, obs);
  }
  return adopted;
}

/**
 * Feeds stored observations into a fresh cursor by step id, checking each answers a run the
 * policy has out at that point; `onStep` sees every replayed proposal (the engine re-applies
 * its events, idempotently). Replay stops at the first run that did not complete; stored runs
 * after it (several were in flight) must be runs the policy still has out, and are adopted.
 */
export function replay(
  policy: Policy,
  context: PolicyContext,
  stored: readonly StoredObservation[],
  onStep: (proposal: Proposal) => void = () => {},
  slots = 1,
): Replayed {
  const conductor = new Conductor(openPolicy(policy, { ...context, slots }), slots);
  const adopted = replayInto(conductor, stored, onStep);
  return {
    next: conductor.next(),
    cursor: conductor.cursor,
    runsPerTrial: conductor.runsPerTrial,
    adopted,
  };
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
  // One controller kills every run in flight: on a stop, and when an error ends the session.
  const kill = new AbortController();
  const onAbort = (): void => kill.abort();
  o.signal.addEventListener('abort', onAbort, { once: true });
  if (o.signal.aborted) kill.abort();
  try {
    return await drive(o, lifecycle, kill);
  } finally {
    o.signal.removeEventListener('abort', onAbort);
    await lifecycle.dispose();
  }
}

/** A run in flight, settling once it is committed; an adopted run settles with its stored observation. */
type Settled = { readonly type: 'ran'; readonly result: RunResult } | { readonly type: 'adopted'; readonly observation: Observation };

async function drive(o: EngineOptions, lifecycle: RunLifecycle, kill: AbortController): Promise<EngineOutcome> {
  const slots = o.slots ?? 1;
  const stored = o.journal.completedObservations();
  // The policy plans for the slots the engine runs: a session and its resumes use the same.
  const conductor = new Conductor(openPolicy(o.policy, { ...o.context, slots }), slots);
  const adopted = replayInto(conductor, stored, (p) => o.journal.applyEvents(p.events));
  if (stored.length > 0) o.report({ type: 'replayed', runs: stored.length });
  for (const r of conductor.retired) o.report({ type: 'policy', event: retirementNote(r, o.slotNames) });
  let lastTrialKey: string | null = conductor.lastDelivered;
  const measurements = new Measurements();
  for (const obs of stored) measurements.add(obs.metrics, obs.failure);

  const flights = new Map<number, Promise<Settled>>();
  /** Waits for every run in flight to end (they have been told to stop) before the session ends. */
  const settleAll = async (): Promise<void> => {
    kill.abort();
    await Promise.allSettled(flights.values());
  };
  const stopped = async (): Promise<EngineOutcome> => {
    await settleAll();
    o.journal.markStopped();
    o.report({ type: 'stopped' });
    return { state: 'stopped' };
  };

  const start = async (proposal: Proposal): Promise<void> => {
    const { trial, kind, warmupIndex, step } = proposal;
    const stored = adopted.get(step);
    if (stored !== undefined) {
      flights.set(step, Promise.resolve({ type: 'adopted', observation: stored }));
      return;
    }
    const slot = conductor.plan.slotOf(step) ?? 0;
    const ordinal = conductor.ordinals.get(step) ?? 0;
    const reused = o.prior?.adopt(proposal, ordinal) ?? null;
    if (reused !== null) {
      measurements.add(reused.metrics, reused.failure ?? null);
      flights.set(step, Promise.resolve({ type: 'adopted', observation: reused }));
      return;
    }
    await lifecycle.prepare(trial, slot);
    const begun = o.journal.beginRun(trial, kind, warmupIndex, step, slot);
    o.report({ type: 'run-start', seq: begun.seq, step, trial, kind, warmupIndex, logPath: begun.files.logPath, ...(slots > 1 ? { slot } : {}) });
    const running = o.runner.run({
      trial,
      passthrough: o.passthrough,
      vllmBin: o.vllmBin,
      baseEnv: o.baseEnv,
      ...begun.files,
      runKey: `${o.sessionId}:${step}:${ordinal}:${trial.key}`,
      timeoutMs: o.timeoutMs,
      signal: kill.signal,
      slot,
      onStart: (handle) => o.journal.setRunHandle(begun.runId, handle),
      ...(o.echo === undefined ? {} : { echo: o.echo }),
    });
    // Committed the moment it ends, whatever the order: a run finished here is never repeated.
    flights.set(
      step,
      running.then((result): Settled => {
        o.journal.finishRun(begun.runId, result);
        o.report({ type: 'run-end', seq: begun.seq, trial, kind, result });
        return { type: 'ran', result };
      }),
    );
  };

  let fresh: readonly Proposal[] = [...conductor.outstanding];
  try {
    for (;;) {
      const end = conductor.end;
      const events = end === null ? fresh.flatMap((r) => r.events) : end.events;
      o.journal.applyEvents(events);
      for (const event of events) o.report({ type: 'policy', event });
      if (lastTrialKey !== null && (end !== null || fresh.some((p) => p.trial.key !== lastTrialKey))) o.journal.refreshHistory();

      if (end !== null) {
        if (flights.size > 0) throw new AutotuneError('E_REPLAY', `policy ${o.policy.name} ended with ${flights.size} run(s) still in flight`);
        // A session in which nothing was measured decided nothing: it fails with the runs' cause.
        const nothing = measurements.noneMessage();
        if (nothing !== null) {
          o.journal.fail(nothing);
          throw new AutotuneError('E_NO_RESULT', nothing);
        }
        if (end.type === 'done') {
          o.journal.complete(end.result);
          o.report({ type: 'done', result: end.result });
          return { state: 'completed', result: end.result };
        }
        o.journal.fail(end.message);
        throw new AutotuneError(end.code, end.message);
      }
      const head = conductor.outstanding[0];
      if (head === undefined) throw new AutotuneError('E_REPLAY', `policy ${o.policy.name} proposed no run with none in flight`);
      if (o.signal.aborted) return await stopped();
      for (const proposal of fresh) await start(proposal);
      fresh = [];

      // Observations reach the policy in step order, whatever order the runs end in.
      const settled = await flights.get(head.step);
      flights.delete(head.step);
      if (settled === undefined) throw new Error(`engine: step ${head.step} was never started`);
      let observation: Observation;
      if (settled.type === 'ran') {
        const result = settled.result;
        if (result.outcome === 'spawn_error') {
          const message = result.failure ?? `could not start ${o.vllmBin}`;
          await settleAll();
          o.journal.fail(message);
          throw new AutotuneError('E_VLLM_NOT_FOUND', message);
        }
        const observed = toObservation(head.trial.key, head.kind, result);
        if (observed === null) return await stopped();
        measurements.add(observed.metrics, result.failure);
        observation = observed;
      } else {
        observation = settled.observation;
      }
      lastTrialKey = head.trial.key;
      const retired = conductor.deliver(observation);
      if (retired !== null) o.report({ type: 'policy', event: retirementNote(retired, o.slotNames) });
      fresh = conductor.propose();
    }
  } catch (error) {
    await settleAll();
    throw error;
  }
}

/** The one line a retired slot gets in the console and the log. */
function retirementNote(r: Retirement, names: readonly string[] | undefined): PolicyEvent {
  const name = names?.[r.slot] ?? String(r.slot);
  return {
    type: 'note',
    level: 'warn',
    message: `slot ${r.slot} (GPUs ${name}) retired: its last ${r.trials.length} runs (${r.trials.join(', ')}) failed while other slots measured; its work goes to the other slots`,
  };
}
