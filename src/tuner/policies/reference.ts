/**
 * The reference tool's decisions, reproduced exactly: every configuration runs numRuns times
 * (all but the last are warm-ups), its value is the last run's (else the last successful
 * one's), an operator is kept when its best backend is strictly above the single baseline
 * value, and the union of kept operators is measured once, never checked.
 *
 * The reference has no budget. When the context gives one, this policy stops asking for runs
 * once it is spent and finishes with the operators decided so far (a partially measured
 * configuration still counts with whatever runs it got).
 *
 * With several slots (GPU groups) the operator round runs in parallel, each operator's
 * backends on one slot, and every slot measures the baseline itself: an operator is compared
 * with the baseline of the slot it ran on, so a slower or faster GPU group scales both sides
 * alike. With one slot the runs, their order and every decision are the reference's.
 */
import { discoverOps, NO_OPS_MESSAGE } from '../discovery.js';
import { ootNames } from '../plugin-probe.js';
import type { Decision, Policy, PolicyContext, FinalResult } from '../policy.js';
import { baselineTrial, combinedTrial, fakeGemsTrial, gemsEnableTrial, opTrial, slotBaselineTrial } from '../spaces/operators.js';
import { objectiveUnit, score, scoreToValue, type Objective } from '../objective.js';
import { ATTENTION_BACKENDS, type AttentionBackend, type Backend, type Observation, type TrialSpec } from '../types.js';
import { InvocationBudget } from './budget.js';
import { sequentialPolicyCursor } from '../study-cursor.js';
import { batchCursorOf, type BatchGenerator, type BatchRun, type RunBatch } from './batch-cursor.js';
import { EventQueue } from './cursor.js';
import { describeSet, pct } from './format.js';

/** The reference's score of a configuration: the last run's, else the last successful run's. */
export function referenceValue(observations: readonly Observation[], objective: Objective): number | null {
  for (let i = observations.length - 1; i >= 0; i--) {
    const o = observations[i];
    if (o === undefined) continue;
    const v = score(objective, o);
    if (v !== null) return v;
  }
  return null;
}

/** A configuration's reference value and the slot of the run it came from. */
interface Point {
  readonly value: number | null;
  readonly slot: number;
}

function referencePoint(observations: readonly Observation[], objective: Objective): Point {
  for (let i = observations.length - 1; i >= 0; i--) {
    const o = observations[i];
    if (o === undefined) continue;
    const v = score(objective, o);
    if (v !== null) return { value: v, slot: o.slot ?? 0 };
  }
  return { value: null, slot: observations.at(-1)?.slot ?? 0 };
}

interface BackendResult {
  readonly backend: Backend;
  readonly attention: AttentionBackend | null;
  readonly value: number | null;
  /** The baseline of the slot it ran on. */
  readonly base: number | null;
}

/**
 * Strictly greater wins, so ties keep the earlier candidate, as the reference's loop does.
 * Candidates measured on one slot compare by value (the reference's own comparison); across
 * slots, by their ratio to their slot's baseline.
 */
function better(a: BackendResult | null, b: BackendResult): BackendResult {
  if (a === null || (a.value === null && b.value !== null)) return b;
  if (a.value === null || b.value === null) return a;
  if (a.base === b.base) return b.value > a.value ? b : a;
  if (a.base === null || b.base === null) return b.base !== null ? b : a;
  return b.value / b.base > a.value / a.base ? b : a;
}

/** A configuration to measure and the slot it should run on. */
interface Entry {
  readonly trial: TrialSpec;
  readonly slot?: number;
}

function* referenceSession(ctx: PolicyContext): BatchGenerator {
  const slots = Math.max(1, Math.floor(ctx.slots ?? 1));
  const parallel = slots > 1;
  const events = new EventQueue();
  const budget = new InvocationBudget(ctx.budget);
  let truncated = false;
  const unit = objectiveUnit(ctx.objective);
  const fmt = (v: number | null): string => (v === null ? 'no result' : `${scoreToValue(ctx.objective, v).toFixed(2)} ${unit}`);

  /** Every entry numRuns times (all but the last are warm-ups), in one batch, within the budget in entry order. */
  function* measure(entries: readonly Entry[]): Generator<RunBatch, Observation[][], readonly Observation[]> {
    const runs: BatchRun[] = [];
    const owner: number[] = [];
    entries.forEach((entry, j) => {
      for (let i = 1; i <= ctx.numRuns; i++) {
        if (budget.exhausted()) {
          truncated = true;
          break;
        }
        budget.spend();
        const isLast = i === ctx.numRuns;
        runs.push({ trial: entry.trial, kind: isLast ? 'measure' : 'warmup', warmupIndex: isLast ? null : i, ...(entry.slot === undefined ? {} : { slot: entry.slot }) });
        owner.push(j);
      }
    });
    const out: Observation[][] = entries.map(() => []);
    // Nothing left to run: no batch, so pending events ride on the next one or on the end.
    if (runs.length === 0) return out;
    const observed = yield { type: 'batch', runs, events: events.take() };
    observed.forEach((o, k) => out[owner[k] as number]?.push(o));
    return out;
  }
  function* measureOne(trial: TrialSpec): Generator<RunBatch, Observation[], readonly Observation[]> {
    return (yield* measure([{ trial }]))[0] ?? [];
  }

  /** The baseline value of each slot: the first baseline measured there (1a on slot 0). */
  const bases = new Map<number, number | null>();
  const addBase = (observations: readonly Observation[]): void => {
    const p = referencePoint(observations, ctx.objective);
    if (!bases.has(p.slot) || (bases.get(p.slot) === null && p.value !== null)) bases.set(p.slot, p.value);
  };

  let baselineRuns: Observation[];
  let fakeGemsRuns: Observation[] = [];
  let gemsRuns: Observation[];
  if (parallel) {
    // Round 1c (discovery) starts at once beside 1a; every other slot measures its own baseline.
    const lanes: Entry[] = [{ trial: baselineTrial(), slot: 0 }, { trial: gemsEnableTrial(), slot: 1 }];
    for (let slot = 2; slot < slots; slot++) lanes.push({ trial: slotBaselineTrial(slot), slot });
    const first = yield* measure(lanes);
    baselineRuns = first[0] ?? [];
    gemsRuns = first[1] ?? [];
    for (const runs of first.slice(2)) addBase(runs);
  } else {
    baselineRuns = yield* measureOne(baselineTrial());
    fakeGemsRuns = yield* measureOne(fakeGemsTrial());
    gemsRuns = yield* measureOne(gemsEnableTrial());
  }
  const baseline = referenceValue(baselineRuns, ctx.objective);
  bases.set(0, baseline);
  const executed = [...gemsRuns].reverse().find((o) => o.executedOps !== null && o.executedOps.length > 0)?.executedOps ?? null;

  const ops = discoverOps(ctx.discovery, executed);
  const oot = ootNames(ctx.discovery.probe);
  events.emit(ops);
  const table = Object.entries(ops.final);
  if (table.length === 0) {
    return {
      type: 'fail',
      code: 'E_NO_OPS',
      message: NO_OPS_MESSAGE,
      events: events.take(),
    };
  }
  const trialsOf = (backends: readonly Backend[], op: string): TrialSpec[] =>
    backends.flatMap((backend) => (backend === 'reference' ? ATTENTION_BACKENDS : [null]).map((att) => opTrial(op, backend, att, oot)));

  // In parallel, slot 1 measures its baseline and 1b runs beside the operators; each operator
  // (all its backends) goes to the slot with the least work so far, the operators with the
  // most runs placed first so that the slots finish together. Each slot runs its share in
  // table order.
  const measured = new Map<string, Observation[]>();
  if (parallel) {
    const load = Array.from({ length: slots }, () => 0);
    const place = (runs: number): number => {
      const slot = load.indexOf(Math.min(...load));
      load[slot] = (load[slot] ?? 0) + runs;
      return slot;
    };
    const entries: Entry[] = [{ trial: slotBaselineTrial(1), slot: 1 }];
    load[1] = ctx.numRuns;
    entries.push({ trial: fakeGemsTrial(), slot: place(ctx.numRuns) });
    const ops = table.map(([op, backends]) => ({ trials: trialsOf(backends, op), slot: 0 }));
    for (const o of [...ops].sort((a, b) => b.trials.length - a.trials.length)) o.slot = place(o.trials.length * ctx.numRuns);
    for (const o of ops) for (const trial of o.trials) entries.push({ trial, slot: o.slot });
    const all = yield* measure(entries);
    addBase(all[0] ?? []);
    fakeGemsRuns = all[1] ?? [];
    entries.forEach((entry, j) => {
      if (j >= 2) measured.set(entry.trial.key, all[j] ?? []);
    });
  }
  const fakeGems = referenceValue(fakeGemsRuns, ctx.objective);
  const gemsEnable = referenceValue(gemsRuns, ctx.objective);

  const improved: Record<string, Backend> = {};
  const gains: Record<string, number> = {};
  let attention: AttentionBackend | null = null;
  const summary: string[] = [
    `Baseline: ${fmt(baseline)}`,
    `Baseline with FlagGems loaded (fake op): ${fmt(fakeGems)}`,
    `Baseline with all FlagGems ops: ${fmt(gemsEnable)}`,
  ];
  if (parallel) {
    const perSlot = [...bases.entries()].sort(([a], [b]) => a - b).map(([slot, v]) => `slot ${slot} ${fmt(v)}${v !== null && baseline !== null && slot !== 0 ? ` (x${(v / baseline).toFixed(4)})` : ''}`);
    summary.push(`Baseline per slot (each operator is compared with its own slot's): ${perSlot.join(', ')}`);
  }

  for (const [op, backends] of table) {
    if (!parallel && budget.exhausted()) {
      truncated = true;
      break;
    }
    let best: BackendResult | null = null;
    let runs = 0;
    let tried = 0;
    for (const trial of trialsOf(backends, op)) {
      const observations = parallel ? (measured.get(trial.key) ?? []) : yield* measureOne(trial);
      if (parallel && observations.length === 0) continue;
      tried += 1;
      runs += observations.length;
      const point = referencePoint(observations, ctx.objective);
      best = better(best, { backend: trial.backend ?? 'flagos', attention: trial.attention, value: point.value, base: bases.get(point.slot) ?? null });
    }
    // Out of budget before this operator ran: undecided, as the one-slot loop leaves it.
    if (parallel && tried === 0) {
      truncated = true;
      continue;
    }
    const value = best?.value ?? null;
    const base = best?.base ?? null;
    const kept = best !== null && value !== null && base !== null && value > base;
    const estimate = value !== null && base !== null ? value / base - 1 : null;
    const slotNote = parallel && base !== null && base !== baseline ? ' (its slot\'s baseline)' : '';
    let reason: string;
    if (value === null) reason = 'no backend produced a result';
    else if (base === null) reason = `best backend ${best?.backend}: ${fmt(value)}, but the baseline has no result${parallel ? ' on its slot' : ''}`;
    else {
      reason = `best backend ${best?.backend}${best?.attention ? ` (${best.attention})` : ''}: ${fmt(value)} vs baseline ${fmt(base)}${slotNote} (${pct(estimate ?? 0)}), ${kept ? 'strictly greater: kept' : 'not greater: dropped'}`;
    }
    const decision: Decision = {
      type: 'decision',
      subject: op,
      op,
      backend: best?.value !== null ? (best?.backend ?? null) : null,
      verdict: value === null ? 'failed' : kept ? 'kept' : 'dropped',
      estimate,
      low: null,
      high: null,
      runs,
      reason,
    };
    events.emit(decision);
    if (kept && best !== null) {
      improved[op] = best.backend;
      gains[op] = estimate ?? 0;
      // One attention backend per process: the first kept reference-backend op sets it.
      if (best.attention !== null && attention === null) attention = best.attention;
    }
    events.emit({ type: 'best', opBackends: { ...improved } });
  }

  let combined: number | null = null;
  const keptOps = Object.keys(improved);
  summary.push(
    keptOps.length === 0
      ? 'Improved operators: none'
      : `Improved operators (${keptOps.length}): ${keptOps.map((op) => `${op}=${improved[op]} (${pct(gains[op] ?? 0)})`).join(', ')}`,
  );
  if (baseline !== null && keptOps.length > 0) {
    // On slot 0, with round 1a's baseline.
    combined = referenceValue((yield* measure([{ trial: combinedTrial(improved, 'combined_best', attention, oot), ...(parallel ? { slot: 0 } : {}) }]))[0] ?? [], ctx.objective);
    summary.push(`Combined best (${describeSet(improved)}): ${fmt(combined)}${combined !== null ? `, ratio ${(combined / baseline).toFixed(4)} vs baseline` : ''}`);
  } else {
    summary.push(`Combined best: skipped (${baseline === null ? 'the baseline has no result' : 'no operator improved'})`);
  }
  if (truncated) {
    summary.push(`Stopped early: the budget of ${ctx.budget} invocations was reached`);
    events.emit({ type: 'note', level: 'warn', message: `budget of ${ctx.budget} invocations reached; finishing with the operators decided so far` });
  }
  const result: FinalResult = {
    opBackends: improved,
    attention,
    validated: false,
    speedup: combined !== null && baseline !== null ? combined / baseline - 1 : null,
    low: null,
    high: null,
    summary,
  };
  return { type: 'done', result, events: events.take() };
}

export const referencePolicy: Policy = {
  name: 'reference',
  start: (context) => sequentialPolicyCursor(batchCursorOf(referenceSession({ ...context, slots: 1 }))),
  open: (context) => batchCursorOf(referenceSession(context)),
};
