/**
 * From the candidate set to one validated set. Effects need not add up (two winners may
 * interfere), so the set is measured as a whole, each run paired with a baseline anchor, and
 * must be significantly faster than the baseline, by at least minGain, and not worse than its
 * best single operator. The measured gain over the sum of single gains (additivity) is
 * reported. When the set fails, forward selection from the best single operator keeps each
 * addition that measures better, and the survivor is confirmed with fresh runs before it may
 * be written as the answer.
 */
import type { AttentionBackend, Backend } from '../../types.js';
import { combinedTrial } from '../../trials.js';
import { describeSet, pct } from '../format.js';
import { clears, interval } from './decision-rule.js';
import type { Comparison } from './estimation.js';
import { opBackendsOf, type Member, type PlannedSet } from './selection.js';
import type { Runs, Session } from './session.js';

export interface SetChoice {
  readonly opBackends: Record<string, Backend>;
  readonly attention: AttentionBackend | null;
  readonly validated: boolean;
  /** The measurement the answer rests on: the set's own runs, fresh ones after a search. */
  readonly comparison: Comparison | null;
  readonly reason: string;
}

export interface CombinationParams {
  readonly minGain: number;
  /** One-sided z a set's gain must clear above zero. */
  readonly zValidate: number;
  /** Runs of the set (each followed by an anchor) when it is first measured or confirmed. */
  readonly pairs: number;
}

/** The label fresh confirmation runs are kept under, apart from the set's search runs. */
const confirmLabel = (key: string): string => `${key}#confirm`;

function describe(c: Comparison | null): string {
  if (c === null) return 'no successful measurement';
  const i = interval(c);
  return `${pct(i.estimate)} [${pct(i.low)}, ${pct(i.high)}] over ${c.runs} run(s)`;
}

export function* chooseSet(session: Session, plan: PlannedSet, p: CombinationParams): Runs<SetChoice> {
  const { members, attention } = plan;
  const best = members[0];
  const none = (reason: string, comparison: Comparison | null = null): SetChoice => ({ opBackends: {}, attention: null, validated: false, comparison, reason });
  if (best === undefined) return none('no operator measured faster than the baseline');

  const trialOf = (set: readonly Member[], prefix: string) => combinedTrial(opBackendsOf(set), prefix, set.some((m) => m.candidate.attention !== null) ? attention : null);
  const decide = (set: readonly Member[], c: Comparison | null, ok: boolean, why: string): void => {
    const i = c === null ? null : interval(c);
    session.emit({
      type: 'decision',
      subject: `set ${describeSet(opBackendsOf(set))}`,
      op: null,
      backend: null,
      verdict: c === null ? 'failed' : ok ? 'kept' : 'dropped',
      estimate: i?.estimate ?? null,
      low: i?.low ?? null,
      high: i?.high ?? null,
      runs: c?.runs ?? 0,
      reason: `${describe(c)}; ${why}`,
    });
  };
  /** Up to `pairs` runs of the set, each followed by an anchor, while at least `keep` runs stay in the budget. */
  function* measure(set: readonly Member[], prefix: string, label: string | null, pairs: number, keep: number): Runs<Comparison | null> {
    const trial = trialOf(set, prefix);
    const as = label ?? trial.key;
    for (let i = 0; i < pairs && session.budget.left - 2 >= keep; i++) {
      const o = yield* session.run(trial, as);
      if (o.outcome !== 'ok') break;
      yield* session.anchor();
    }
    return session.ledger.compare(as);
  }
  const choice = (set: readonly Member[], c: Comparison, reason: string): SetChoice => ({
    opBackends: opBackendsOf(set),
    attention: trialOf(set, 'combined_best').attention,
    validated: true,
    comparison: c,
    reason,
  });

  // The whole candidate set, with every run left before the search allowance.
  const predicted = members.reduce((sum, m) => sum + m.comparison.delta, 0);
  const union = yield* measure(members, 'combined_best', null, p.pairs, 0);
  const notWorseThanBest = (c: Comparison): boolean => c.delta >= best.comparison.delta - p.zValidate * Math.hypot(c.se, best.comparison.se);
  const additivity = union === null || predicted <= 0 ? '' : `; additivity ${(union.delta / predicted).toFixed(2)} (measured ${pct(Math.expm1(union.delta))} vs ${pct(Math.expm1(predicted))} summed)`;
  if (union !== null && clears(union, p.minGain, p.zValidate) && notWorseThanBest(union)) {
    // Runs left after the validation sharpen the reported interval.
    const sharpened = (yield* measure(members, 'combined_best', null, Math.floor(session.budget.left / 2), 0)) ?? union;
    decide(members, sharpened, true, `faster than the baseline by at least ${pct(p.minGain)} and not worse than ${best.candidate.op} alone${additivity}`);
    return choice(members, sharpened, `all ${members.length} candidate operator(s) together`);
  }
  if (members.length === 1) {
    decide(members, union, false, `not confirmed faster than the baseline by at least ${pct(p.minGain)}`);
    return none(`${best.candidate.op} was not confirmed when measured again`, union);
  }
  decide(members, union, false, `not clearly faster than the baseline and ${best.candidate.op} alone${additivity}: searching subsets`);

  // Forward selection from the best single operator, in order of estimate.
  const confirmCost = 2 * p.pairs;
  let current: Member[] = [best];
  let currentComparison = best.comparison;
  for (const next of members.slice(1)) {
    if (session.budget.left < 4 + confirmCost) break;
    const candidate = [...current, next];
    const c = yield* measure(candidate, 'combined_subset', null, 1, confirmCost);
    const better = c !== null && c.delta > currentComparison.delta;
    decide(candidate, c, better, better ? `adding ${next.candidate.op} measured faster than without it` : `adding ${next.candidate.op} did not measure faster`);
    if (better) {
      current = candidate;
      currentComparison = c;
    }
  }
  const finalTrial = trialOf(current, 'combined_best');
  const confirmed = yield* measure(current, 'combined_best', confirmLabel(finalTrial.key), p.pairs, 0);
  const ok = confirmed !== null && clears(confirmed, p.minGain, p.zValidate);
  decide(current, confirmed, ok, ok ? `fresh runs confirm it faster than the baseline by at least ${pct(p.minGain)}` : 'fresh runs do not confirm it');
  return ok ? choice(current, confirmed, 'forward selection from the best single operator, confirmed with fresh runs') : none('no subset was confirmed faster than the baseline', confirmed);
}
