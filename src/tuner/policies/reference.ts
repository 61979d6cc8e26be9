/**
 * The reference tool's decisions, reproduced exactly: every configuration runs numRuns times
 * (all but the last are warm-ups), its value is the last run's (else the last successful
 * one's), an operator is kept when its best backend is strictly above the single baseline
 * value, and the union of kept operators is measured once, never checked.
 *
 * The reference has no budget. When the context gives one, this policy stops asking for runs
 * once it is spent and finishes with the operators decided so far (a partially measured
 * configuration still counts with whatever runs it got).
 */
import { discoverOps, NO_OPS_MESSAGE } from '../discovery.js';
import { ootNames } from '../plugin-probe.js';
import type { Decision, Policy, PolicyContext, FinalResult } from '../policy.js';
import { baselineTrial, combinedTrial, fakeGemsTrial, gemsEnableTrial, opTrial } from '../spaces/operators.js';
import { objectiveUnit, score, scoreToValue, type Objective } from '../objective.js';
import { ATTENTION_BACKENDS, type AttentionBackend, type Backend, type Observation, type TrialSpec } from '../types.js';
import { InvocationBudget } from './budget.js';
import { cursorOf, EventQueue, runStep, type PolicyGenerator } from './cursor.js';
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

interface BackendResult {
  readonly backend: Backend;
  readonly attention: AttentionBackend | null;
  readonly value: number | null;
}

/** Strictly greater wins, so ties keep the earlier candidate, as the reference's loop does. */
function better(a: BackendResult | null, b: BackendResult): BackendResult {
  if (a === null || (a.value === null && b.value !== null)) return b;
  return a.value !== null && b.value !== null && b.value > a.value ? b : a;
}

function* referenceSession(ctx: PolicyContext): PolicyGenerator {
  const events = new EventQueue();
  const budget = new InvocationBudget(ctx.budget);
  let truncated = false;
  const unit = objectiveUnit(ctx.objective);
  const fmt = (v: number | null): string => (v === null ? 'no result' : `${scoreToValue(ctx.objective, v).toFixed(2)} ${unit}`);

  function* measure(trial: TrialSpec): Generator<ReturnType<typeof runStep>, Observation[], Observation> {
    const runs: Observation[] = [];
    for (let i = 1; i <= ctx.numRuns; i++) {
      if (budget.exhausted()) {
        truncated = true;
        break;
      }
      const isLast = i === ctx.numRuns;
      const observation = yield runStep(trial, isLast ? 'measure' : 'warmup', isLast ? null : i, events.take());
      budget.spend();
      runs.push(observation);
    }
    return runs;
  }

  const baseline = referenceValue(yield* measure(baselineTrial()), ctx.objective);
  const fakeGems = referenceValue(yield* measure(fakeGemsTrial()), ctx.objective);
  const gemsRuns = yield* measure(gemsEnableTrial());
  const gemsEnable = referenceValue(gemsRuns, ctx.objective);
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

  const improved: Record<string, Backend> = {};
  const gains: Record<string, number> = {};
  let attention: AttentionBackend | null = null;
  const summary: string[] = [
    `Baseline: ${fmt(baseline)}`,
    `Baseline with FlagGems loaded (fake op): ${fmt(fakeGems)}`,
    `Baseline with all FlagGems ops: ${fmt(gemsEnable)}`,
  ];

  for (const [op, backends] of table) {
    if (budget.exhausted()) {
      truncated = true;
      break;
    }
    let best: BackendResult | null = null;
    let runs = 0;
    for (const backend of backends) {
      const attentions: readonly (AttentionBackend | null)[] = backend === 'reference' ? ATTENTION_BACKENDS : [null];
      for (const att of attentions) {
        const observations = yield* measure(opTrial(op, backend, att, oot));
        runs += observations.length;
        best = better(best, { backend, attention: att, value: referenceValue(observations, ctx.objective) });
      }
    }
    const value = best?.value ?? null;
    const kept = best !== null && value !== null && baseline !== null && value > baseline;
    const estimate = value !== null && baseline !== null ? value / baseline - 1 : null;
    let reason: string;
    if (value === null) reason = 'no backend produced a result';
    else if (baseline === null) reason = `best backend ${best?.backend}: ${fmt(value)}, but the baseline has no result`;
    else {
      reason = `best backend ${best?.backend}${best?.attention ? ` (${best.attention})` : ''}: ${fmt(value)} vs baseline ${fmt(baseline)} (${pct(estimate ?? 0)}), ${kept ? 'strictly greater: kept' : 'not greater: dropped'}`;
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
    combined = referenceValue(yield* measure(combinedTrial(improved, 'combined_best', attention, oot)), ctx.objective);
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
  start: (context) => cursorOf(referenceSession(context)),
};
