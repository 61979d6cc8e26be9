/**
 * The default policy: decides under noise instead of by single samples.
 *
 * 1. Rounds 1a/1b/1c as in the reference (baseline warm-up + two measured runs for a first
 *    noise estimate; 1b and 1c once each, 1c for discovery).
 * 2. Screening: every operator/backend candidate in a seeded random order, one cold warm-up per
 *    new configuration, then measured runs; a baseline anchor every few runs so comparisons are
 *    against the time-local baseline. A three-way rule on ln-throughput with a pooled noise
 *    estimate accepts, rejects (big losers and failures after one run) or re-queues.
 * 3. Combination: the accepted operators must prove themselves together (see combination.ts).
 * Only a validated set is returned; otherwise the answer is the baseline, with the reason.
 */
import { discoverOps } from '../discovery.js';
import type { FinalResult, Policy, PolicyContext } from '../policy.js';
import { fakeGemsTrial, gemsEnableTrial } from '../trials.js';
import type { Backend, Observation } from '../types.js';
import { cursorOf, type PolicyGenerator } from './cursor.js';
import { describeSet, pct } from './format.js';
import { chooseSet, type AcceptedOp, type CombinationParams } from './noise/combination.js';
import { classify, interval, leans, type RuleParams } from './noise/decision-rule.js';
import type { Comparison } from './noise/estimation.js';
import { candidatesOf, defaultBudget, seededRandom, shuffled, type Candidate } from './noise/schedule.js';
import { isDeterministicFailure, Session, type Runs } from './noise/session.js';

/** Measured candidate runs between two baseline anchors. */
const ANCHOR_EVERY = 5;
const RULE = { zAccept: 2.0, zReject: 1.0, maxRuns: 4, zLean: 1.0 } as const;
const COMBINATION: CombinationParams = { zValidate: 1.645, confirmPairs: 2, searchPairs: 2 };

type Status = 'open' | 'kept' | 'dropped' | 'failed' | 'inconclusive';

interface CandidateState {
  readonly candidate: Candidate;
  status: Status;
  failures: number;
  comparison: Comparison | null;
}

function* screen(session: Session, candidates: readonly Candidate[], rule: RuleParams, reserve: number): Runs<CandidateState[]> {
  const states: CandidateState[] = candidates.map((candidate) => ({ candidate, status: 'open', failures: 0, comparison: null }));
  const runsOf = (s: CandidateState): number => session.ledger.samplesOf(s.candidate.trial.key).length;

  const settle = (s: CandidateState, status: Exclude<Status, 'open'>, reason: string): void => {
    s.status = status;
    const i = s.comparison === null ? null : interval(s.comparison);
    session.emit({
      type: 'decision',
      subject: s.candidate.trial.key,
      op: s.candidate.op,
      backend: s.candidate.backend,
      verdict: status,
      estimate: i?.estimate ?? null,
      low: i?.low ?? null,
      high: i?.high ?? null,
      runs: runsOf(s),
      reason,
    });
  };

  const evaluate = (final: boolean): void => {
    for (const s of states) {
      if (s.status !== 'open' || runsOf(s) === 0) continue;
      const c = session.ledger.compare(s.candidate.trial.key);
      if (c === null) continue;
      s.comparison = c;
      const i = interval(c);
      const said = `${pct(i.estimate)} vs baseline, 95% interval [${pct(i.low)}, ${pct(i.high)}], ${c.runs} run(s), noise ${pct(session.ledger.noise().sigma)}`;
      const call = classify(c, rule);
      if (call === 'accept') settle(s, 'kept', `${said}: significant and at least ${pct(rule.minGain)}`);
      else if (call === 'reject') settle(s, 'dropped', `${said}: cannot plausibly reach ${pct(rule.minGain)}`);
      else if (runsOf(s) >= rule.maxRuns || final) {
        const why = final && runsOf(s) < rule.maxRuns ? 'when the budget ran out' : `after ${rule.maxRuns} runs`;
        if (leans(c, rule)) settle(s, 'kept', `${said}: likely at least ${pct(rule.minGain)} ${why}; kept for the set validation`);
        else settle(s, 'inconclusive', `${said}: still undecided ${why}`);
      }
    }
  };

  // New candidates first, in the seeded order; then repeats, spreading runs over the undecided
  // ones (fewest runs first, the most promising among equals).
  const nextWork = (): CandidateState | undefined => {
    const open = states.filter((s) => s.status === 'open' && runsOf(s) < rule.maxRuns);
    const fresh = open.find((s) => session.ledger.runsOf(s.candidate.trial.key) === 0);
    if (fresh !== undefined) return fresh;
    return open.sort((a, b) => runsOf(a) - runsOf(b) || (b.comparison?.delta ?? Infinity) - (a.comparison?.delta ?? Infinity))[0];
  };

  let sinceAnchor = 0;
  for (let work = nextWork(); work !== undefined; work = nextWork()) {
    const isNew = session.ledger.runsOf(work.candidate.trial.key) === 0 && session.ledger.warmupsNeeded();
    const cost = (isNew ? 2 : 1) + (sinceAnchor + 1 >= ANCHOR_EVERY ? 1 : 0);
    if (session.budget.left - cost < reserve) break;
    const observation: Observation | null = yield* session.measureWarm(work.candidate.trial);
    if (observation === null) break;
    if (observation.outcome !== 'ok') {
      work.failures += 1;
      // Crashes and OOMs belong to the configuration; a timeout or lost result gets one retry.
      if (isDeterministicFailure(observation) || work.failures > 1) {
        settle(work, 'failed', `run ended with ${observation.outcome}${work.failures > 1 ? ' twice' : ''}`);
      }
      continue;
    }
    sinceAnchor += 1;
    if (sinceAnchor >= ANCHOR_EVERY) {
      yield* session.anchor();
      sinceAnchor = 0;
      evaluate(false);
    }
  }
  if (sinceAnchor > 0 && session.budget.left > reserve) yield* session.anchor();
  evaluate(true);
  for (const s of states) if (s.status === 'open') settle(s, 'inconclusive', runsOf(s) === 0 ? 'not measured: budget reached' : 'undecided when the budget ran out');
  return states;
}

/** The best accepted backend of each operator. */
function acceptedOps(session: Session, states: readonly CandidateState[]): AcceptedOp[] {
  const byOp = new Map<string, AcceptedOp>();
  for (const s of states) {
    if (s.status !== 'kept' || s.comparison === null) continue;
    const current = byOp.get(s.candidate.op);
    if (current !== undefined && current.comparison.delta >= s.comparison.delta) continue;
    const { op, backend, attention, trial } = s.candidate;
    byOp.set(op, { op, backend, attention, samples: session.ledger.samplesOf(trial.key), comparison: s.comparison });
  }
  return [...byOp.values()];
}

function* noiseAwareSession(ctx: PolicyContext): PolicyGenerator {
  const session = new Session(ctx.metric, ctx.budget);
  const rule: RuleParams = { minGain: ctx.minGain, ...RULE };

  yield* session.run(session.baseline, 'warmup', 1);
  yield* session.run(session.baseline, 'measure');
  yield* session.run(session.baseline, 'measure');
  // 1b is informational (the cost of loading FlagGems); one run is enough for its history row.
  yield* session.run(fakeGemsTrial(), 'measure');
  let executed: readonly string[] | null = null;
  for (let attempt = 0; attempt < 2 && executed === null; attempt++) {
    const o = yield* session.run(gemsEnableTrial(), 'measure');
    if (o.executedOps !== null && o.executedOps.length > 0) executed = o.executedOps;
    if (o.outcome === 'ok') break;
  }

  const ops = discoverOps(ctx.discovery, executed);
  session.emit(ops);
  if (Object.keys(ops.final).length === 0) {
    return {
      type: 'fail',
      code: 'E_NO_OPS',
      message:
        'no operators to tune: --ops was not given, VLLM_FL_CONFIG names no auto_tune operators, ' +
        'and round 1c (baseline_gems_enable) reported no executed FlagGems operators',
      events: session.events.take(),
    };
  }
  const limit = ctx.budget ?? defaultBudget(ctx.numRuns, ops.final);
  session.budget.setLimit(limit);

  const candidates = shuffled(candidatesOf(ops.final), seededRandom(ctx.seed));
  const reserve = 1 + 2 * COMBINATION.confirmPairs;
  const states = yield* screen(session, candidates, rule, reserve);
  const accepted = acceptedOps(session, states);
  session.emit({ type: 'best', opBackends: Object.fromEntries(accepted.map((a) => [a.op, a.backend])) as Record<string, Backend> });
  session.emit({ type: 'note', level: 'info', message: `screening done: ${accepted.length} operator(s) accepted, to be validated together` });

  const choice = yield* chooseSet(session, accepted, COMBINATION);
  session.emit({ type: 'best', opBackends: choice.opBackends });

  const { sigma, df } = session.ledger.noise();
  const summary: string[] = [`Noise (run-to-run, pooled): ${pct(sigma)} over ${df} degrees of freedom`];
  const counts = (status: Status): number => states.filter((s) => s.status === status).length;
  summary.push(
    `Candidates: ${states.length} (kept ${counts('kept')}, dropped ${counts('dropped')}, failed ${counts('failed')}, inconclusive ${counts('inconclusive')})`,
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
  start: (context) => cursorOf(noiseAwareSession(context)),
};
