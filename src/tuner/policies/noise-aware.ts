/**
 * The default policy: decides under noise instead of by single samples.
 *
 * 1. Rounds 1a/1b/1c as in the reference: the baseline's warm-up and two measured runs (a first
 *    noise estimate), 1b and 1c once each, 1c for discovery.
 * 2. Screening (noise/screening.ts): every operator/backend candidate once, then more runs where
 *    a wrong call would cost most, with baseline anchors interleaved. One model of the whole
 *    session (noise/model.ts) turns all runs into effects with standard errors.
 * 3. The candidate set (noise/selection.ts): each operator's best backend unless it is clearly
 *    slower than the baseline. It must then prove itself as a whole (noise/combination.ts).
 * Only a validated set is returned; otherwise the answer is the baseline, with the reason.
 */
import { discoverOps, NO_OPS_MESSAGE } from '../discovery.js';
import type { FinalResult, Policy, PolicyContext } from '../policy.js';
import { fakeGemsTrial, gemsEnableTrial } from '../spaces/operators.js';
import { sequentialPolicyCursor } from '../study-cursor.js';
import { batchCursorOf, type BatchGenerator } from './batch-cursor.js';
import { describeSet, pct, percent } from './format.js';
import { ootNames } from '../plugin-probe.js';
import { chooseSet, type CombinationParams } from './noise/combination.js';
import { interval } from './noise/decision-rule.js';
import { candidatesOf, defaultBudget, seededRandom, shuffled } from './noise/schedule.js';
import { screen, screeningStates } from './noise/screening.js';
import { keepZFor, opBackendsOf, planSet, type PlannedSet } from './noise/selection.js';
import { Session, type Planned } from './noise/session.js';
import type { Observation } from '../types.js';
import { CALIBRATION_RUNS, FINAL_PAIRS, GEMS_ENABLE_ATTEMPTS } from './minimum-budget.js';

/** Runs of the final stage: at least FINAL_PAIRS pairs (set, anchor) per set tried, plus a share for measuring on. */
const FINAL_SHARE = 0.1;
/** One-sided z (95%) the final set's gain must clear above zero. */
const Z_VALIDATE = 1.645;

function* noiseAwareSession(ctx: PolicyContext): BatchGenerator {
  const session = new Session(ctx.objective, ctx.budget, ctx.slots ?? 1);
  // 1b is informational (the cost of loading FlagGems); one run is enough for its history row.
  const fakeGems = fakeGemsTrial();
  const gemsEnable = gemsEnableTrial();
  let executed: readonly string[] | null = null;
  let attempt = 0;
  let last: Observation | null = null;
  if (session.slots > 1) {
    // Round 1c (discovery) and 1b run beside the calibration anchors; every other slot starts
    // with an anchor of its own, which gives the model its level.
    const planned: Planned[] = [];
    for (let i = 0; i < CALIBRATION_RUNS; i++) planned.push(session.anchorOn(0));
    planned.push({ trial: gemsEnable, kind: 'measure', slot: 1 });
    planned.push({ trial: fakeGems, kind: 'measure', slot: session.slots > 2 ? 2 : 1 });
    for (let slot = 1; slot < session.slots; slot++) planned.push(session.anchorOn(slot));
    last = (yield* session.runAll(planned))[CALIBRATION_RUNS] ?? null;
    if (last !== null && last.executedOps !== null && last.executedOps.length > 0) executed = last.executedOps;
    attempt = 1;
  } else {
    for (let i = 0; i < CALIBRATION_RUNS; i++) yield* session.anchor();
    yield* session.run(fakeGems, fakeGems.key, 'measure');
  }
  for (; attempt < GEMS_ENABLE_ATTEMPTS && executed === null && last?.outcome !== 'ok'; attempt++) {
    last = yield* session.run(gemsEnable, gemsEnable.key, 'measure');
    if (last.executedOps !== null && last.executedOps.length > 0) executed = last.executedOps;
  }

  const ops = discoverOps(ctx.discovery, executed);
  session.emit(ops);
  if (Object.keys(ops.final).length === 0) {
    return {
      type: 'fail',
      code: 'E_NO_OPS',
      message: NO_OPS_MESSAGE,
      events: session.events.take(),
    };
  }
  const limit = ctx.budget ?? defaultBudget(ctx.numRuns, ops.final);
  session.budget.setLimit(limit);

  const oot = ootNames(ctx.discovery.probe);
  const candidates = shuffled(candidatesOf(ops.final, oot), seededRandom(ctx.seed));
  const reserve = 2 * FINAL_PAIRS + Math.round(FINAL_SHARE * limit);
  const states = screeningStates(candidates);
  // Fewer operators, a more inclusive candidate set (selection.ts).
  const keepZ = keepZFor(Object.keys(ops.final).length);
  const planned = (): PlannedSet =>
    planSet(states.map((s) => ({ candidate: s.candidate, failure: s.failure, comparison: session.ledger.compare(s.candidate.trial.key) })), keepZ);
  yield* screen(session, states, reserve);
  let plan = planned();
  // With nothing to validate, the final stage's reserve is better spent on more screening.
  if (plan.members.length === 0 && session.budget.left > 0) {
    yield* screen(session, states, 0);
    plan = planned();
  }
  for (const v of plan.verdicts) {
    const i = v.comparison === null ? null : interval(v.comparison);
    session.emit({
      type: 'decision',
      subject: v.candidate.trial.key,
      op: v.candidate.op,
      backend: v.candidate.backend,
      verdict: v.verdict,
      estimate: i?.estimate ?? null,
      low: i?.low ?? null,
      high: i?.high ?? null,
      runs: session.ledger.samplesOf(v.candidate.trial.key),
      reason: v.reason,
    });
  }
  session.emit({ type: 'best', opBackends: opBackendsOf(plan.members) });
  session.emit({ type: 'note', level: 'info', message: `screening done: ${plan.members.length} operator(s) not clearly slower than the baseline (kept unless more than ${-keepZ} standard error(s) below it), to be validated together` });

  const combination: CombinationParams = { minGain: ctx.minGain, zValidate: Z_VALIDATE, pairs: FINAL_PAIRS, oot };
  const choice = yield* chooseSet(session, plan, combination);
  session.emit({ type: 'best', opBackends: choice.opBackends });

  const noise = session.ledger.noise();
  const fit = session.ledger.fit();
  const summary: string[] = [
    `Noise (run-to-run, pooled): ${percent(noise.plain)} without FlagGems kernels, ${percent(noise.gems)} with them, over ${noise.df} degrees of freedom`,
    `Cold first runs: ${pct(Math.expm1(fit.coldPenalty))}, keeping ${percent(fit.structure.decay, 0)} of itself per further run; ` +
      (Number.isFinite(fit.structure.spacing) ? `level drift followed with knots every ${fit.structure.spacing} runs` : 'no drift detected') +
      `; ${fit.outliers.length} outlier run(s) set aside`,
  ];
  const counts = (verdict: string): number => plan.verdicts.filter((v) => v.verdict === verdict).length;
  if (fit.slotLevels.length > 0) {
    const levels = fit.slotLevels.map((level, i) => `slot ${i + 1} x${Math.exp(level).toFixed(4)}`).join(', ');
    summary.push(`Slot levels vs slot 0 (from each slot's baseline anchors; every comparison is corrected for them): ${levels}`);
  }
  summary.push(
    `Candidates: ${plan.verdicts.length} (kept ${counts('kept')}, dropped ${counts('dropped')}, failed ${counts('failed')}, inconclusive ${counts('inconclusive')})`,
  );
  const i = choice.comparison === null ? null : interval(choice.comparison);
  if (choice.validated && i !== null) {
    summary.push(`Validated set: ${describeSet(choice.opBackends)}; ${choice.reason}`);
    summary.push(`Validated speed-up: ${pct(i.estimate)} (95% interval ${pct(i.low)} to ${pct(i.high)})`);
  } else {
    summary.push(`No set validated (${choice.reason}): best_config keeps the baseline (empty op_backends)`);
  }
  summary.push(`Invocations: ${session.budget.used} of a budget of ${limit}`);
  const result: FinalResult = {
    opBackends: choice.opBackends,
    attention: choice.attention,
    validated: choice.validated,
    speedup: choice.validated && i !== null ? i.estimate : null,
    low: choice.validated && i !== null ? i.low : null,
    high: choice.validated && i !== null ? i.high : null,
    summary,
  };
  return { type: 'done', result, events: session.events.take() };
}

export const noiseAwarePolicy: Policy = {
  name: 'noise-aware',
  start: (context) => sequentialPolicyCursor(batchCursorOf(noiseAwareSession({ ...context, slots: 1 }))),
  open: (context) => batchCursorOf(noiseAwareSession(context)),
};
