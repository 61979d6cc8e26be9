/**
 * The screening policy: finds the operator set with runs that each enable many operators.
 *
 * 1. Rounds 1a/1b/1c as the reference (three baseline runs, 1b and 1c once; 1c for discovery).
 * 2. Screening (screen/design.ts): runs chosen one at a time to add the most information
 *    (sequential D-optimality, nearly orthogonal), with baseline anchors interleaved. One robust regression of every run (screen/regression.ts)
 *    estimates each candidate's effect from all of them; a crashing candidate is isolated by
 *    group testing (screen/group-testing.ts) and retired; clear big losers stop being enabled.
 * 3. Confirmation: the budget left before validation goes to operators whose call is still
 *    open, chosen by the same design among them, with the clear winners always on.
 * 4. Selection: per operator its best backend when its estimated gain is positive and it is not
 *    plausibly harmful; pairs of members whose interaction the data show to be harmful lose
 *    their weaker member; among sets within noise of the best, the one of fewer operators.
 *    Operators measured only in groups carry the model's estimate.
 * 5. Validation (screen/sequential.ts): the set in pairs with baseline anchors, a group-
 *    sequential test with its error rate fixed in advance; its lower bound must clear minGain.
 *    Futility ends it early, but not while one of the set's runs is weighted down as a stall.
 * Only a validated set is returned; otherwise the baseline, with the reason.
 */
import { discoverOps, NO_OPS_MESSAGE } from '../discovery.js';
import { ootNames } from '../plugin-probe.js';
import type { Decision, FinalResult, Policy, PolicyContext } from '../policy.js';
import { baselineTrial, combinedTrial, fakeGemsTrial, gemsEnableTrial, opTrial, slotBaselineTrial } from '../spaces/operators.js';
import { meetsConstraints, score, type Objective } from '../objective.js';
import { ATTENTION_BACKENDS, type AttentionBackend, type Backend, type Observation, type TrialSpec } from '../types.js';
import { InvocationBudget } from './budget.js';
import { EventQueue } from './cursor.js';
import { batchCursorOf, type BatchGenerator, type BatchRun } from './batch-cursor.js';
import { sequentialPolicyCursor } from '../study-cursor.js';
import { slotCopy } from '../spaces/slot-copies.js';
import { describeSet, pct, percent } from './format.js';
import { CALIBRATION_RUNS, FINAL_PAIRS, GEMS_ENABLE_ATTEMPTS } from './minimum-budget.js';
import { candidatesOf, referenceInvocations, seededRandom, shuffled, type Candidate } from './noise/schedule.js';
import type { Batches } from './noise/session.js';
import { SequentialDesign, type DesignOp, type DesignRunPlan } from './screen/design.js';
import { FailureIsolation } from './screen/group-testing.js';
import { DOWNWEIGHTED, fitModel, suspectPairs, type ModelFit, type ModelRun, type ModelSpec } from './screen/regression.js';
import { judge, plannedLooks, type Look } from './screen/sequential.js';

/** Factor runs between two baseline anchors. */
const ANCHOR_EVERY = 7;
/** Refit every this many factor runs while screening (the design itself needs no fit), and while confirming. */
const FIT_EVERY = 6;
const CONFIRM_FIT_EVERY = 3;
/** Every this many fits the model's structure (cold decay, step positions) is chosen again. */
const RESELECT_EVERY = 6;
/** Share of the budget kept for confirmation and for validation, and their floors. */
const CONFIRM_SHARE = 0.1;
const VALIDATE_SHARE = 0.1;
const VALIDATE_MIN = 7;
/**
 * Screening needs about this many runs per candidate to rank them; a budget with more than that
 * gives the surplus to validation, up to VALIDATE_MAX_SHARE of it. Noisy and nothing-helps
 * sessions otherwise validated on about four pairs and kept the baseline (on the tuning split,
 * 10 seeds of every class: family mean regret 1.18% -> 1.08% at 1.0x, 0.7x unchanged).
 */
const SCREEN_RUNS_PER_CANDIDATE = 1.75;
const VALIDATE_MAX_SHARE = 0.15;
/** Most validation pairs planned: past this the interval hardly narrows. */
const MAX_PAIRS = 10;
/** One-sided error rate of the validation, over all its looks. */
const ALPHA = 0.05;
/**
 * A candidate joins the set when its posterior mean gain is positive (regret is linear in the
 * effects, so a positive mean is worth having) and it is not plausibly harmful: its lower
 * bound at Z_HARM, from the data alone (its runs against those without its operator), must stay
 * above HARM (a 1% loss).
 */
const Z_KEEP = 0;
const HARM = Math.log(1 - 0.01);
const Z_HARM = 3;
/** A call is settled past this z from zero; screening stops early when every call is. */
const Z_SETTLED = 3;
/** Clear big losers stop being enabled: they add nothing but risk. */
const RETIRE_BELOW = Math.log(1 - 0.03);
const RETIRE_Z = 4;
/** Members whose pairwise interaction is this clearly negative lose the weaker one. */
const PAIR_Z = 3;
/** Residual z past which a pair is fitted as an interaction, and how many at most. */
const PAIR_SCAN_Z = 3.5;
const MAX_PAIRS_FITTED = 8;
const Z95 = 1.959964;
/** Screening runs a slot after slot 0 must have to its share before it is used (it pays anchors of its own). */
const SLOT_RUNS = 8;
/** Screening rounds in one batch on several slots: each slot runs its share in turn, without waiting for the slowest. */
const ROUNDS_PER_BATCH = 2;
/**
 * Among sets within noise of the best, fewer operators (each one enabled is one more kernel to
 * trust): the weakest members leave while, together, they are worth at most TRIM_GAIN by the
 * model and lie within TRIM_Z standard errors of nothing. TRIM_GAIN caps what the preference
 * may cost; attention alternatives within TRIM_GAIN of each other go to the smaller set too.
 */
const TRIM_GAIN = 0.001;
const TRIM_Z = 1;

interface SetPlan {
  readonly members: readonly number[];
  readonly attention: AttentionBackend | null;
  /** Predicted log gain and its standard error. */
  readonly gain: number;
  readonly se: number;
  /** Candidates with a positive estimate left out for a smaller set (within noise of it). */
  readonly trimmed: readonly number[];
}

/** One run of a batch, and how the model books it. */
interface PlannedRun {
  readonly trial: TrialSpec;
  /** Candidates it enables as factors (factor runs), or null. */
  readonly factors: readonly number[] | null;
  /** The whole configuration it measures (labelled runs), or null. */
  readonly label: number | null;
  readonly kind?: 'measure';
  readonly slot: number;
  /** A baseline anchor (slot 0's baseline, or another slot's copy of it). */
  readonly anchor?: boolean;
  /** Run for its caches only, never booked for the model: the final set's first run. */
  readonly warmOnly?: boolean;
}

class ScreeningSession {
  readonly events = new EventQueue();
  readonly budget: InvocationBudget;
  readonly baseline = baselineTrial();
  readonly runs: ModelRun[] = [];
  /** Slots runs may go to at once (1: every run waits for the one before). */
  readonly slots: number;
  private readonly ordinals = new Map<string, number>();
  /** Operator backends some successful run enabled: warm when caches are kept per operator. */
  private readonly warm = new Set<string>();
  /** Slots that have had their first run, and their anchors that were measurements. */
  private readonly started = new Set<number>();
  private readonly anchored = new Map<number, number>();
  private seq = 0;
  /** Successful runs that enabled each candidate. */
  private readonly withCount = new Map<number, number>();
  labels = 0;

  constructor(private readonly ctx: PolicyContext) {
    this.budget = new InvocationBudget(ctx.budget);
    this.slots = Math.max(1, Math.floor(ctx.slots ?? 1));
  }

  label(): number {
    return this.labels++;
  }

  runsWith(candidate: number): number {
    return this.withCount.get(candidate) ?? 0;
  }

  ordinalOf(key: string): number {
    return this.ordinals.get(key) ?? 0;
  }

  /** A trial on a slot: slot 0 runs it, another slot its copy (own runs, own cold first run). */
  on(trial: TrialSpec, slot: number): TrialSpec {
    return slot === 0 ? trial : slotCopy(trial, slot);
  }

  /** Anchors a slot still needs before its design runs: a cold first run if it has had none, and one that is a measurement. */
  anchorsNeeded(slot: number): number {
    return (this.started.has(slot) ? 0 : 1) + ((this.anchored.get(slot) ?? 0) > 0 ? 0 : 1);
  }

  anchorOn(slot: number): PlannedRun {
    return { trial: slot === 0 ? this.baseline : slotBaselineTrial(slot), factors: null, label: null, slot, anchor: true };
  }

  /**
   * Runs trials at once and books each for the model, in batch order once all have ended: as
   * factors (`factors`), as a whole configuration (`label`), or as a baseline anchor (neither).
   * A trial's runs in one batch sit on one slot, so they keep their order there.
   */
  *runAll(planned: readonly PlannedRun[]): Batches<Observation[]> {
    if (planned.length === 0) return [];
    const pending = new Map<string, number>();
    const runs = planned.map((p): BatchRun => {
      const before = this.ordinalOf(p.trial.key) + (pending.get(p.trial.key) ?? 0);
      pending.set(p.trial.key, (pending.get(p.trial.key) ?? 0) + 1);
      const kind = p.kind ?? (before === 0 ? 'warmup' : 'measure');
      return { trial: p.trial, kind, warmupIndex: kind === 'warmup' ? 1 : null, ...(this.slots > 1 ? { slot: p.slot } : {}) };
    });
    const observations = yield { type: 'batch', runs, events: this.events.take() };
    observations.forEach((o, i) => this.book(planned[i] as PlannedRun, o));
    return [...observations];
  }

  *run(planned: PlannedRun): Batches<Observation> {
    const [o] = yield* this.runAll([planned]);
    if (o === undefined) throw new Error('screening session: a batch of one came back empty');
    return o;
  }

  *anchor(): Batches<Observation> {
    return yield* this.run(this.anchorOn(0));
  }

  private book(p: PlannedRun, o: Observation): void {
    const { trial, factors, label } = p;
    const ordinal = this.ordinalOf(trial.key);
    this.budget.spend();
    const seq = this.seq++;
    this.ordinals.set(trial.key, ordinal + 1);
    // A slot's very first run pays for every cache there is: not a measurement.
    const first = !this.started.has(p.slot);
    this.started.add(p.slot);
    // A trial that records the executed-op list enables what FlagGems executed.
    const enabled = trial.recordOplist ? (o.executedOps ?? []).map((op) => `${op}:flagos`) : Object.entries(trial.opBackends).map(([op, b]) => `${op}:${b}`);
    const value = score(this.ctx.objective, o);
    if (value === null || value <= 0) return;
    const fresh = enabled.some((k) => !this.warm.has(k));
    for (const k of enabled) this.warm.add(k);
    for (const c of factors ?? []) this.withCount.set(c, (this.withCount.get(c) ?? 0) + 1);
    if (first || p.warmOnly === true) return;
    if (p.anchor === true) this.anchored.set(p.slot, (this.anchored.get(p.slot) ?? 0) + 1);
    const gems = trial.recordOplist || Object.values(trial.opBackends).includes('flagos');
    this.runs.push({ seq, y: Math.log(value), factors: factors ?? [], label, ordinal, fresh, gems, anchor: p.anchor === true, ...(p.slot > 0 ? { slot: p.slot } : {}) });
  }
}

/**
 * How a run ended for the design. A run that finished but scores nothing (a constraint such as
 * an SLO broken, or the objective's metric missing) rules its configuration out as a crash
 * does: group testing must isolate the operator behind it, not let it hide in groups whose
 * runs the regression never sees.
 */
function endOf(objective: Objective, o: Observation | undefined): string {
  if (o === undefined) return 'no_result';
  if (o.outcome !== 'ok' || score(objective, o) !== null) return o.outcome;
  return meetsConstraints(objective, o.metrics) ? 'no score' : 'a broken constraint';
}

const validateReserveOf = (limit: number): number => Math.max(VALIDATE_MIN, Math.round(VALIDATE_SHARE * limit));
const screeningReserveOf = (limit: number): number => validateReserveOf(limit) + Math.round(CONFIRM_SHARE * limit);

/**
 * Slots worth using with `left` invocations of a budget of `limit`: each after slot 0 pays
 * anchors of its own and is worth it only with a share of the screening runs, SLOT_RUNS at least.
 */
function usableSlots(slots: number, left: number, limit: number): number {
  return Math.max(1, Math.min(slots, Math.floor((left - screeningReserveOf(limit)) / SLOT_RUNS)));
}

function relative(log: number): number {
  return Math.expm1(log);
}

function* screeningSession(ctx: PolicyContext): BatchGenerator {
  const session = new ScreeningSession(ctx);
  const emit = (e: Parameters<EventQueue['emit']>[0]): void => session.events.emit(e);
  const calibration = Array.from({ length: CALIBRATION_RUNS }, () => session.anchorOn(0));
  const fakeGems: PlannedRun = { trial: fakeGemsTrial(), factors: null, label: session.label(), kind: 'measure', slot: 0 };
  const gemsLabel = session.label();
  const gemsEnable = (slot: number): PlannedRun => ({ trial: gemsEnableTrial(), factors: null, label: gemsLabel, kind: 'measure', slot });
  let executed: readonly string[] | null = null;
  let attempts = 0;
  /** One 1c attempt: done once it ran or reported what FlagGems executed. */
  const attempted = (o: Observation | undefined): boolean => {
    attempts += 1;
    const ran = o?.executedOps ?? null;
    if (ran !== null && ran.length > 0) executed = ran;
    return o?.outcome === 'ok' || executed !== null;
  };
  // On several slots 1c (discovery) and then 1b run on slot 1 beside 1a, as the reference runs
  // 1c: slot 1's first run pays for its caches, and 1c's only job is to report what ran.
  // Unless an explicit budget is too small to use every slot, each slot also anchors itself
  // there as often as 1a runs: slot 1 once after 1b, the others three times (the first of
  // them pays for the slot's caches).
  const enableSlot = session.slots > 1 ? 1 : 0;
  const spent = CALIBRATION_RUNS * session.slots;
  const early: PlannedRun[] = [];
  // The budget is known before round 1c when it is given, or when the operators are (--ops):
  // the default is then the reference's count for them, which a few operators keep small.
  const upfront = discoverOps(ctx.discovery, null);
  const knownLimit = ctx.budget ?? (upfront.source === 'explicit' ? referenceInvocations(ctx.numRuns, upfront.final) : null);
  if (enableSlot === 1 && (knownLimit === null || usableSlots(session.slots, knownLimit - spent, knownLimit) === session.slots)) {
    early.push(session.anchorOn(1));
    for (let slot = 2; slot < session.slots; slot++) for (let i = 0; i < CALIBRATION_RUNS; i++) early.push(session.anchorOn(slot));
  }
  let enabled = false;
  if (enableSlot === 1) enabled = attempted((yield* session.runAll([...calibration, gemsEnable(1), { ...fakeGems, slot: 1 }, ...early]))[CALIBRATION_RUNS]);
  else {
    yield* session.runAll(calibration);
    yield* session.run(fakeGems);
  }
  while (!enabled && attempts < GEMS_ENABLE_ATTEMPTS) enabled = attempted(yield* session.run(gemsEnable(enableSlot)));
  const ops = discoverOps(ctx.discovery, executed);
  emit(ops);
  if (Object.keys(ops.final).length === 0) return { type: 'fail', code: 'E_NO_OPS', message: NO_OPS_MESSAGE, events: session.events.take() };

  const limit = ctx.budget ?? referenceInvocations(ctx.numRuns, ops.final);
  session.budget.setLimit(limit);
  const random = seededRandom(ctx.seed);
  const oot = ootNames(ctx.discovery.probe);
  const candidates: Candidate[] = candidatesOf(ops.final, oot);
  const attentionOf = (c: number): AttentionBackend | null => candidates[c]?.attention ?? null;
  const opNames = shuffled([...new Set(candidates.map((c) => c.op))], random);
  const candidatesOfOp = new Map<string, number[]>();
  candidates.forEach((c, i) => candidatesOfOp.set(c.op, [...(candidatesOfOp.get(c.op) ?? []), i]));
  const isolation = new FailureIsolation();
  /** Every factor run planned, for the design to choose the next one against. */
  const design = new SequentialDesign(candidates.length);
  /** Candidates no longer enabled by the design: retired failures and clear big losers. */
  const benched = new Set<number>();
  const labelOfSet = new Map<string, number>();
  // A tight budget (few operators, or a small explicit one) must still screen: the reserves
  // never take more than about half of what is left, nor less than the set's first run and
  // FINAL_PAIRS validation pairs.
  const cap = Math.max(1 + 2 * FINAL_PAIRS, Math.floor(session.budget.left / 2) + 1);
  const surplus = session.budget.left - Math.round(SCREEN_RUNS_PER_CANDIDATE * candidates.length);
  const extra = Math.max(0, Math.min(Math.round(VALIDATE_MAX_SHARE * limit), surplus) - validateReserveOf(limit));
  const screeningReserve = Math.min(screeningReserveOf(limit) + extra, cap);
  const validateReserve = Math.min(validateReserveOf(limit) + extra, screeningReserve);
  const usable = usableSlots(session.slots, session.budget.left, limit);
  const slots = Array.from({ length: usable }, (_, slot) => slot);
  // A slot the budget leaves unused measures no anchors, so its level is unknown: 1b's run
  // there leaves the model (1b's label then rests on its prior, as an unmeasured one would).
  for (let i = session.runs.length - 1; i >= 0; i--) if ((session.runs[i]?.slot ?? 0) >= usable) session.runs.splice(i, 1);
  // Anchors a slot owes, each run as that slot's entry in the next round: a slot's anchor that
  // is a measurement (its first run, 1c or a cold anchor beside 1a, is not) takes its place in
  // the first screening round, beside slot 0's design runs.
  const anchorsDue: number[] = slots.map((slot) => (slot === 0 ? 0 : session.anchorsNeeded(slot)));
  const groups = candidates.map((c) => opNames.indexOf(c.op));
  let spec: ModelSpec = { candidates: candidates.length, labels: session.labels, pairs: [], slots: usable, groups };
  let fit: ModelFit | null = null;
  let fittedAt = -1;
  let fits = 0;
  const refit = (): ModelFit => {
    if (fit !== null && fittedAt === session.runs.length && spec.labels === session.labels) return fit;
    spec = { ...spec, labels: session.labels };
    fit = fitModel(session.runs, spec, { previous: fit, reselect: fits % RESELECT_EVERY === 0 });
    fits += 1;
    fittedAt = session.runs.length;
    return fit;
  };
  const runsWith = (c: number): number => session.runsWith(c);

  const sinceAnchor = slots.map(() => 0);
  let factorRuns = 0;
  /**
   * After factor runs on `used` slots: an anchor on each slot that is due one, while the budget
   * is above `reserve`. With one slot it runs at once, as it always did; with several it is
   * owed and runs in the next round, so that no slot idles while another anchors.
   */
  function* afterRuns(used: readonly number[], reserve: number): Batches<void> {
    const due: PlannedRun[] = [];
    for (const slot of used) {
      sinceAnchor[slot] = (sinceAnchor[slot] ?? 0) + 1;
      if ((sinceAnchor[slot] ?? 0) < ANCHOR_EVERY) continue;
      if (usable > 1) {
        anchorsDue[slot] = (anchorsDue[slot] ?? 0) + 1;
        sinceAnchor[slot] = 0;
      } else if (session.budget.left - due.length > reserve) {
        due.push(session.anchorOn(slot));
        sinceAnchor[slot] = 0;
      }
    }
    yield* session.runAll(due);
  }
  const trialOf = (plan: DesignRunPlan, prefix: string): TrialSpec => {
    const first = plan.candidates[0];
    const only = first === undefined ? undefined : candidates[first];
    if (plan.candidates.length === 1 && only !== undefined) return opTrial(only.op, only.backend, only.attention, oot);
    const opBackends: Record<string, Backend> = {};
    for (const c of plan.candidates) {
      const cand = candidates[c];
      if (cand !== undefined) opBackends[cand.op] = cand.backend;
    }
    return combinedTrial(opBackends, prefix, plan.attention, oot);
  };
  /** One factor run per entry, at once, each on its slot; group tests and design runs booked in order. */
  interface FactorRun {
    readonly plan: DesignRunPlan;
    readonly prefix: string;
    readonly slot: number;
    /** The failure-isolation group it tests, or null for a design run. */
    readonly test: readonly number[] | null;
  }
  /** A batch's entries in order: factor runs, and baseline anchors (a slot number). */
  type Entry = FactorRun | number;
  function* runFactors(entries: readonly Entry[]): Batches<void> {
    const observations = yield* session.runAll(
      entries.map((e) => (typeof e === 'number' ? session.anchorOn(e) : { trial: session.on(trialOf(e.plan, e.prefix), e.slot), factors: e.plan.candidates, label: null, slot: e.slot })),
    );
    entries.forEach((e, i) => {
      if (typeof e === 'number') return;
      const outcome = endOf(ctx.objective, observations[i]);
      if (e.test !== null) isolation.tested(e.test, outcome);
      else isolation.record(e.plan.candidates, outcome);
      factorRuns += 1;
    });
  }
  const planOf = (members: readonly number[]): DesignRunPlan => {
    const attention = members.map(attentionOf).find((a) => a !== null) ?? null;
    return { candidates: members, attention };
  };
  /** A factor run, booked in the design as planned. */
  const factorRun = (plan: DesignRunPlan, prefix: string, slot: number, test: readonly number[] | null): FactorRun => {
    design.add(plan.candidates);
    return { plan, prefix, slot, test };
  };

  /** Per operator: its best candidate now (posterior mean), with the call's z against zero. */
  const standing = (f: ModelFit, attention: AttentionBackend | null): Map<string, { c: number; b: number; se: number; seData: number }> => {
    const out = new Map<string, { c: number; b: number; se: number; seData: number }>();
    for (const [op, cs] of candidatesOfOp) {
      for (const c of cs) {
        if (isolation.isRetired(c) || runsWith(c) === 0) continue;
        const a = attentionOf(c);
        if (a !== null && a !== attention) continue;
        const b = f.b[c] ?? 0;
        const se = f.bSe[c] ?? 1;
        const current = out.get(op);
        if (current === undefined || b > current.b) out.set(op, { c, b, se, seData: f.bSeData[c] ?? Infinity });
      }
    }
    return out;
  };
  const unsettled = (f: ModelFit): number[] => {
    const out: number[] = [];
    for (const [op, cs] of candidatesOfOp) {
      void op;
      for (const c of cs) {
        if (benched.has(c) || isolation.isRetired(c)) continue;
        const b = f.b[c] ?? 0;
        const se = f.bSe[c] ?? 1;
        if (runsWith(c) < 2 || (Math.abs(b) < Z_SETTLED * se && b > -ctx.minGain)) out.push(c);
      }
    }
    return out;
  };
  const benchLosers = (f: ModelFit): void => {
    candidates.forEach((_, c) => {
      const b = f.b[c] ?? 0;
      if (!benched.has(c) && b < RETIRE_BELOW && b / (f.bSe[c] ?? 1) < -RETIRE_Z) benched.add(c);
    });
  };

  // ---- 2. Screening ----
  const hasReference = candidates.some((c) => c.attention !== null);
  // A round is one factor run per slot (a group test first when a failure waits to be isolated:
  // each test depends on the last, so one per round), then the anchors that are due.
  /** Every call settled: screening ends (the rest of the budget is not needed for it). */
  let settled = false;
  let designRuns = 0;
  const nextDesignRun = (): DesignRunPlan | null => {
    if (settled) return null;
    const designOps: DesignOp[] = opNames.map((op) => ({ op, candidates: (candidatesOfOp.get(op) ?? []).filter((c) => !benched.has(c) && !isolation.isRetired(c)) }));
    if (designOps.every((o) => o.candidates.length === 0)) return null;
    // The runs' attention backend alternates, so that reference candidates run under each.
    const attention = hasReference ? (ATTENTION_BACKENDS[designRuns % ATTENTION_BACKENDS.length] ?? null) : null;
    const plan = design.next({ ops: designOps, attention }, attentionOf, random);
    if (plan.candidates.length === 0) return null;
    designRuns += 1;
    return plan;
  };
  while (session.budget.left > screeningReserve) {
    const entries: Entry[] = [];
    const group = isolation.nextTest();
    if (group !== null) entries.push(factorRun(planOf(group), 'combined_subset', 0, group));
    // With one slot a group test has its round to itself, as it always had. With several, a
    // batch holds ROUNDS_PER_BATCH rounds: a slot goes on to its next run without waiting for
    // the slowest of the others (design runs need no fit in between).
    let exhausted = false;
    for (let pass = 0; pass < (usable > 1 ? ROUNDS_PER_BATCH : 1) && !exhausted; pass++) {
      for (let slot = pass === 0 ? entries.length : 0; slot < usable && entries.length < session.budget.left - screeningReserve && (group === null || usable > 1); slot++) {
        if ((anchorsDue[slot] ?? 0) > 0) {
          anchorsDue[slot] = (anchorsDue[slot] ?? 0) - 1;
          entries.push(slot);
          continue;
        }
        const plan = nextDesignRun();
        if (plan === null) {
          exhausted = true;
          break;
        }
        entries.push(factorRun(plan, 'screen', slot, null));
      }
    }
    if (entries.length === 0) break;
    const round = entries.filter((e): e is FactorRun => typeof e !== 'number');
    const before = factorRuns;
    yield* runFactors(entries);
    yield* afterRuns(round.map((r) => r.slot), screeningReserve);
    if (round.some((r) => r.test === null) && Math.floor(before / FIT_EVERY) < Math.floor(factorRuns / FIT_EVERY)) {
      const f = refit();
      benchLosers(f);
      settled = factorRuns >= Math.max(12, candidates.length / 2) && unsettled(f).length === 0;
      if (settled) break;
    }
  }

  // ---- 3. Confirmation: operators whose call is open, clear winners always on ----
  let confirmRuns = 0;
  let fc: ModelFit | null = null;
  // While no candidate is estimated faster, the validation needs no more than its smallest form:
  // the rest of its reserve measures candidates instead (an operator the failures around it
  // kept out of every successful run, say).
  const confirmReserve = (): number => {
    const f = fc ?? refit();
    const hopeful = candidates.some((_, c) => !benched.has(c) && !isolation.isRetired(c) && runsWith(c) > 0 && (f.b[c] ?? 0) > 0);
    // The stage keeps one run beyond its reserve (the set's first run): FINAL_PAIRS pairs more.
    return hopeful ? validateReserve : Math.min(validateReserve, 2 * FINAL_PAIRS);
  };
  for (;;) {
    if (session.budget.left <= confirmReserve() + 1) break;
    const round: FactorRun[] = [];
    const entries: Entry[] = [];
    const group = isolation.nextTest();
    if (group !== null) round.push(factorRun(planOf(group), 'combined_subset', 0, group));
    entries.push(...round);
    let closed = false;
    const reserve = confirmReserve();
    for (let slot = entries.length; slot < usable && entries.length < session.budget.left - reserve - 1 && (group === null || usable > 1); slot++) {
      if ((anchorsDue[slot] ?? 0) > 0) {
        anchorsDue[slot] = (anchorsDue[slot] ?? 0) - 1;
        entries.push(slot);
        continue;
      }
      const planned = confirmRuns + round.filter((r) => r.test === null).length;
      if (planned % CONFIRM_FIT_EVERY === 0 || fc === null) {
        fc = refit();
        benchLosers(fc);
      }
      const f = fc;
      // Open: estimated faster but not settled, or never in a run that succeeded.
      const open = unsettled(f).filter((c) => (f.b[c] ?? 0) > 0 || runsWith(c) === 0);
      if (open.length === 0) {
        closed = true;
        break;
      }
      const attention = open.map(attentionOf).find((a) => a !== null) ?? null;
      const winners = [...standing(f, attention).values()].filter((x) => x.b - Z_SETTLED * x.se > 0).map((x) => x.c);
      const openOps = new Map<string, number[]>();
      for (const c of open) {
        const op = candidates[c]?.op;
        if (op !== undefined) openOps.set(op, [...(openOps.get(op) ?? []), c]);
      }
      const fixed = winners.filter((c) => !openOps.has(candidates[c]?.op ?? ''));
      const chosen = design.next({ ops: [...openOps].map(([op, cs]) => ({ op, candidates: cs })), attention, fixed }, attentionOf, random);
      const run = factorRun(planOf(chosen.candidates), 'combined_subset', slot, null);
      round.push(run);
      entries.push(run);
    }
    // Anchors alone before validation are not needed: its pairs anchor every slot.
    if (entries.length === 0 || (closed && round.length === 0)) break;
    yield* runFactors(entries);
    confirmRuns += round.filter((r) => r.test === null).length;
    yield* afterRuns(round.map((r) => r.slot), reserve);
    if (closed) break;
  }

  // ---- 4. Selection ----
  const trim = (f: ModelFit, members: readonly number[]): number[] => {
    const paired = new Set(spec.pairs.flatMap(([i, j]) => (members.includes(i) && members.includes(j) ? [i, j] : [])));
    const weakest = members.filter((c) => !paired.has(c)).sort((a, b) => (f.b[a] ?? 0) - (f.b[b] ?? 0));
    const dropped: number[] = [];
    for (const c of weakest) {
      if (dropped.length + 1 >= members.length) break;
      const tail = [...dropped, c];
      const worth = tail.reduce((sum, x) => sum + (f.b[x] ?? 0), 0);
      if (worth > TRIM_GAIN || worth > TRIM_Z * Math.sqrt(f.variance(tail, false))) break;
      dropped.push(c);
    }
    return dropped;
  };
  const select = (f: ModelFit): SetPlan => {
    let best: SetPlan = { members: [], attention: null, gain: 0, se: 0, trimmed: [] };
    for (const attention of [null, ...ATTENTION_BACKENDS]) {
      let members = [...standing(f, attention).values()].filter((s) => s.b - Z_KEEP * s.se > 0 && s.b - Z_HARM * s.seData > HARM).map((s) => s.c);
      // Harmful pairs among members: the weaker member goes when the pair is worse than the stronger alone.
      spec.pairs.forEach(([i, j], q) => {
        const g = f.pairs[q] ?? 0;
        if (!members.includes(i) || !members.includes(j) || g / (f.pairSe[q] ?? 1) > -PAIR_Z) return;
        const weaker = (f.b[i] ?? 0) < (f.b[j] ?? 0) ? i : j;
        if ((f.b[weaker] ?? 0) + g < 0) members = members.filter((m) => m !== weaker);
      });
      // Helpful pairs: both join when together they clearly gain, even if neither does alone.
      spec.pairs.forEach(([i, j], q) => {
        const g = f.pairs[q] ?? 0;
        if (g / (f.pairSe[q] ?? 1) < PAIR_Z || (f.b[i] ?? 0) + (f.b[j] ?? 0) + g <= 0) return;
        for (const c of [i, j]) {
          const a = attentionOf(c);
          if ((a !== null && a !== attention) || isolation.isRetired(c)) return;
        }
        const ops = new Set([candidates[i]?.op, candidates[j]?.op]);
        members = [...members.filter((m) => !ops.has(candidates[m]?.op)), i, j];
      });
      const trimmed = trim(f, members);
      members = members.filter((c) => !trimmed.includes(c));
      const on = new Set(members);
      const pairs = spec.pairs.flatMap(([i, j], q) => (on.has(i) && on.has(j) ? [q] : []));
      const loaded = members.some((c) => candidates[c]?.backend === 'flagos');
      const gain = members.reduce((s, c) => s + (f.b[c] ?? 0), 0) + pairs.reduce((s, q) => s + (f.pairs[q] ?? 0), 0) + (loaded ? f.overhead : 0);
      const se = Math.sqrt(f.variance(members, loaded, pairs));
      const usesAttention = members.some((c) => attentionOf(c) !== null);
      const needs = members.length < best.members.length ? -TRIM_GAIN : members.length > best.members.length ? TRIM_GAIN : 0;
      if (members.length > 0 && (best.members.length === 0 || gain - best.gain > needs)) best = { members, attention: usesAttention ? attention : null, gain, se, trimmed };
    }
    return best;
  };
  let f = refit();
  // Interactions where the residuals point to them: among each operator's best candidates.
  const best = [...new Set([null, ...ATTENTION_BACKENDS].flatMap((a) => [...standing(f, a).values()].map((x) => x.c)))].sort((a, b) => a - b);
  const pairs = suspectPairs(session.runs, f, best, PAIR_SCAN_Z, MAX_PAIRS_FITTED);
  if (pairs.length > 0) {
    spec = { ...spec, pairs };
    fittedAt = -1;
    f = refit();
  }
  const plan = select(f);

  const decisions = new Map<number, Decision>();
  const inSet = new Set(plan.members);
  candidates.forEach((cand, c) => {
    const b = f.b[c] ?? 0;
    const se = f.bSe[c] ?? 0;
    const n = runsWith(c);
    const alone = session.ordinalOf(cand.trial.key) > 0;
    const basis = alone ? 'measured alone and in groups' : 'model estimate from group runs';
    const said = `${pct(relative(b))} vs baseline, 95% interval [${pct(relative(b - Z95 * se))}, ${pct(relative(b + Z95 * se))}], ${n} run(s), ${basis}`;
    const retired = isolation.reasonOf(c);
    let verdict: Decision['verdict'];
    let reason: string;
    if (retired !== null) [verdict, reason] = ['failed', retired];
    else if (n === 0) [verdict, reason] = ['inconclusive', 'not measured: the budget ran out first'];
    else if (inSet.has(c)) [verdict, reason] = ['kept', `${said}: estimated faster and not plausibly harmful, kept for the set validation`];
    else if (benched.has(c)) [verdict, reason] = ['dropped', `${said}: clearly slower, no longer enabled after ${n} run(s)`];
    else if (b - Z_KEEP * se <= 0) [verdict, reason] = ['dropped', `${said}: ${b > 0 ? 'gain not significant' : 'not faster than the baseline'}`];
    else if (plan.trimmed.includes(c)) [verdict, reason] = ['dropped', `${said}: within noise of nothing, left out for a set of fewer operators`];
    else if (b - Z_HARM * (f.bSeData[c] ?? Infinity) <= HARM) [verdict, reason] = ['dropped', `${said}: too few or too noisy runs to rule out a loss of 1% or more`];
    else [verdict, reason] = ['dropped', `${said}: another backend or attention backend serves the set better`];
    const measured = retired === null && n > 0;
    decisions.set(c, {
      type: 'decision',
      subject: cand.trial.key,
      op: cand.op,
      backend: cand.backend,
      verdict,
      estimate: measured ? relative(b) : null,
      low: measured ? relative(b - Z95 * se) : null,
      high: measured ? relative(b + Z95 * se) : null,
      runs: n,
      reason,
      basis: alone ? 'runs' : 'model',
    });
  });
  for (const d of decisions.values()) emit(d);
  const chosen = (members: readonly number[]): Record<string, Backend> => Object.fromEntries(members.flatMap((c) => (candidates[c] === undefined ? [] : [[candidates[c].op, candidates[c].backend]])));
  emit({ type: 'best', opBackends: chosen(plan.members) });

  // ---- 5. Validation ----
  const threshold = Math.log1p(ctx.minGain);
  let validated = false;
  let reason: string;
  let estimate: { g: number; se: number; look: Look | null } | null = null;
  if (plan.members.length === 0) reason = 'no operator was significantly faster than the baseline';
  else if (session.budget.left < 3) reason = 'the budget ran out before the set could be validated';
  else if (plan.gain + 1.645 * plan.se < threshold) reason = `the best set is predicted at ${pct(relative(plan.gain))}, below the minimum gain of ${pct(ctx.minGain)}`;
  else {
    const set = combinedTrial(chosen(plan.members), 'combined_best', plan.attention, oot);
    const key = set.key;
    const label = labelOfSet.get(key) ?? session.label();
    labelOfSet.set(key, label);
    // The first run of a new configuration is not a measurement: it runs before the pairs, on
    // every slot (another slot's copy of the set is a configuration of its own there), and the
    // model never sees it. Booked with a first-run cold term, it would inform the set's estimate
    // through that term, which the design runs estimate (every one of them is a first run) held
    // at or below zero: where the caches are per operator and the true term is zero, the held
    // estimate sits below it on average and the set looked faster than it is (400 simulated
    // sessions: the 95% lower bound missed in 7.8% of them, 1.8% without the first run).
    const warm = yield* session.runAll(slots.map((slot) => ({ trial: session.on(set, slot), factors: null, label, slot, warmOnly: true })));
    reason = 'the set failed when run as a whole';
    if (warm.every((o) => endOf(ctx.objective, o) === 'ok')) {
      const room = Math.max(1, Math.min(MAX_PAIRS, Math.floor(session.budget.left / 2)));
      // On several slots the pairs go out a slot each: their count is a multiple of the slots.
      const maxPairs = room >= usable ? room - (room % usable) : room;
      const looks = plannedLooks(maxPairs, ALPHA, 2, usable);
      let pairs = 0;
      reason = `not shown faster than the baseline by ${pct(ctx.minGain)} within ${maxPairs} pair(s)`;
      for (const look of looks) {
        let failed = false;
        while (pairs < look.pairs && session.budget.left >= 2) {
          // On one slot a set that fails is not followed by its anchor: the steps a stored
          // one-slot session replays. On several, each slot's pair goes out at once.
          if (usable === 1) {
            const o = yield* session.run({ trial: set, factors: null, label, slot: 0 });
            if (endOf(ctx.objective, o) !== 'ok') {
              failed = true;
              break;
            }
            yield* session.anchor();
            pairs += 1;
            continue;
          }
          // A pair per slot at once: the set's copy, then that slot's anchor.
          const n = Math.min(usable, look.pairs - pairs, Math.floor(session.budget.left / 2));
          const batch = slots.slice(0, n).flatMap((slot) => [{ trial: session.on(set, slot), factors: null, label, slot }, session.anchorOn(slot)]);
          const observations = yield* session.runAll(batch);
          if (observations.some((o, i) => i % 2 === 0 && endOf(ctx.objective, o) !== 'ok')) {
            failed = true;
            break;
          }
          pairs += n;
        }
        if (failed) {
          reason = 'the set failed when run again';
          break;
        }
        const fl = refit();
        const g = fl.labels[label] ?? 0;
        const se = fl.labelSe[label] ?? 1;
        estimate = { g, se, look };
        // A stall among the set's few runs must not end its validation as futile: the likelihood
        // can only weight all of them down then, and the estimate sits between the stall and the
        // rest. The next look has a run more to tell them apart.
        const outlying = session.runs.some((r) => r.label === label && (fl.weights.get(r.seq) ?? 1) < DOWNWEIGHTED);
        const judged = judge(g, se, threshold, look);
        const verdict = judged === 'futile' && outlying ? 'continue' : judged;
        if (verdict === 'validated') {
          validated = true;
          reason = `faster than the baseline by at least ${pct(ctx.minGain)} at look ${looks.indexOf(look) + 1} of ${looks.length} (${pairs} pair(s))`;
          break;
        }
        if (verdict === 'futile') {
          reason = `${pct(relative(g))} after ${pairs} pair(s): cannot reach ${pct(ctx.minGain)}`;
          break;
        }
        if (pairs < look.pairs) break;
      }
      if (!validated && estimate !== null && reason.startsWith('not shown')) reason += ` (${pct(relative(estimate.g))}, lower bound ${pct(relative(estimate.g - (estimate.look?.z ?? Z95) * estimate.se))})`;
    }
    const z = estimate?.look?.z ?? Z95;
    emit({
      type: 'decision',
      subject: `set ${describeSet(chosen(plan.members))}`,
      op: null,
      backend: null,
      verdict: validated ? 'kept' : 'dropped',
      estimate: estimate === null ? null : relative(estimate.g),
      low: estimate === null ? null : relative(estimate.g - z * estimate.se),
      high: estimate === null ? null : relative(estimate.g + z * estimate.se),
      runs: slots.reduce((sum, slot) => sum + Math.max(0, session.ordinalOf(session.on(set, slot).key) - 1), 0),
      reason: `${reason}; predicted from screening ${pct(relative(plan.gain))}`,
    });
  }
  const opBackends = validated ? chosen(plan.members) : {};
  emit({ type: 'best', opBackends });

  const last = refit();
  const counts = (v: Decision['verdict']): number => [...decisions.values()].filter((d) => d.verdict === v).length;
  const estimated = [...decisions.values()].filter((d, c) => d.estimate !== null && session.ordinalOf(candidates[c]?.trial.key ?? '') === 0).length;
  const summary: string[] = [
    `Noise (robust scale): ${percent(last.sigmaPlain)} without FlagGems kernels, ${percent(last.sigmaGems)} with them; ${last.downweighted} run(s) weighted down as stalls or heavy tails`,
    `Cold first runs: ${pct(relative(last.cold))}; a configuration's runs 2-${last.coldLater.length + 1}: ${[...last.coldLater].map((c) => pct(relative(c))).join(', ')}; first use of an operator backend: ${pct(relative(last.fresh))}; ` +
      (last.shifts.length === 0 ? 'no level shift' : `level shift(s) of ${last.shifts.map((s) => pct(relative(s.size))).join(', ')} at run(s) ${last.shifts.map((s) => s.at).join(', ')}`),
    ...(last.slotLevels.length === 0
      ? []
      : [`Slot levels vs slot 0 (from each slot's baseline anchors; every comparison is corrected for them): ${[...last.slotLevels].map((level, i) => `slot ${i + 1} x${Math.exp(level).toFixed(4)}`).join(', ')}`]),
    `Screening: ${factorRuns} group run(s) over ${candidates.length} candidate(s), ${isolation.groupTests} group test(s) isolating ${isolation.retiredCount} failing candidate(s); ${estimated} estimate(s) come from group runs only`,
    `Candidates: ${decisions.size} (kept ${counts('kept')}, dropped ${counts('dropped')}, failed ${counts('failed')}, inconclusive ${counts('inconclusive')})${plan.trimmed.length > 0 ? `; ${plan.trimmed.length} estimated faster but within noise of nothing, left out for a set of fewer operators` : ''}`,
  ];
  const low = estimate === null ? null : relative(estimate.g - (estimate.look?.z ?? Z95) * estimate.se);
  const high = estimate === null ? null : relative(estimate.g + (estimate.look?.z ?? Z95) * estimate.se);
  if (validated && estimate !== null && low !== null) {
    summary.push(`Validated set: ${describeSet(opBackends)}; ${reason}`);
    summary.push(`Validated speed-up: ${pct(relative(estimate.g))}, lower bound ${pct(low)} at a one-sided error rate of ${percent(ALPHA, 0)} over all looks`);
  } else summary.push(`No set validated (${reason}): best_config keeps the baseline (empty op_backends)`);
  summary.push(`Invocations: ${session.budget.used} of a budget of ${limit}`);
  const result: FinalResult = {
    opBackends,
    attention: validated ? plan.attention : null,
    validated,
    speedup: validated && estimate !== null ? relative(estimate.g) : null,
    low: validated ? low : null,
    high: validated ? high : null,
    summary,
  };
  return { type: 'done', result, events: session.events.take() };
}

export const screeningPolicy: Policy = {
  name: 'screening',
  start: (context) => sequentialPolicyCursor(batchCursorOf(screeningSession({ ...context, slots: 1 }))),
  open: (context) => batchCursorOf(screeningSession(context)),
};
