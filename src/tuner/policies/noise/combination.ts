/**
 * From the candidate set to one validated set. Effects need not add up (two winners may
 * interfere), so a set is measured as a whole, each run paired with a baseline anchor, and
 * must be significantly faster than the baseline, by at least minGain. Sets are tried in a
 * ladder, largest first: all candidate operators (which must also not be worse than the best
 * single operator), then the core of individually significant ones, then the best single
 * operator. Each set is measured sequentially: at least `pairs` pairs, then more while the
 * answer is still open (neither validated nor clearly short of minGain) and the later rungs
 * keep their minimum. Membership comes from screening and every set is measured with runs of
 * its own, so the validation is not biased by the choice. The measured gain over the sum of
 * single gains (additivity) is reported.
 */
import type { AttentionBackend, Backend, TrialSpec } from '../../types.js';
import { combinedTrial } from '../../spaces/operators.js';
import { describeSet, pct } from '../format.js';
import { clears, interval } from './decision-rule.js';
import type { Comparison } from './estimation.js';
import { opBackendsOf, type Member, type PlannedSet } from './selection.js';
import type { Batches, Session } from './session.js';

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
  /** Fewest runs of a set (each followed by an anchor) before it may be validated or given up. */
  readonly pairs: number;
  /** The plugin's OOT operator names (plugin-probe.ts ootNames). */
  readonly oot: ReadonlySet<string>;
}

function describe(c: Comparison | null): string {
  if (c === null) return 'no successful measurement';
  const i = interval(c);
  return `${pct(i.estimate)} [${pct(i.low)}, ${pct(i.high)}] over ${c.runs} run(s)`;
}

export function* chooseSet(session: Session, plan: PlannedSet, p: CombinationParams): Batches<SetChoice> {
  const { members, attention } = plan;
  const best = members[0];
  const none = (reason: string, comparison: Comparison | null = null): SetChoice => ({ opBackends: {}, attention: null, validated: false, comparison, reason });
  if (best === undefined) return none('no operator measured faster than the baseline');

  const trialOf = (set: readonly Member[], prefix: string) => combinedTrial(opBackendsOf(set), prefix, set.some((m) => m.candidate.attention !== null) ? attention : null, p.oot);
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
  const minLog = Math.log1p(p.minGain);
  const notWorseThanBest = (c: Comparison): boolean => c.delta >= best.comparison.delta - p.zValidate * Math.hypot(c.se, best.comparison.se);
  /** Clearly short of minGain (or, for the whole set, clearly worse than its best operator alone): more runs would not change the call. */
  const futile = (c: Comparison, whole: boolean): boolean =>
    c.delta + p.zValidate * c.se < minLog || (whole && c.delta + p.zValidate * Math.hypot(c.se, best.comparison.se) < best.comparison.delta);
  const passes = (c: Comparison | null, whole: boolean): c is Comparison => c !== null && clears(c, p.minGain, p.zValidate) && (!whole || notWorseThanBest(c));

  /**
   * Runs of the set, each followed by an anchor: at least `p.pairs`, then more while the call is
   * open, as long as `keep` runs stay in the budget for later rungs. Stops at a failed run.
   */
  function* measure(set: readonly Member[], prefix: string, whole: boolean, keep: number): Batches<Comparison | null> {
    const trial = trialOf(set, prefix);
    if (session.slots > 1) {
      for (let i = 0; session.budget.left - 2 >= keep; ) {
        const c = session.ledger.compare(trial.key);
        if (i >= p.pairs && c !== null && (passes(c, whole) || futile(c, whole))) break;
        const made = yield* pairs(trial, Math.floor((session.budget.left - keep) / 2));
        if (made.failed || made.pairs === 0) break;
        i += made.pairs;
      }
      return session.ledger.compare(trial.key);
    }
    for (let i = 0; session.budget.left - 2 >= keep; i++) {
      const c = session.ledger.compare(trial.key);
      if (i >= p.pairs && c !== null && (passes(c, whole) || futile(c, whole))) break;
      const o = yield* session.run(trial);
      if (o.outcome !== 'ok') break;
      yield* session.anchor();
    }
    return session.ledger.compare(trial.key);
  }

  /**
   * On several slots: up to one pair (the set, then that slot's anchor) per slot at once, at
   * most `most`; the set runs as a copy on every slot but slot 0 and every run is its sample.
   */
  function* pairs(trial: TrialSpec, most: number): Batches<{ pairs: number; failed: boolean }> {
    const lanes = Math.min(session.slots, most);
    const planned = Array.from({ length: lanes }, (_, slot) => [session.on(trial, slot), session.anchorOn(slot)]).flat();
    const observed = yield* session.runAll(planned);
    return { pairs: lanes, failed: observed.some((o, i) => i % 2 === 0 && o.outcome !== 'ok') };
  }

  // The ladder: the whole set, its individually significant core, the best single operator.
  const ladder: { set: readonly Member[]; whole: boolean; label: string }[] = [{ set: members, whole: members.length > 1, label: `all ${members.length} candidate operator(s) together` }];
  const core = members.filter((m) => m.comparison.delta >= p.zValidate * m.comparison.se);
  if (core.length > 1 && core.length < members.length) ladder.push({ set: core, whole: false, label: `the ${core.length} individually significant operator(s)` });
  if (members.length > 1) ladder.push({ set: [best], whole: false, label: `${best.candidate.op} alone, the best single operator` });

  const predicted = members.reduce((sum, m) => sum + m.comparison.delta, 0);
  let last: Comparison | null = null;
  for (const [index, rung] of ladder.entries()) {
    const later = ladder.length - 1 - index;
    const prefix = index === 0 ? 'combined_best' : 'combined_subset';
    const c = yield* measure(rung.set, prefix, rung.whole, later * 2 * p.pairs);
    last = c;
    const additivity = index > 0 || c === null || predicted <= 0 || members.length < 2 ? '' : `; additivity ${(c.delta / predicted).toFixed(2)} (measured ${pct(Math.expm1(c.delta))} vs ${pct(Math.expm1(predicted))} summed)`;
    if (passes(c, rung.whole)) {
      // Runs left after the validation sharpen the reported interval.
      const trial = trialOf(rung.set, prefix);
      if (session.slots > 1) {
        for (let i = Math.floor(session.budget.left / 2); i > 0; ) {
          const made = yield* pairs(trial, i);
          if (made.failed) break;
          i -= made.pairs;
        }
      } else {
        for (let i = Math.floor(session.budget.left / 2); i > 0; i--) {
          const o = yield* session.run(trial);
          if (o.outcome !== 'ok') break;
          yield* session.anchor();
        }
      }
      const sharpened = session.ledger.compare(trial.key) ?? c;
      const against = rung.whole ? ` and not worse than ${best.candidate.op} alone` : '';
      decide(rung.set, sharpened, true, `faster than the baseline by at least ${pct(p.minGain)}${against}${additivity}`);
      return {
        opBackends: opBackendsOf(rung.set),
        attention: trialOf(rung.set, 'combined_best').attention,
        validated: true,
        comparison: sharpened,
        reason: rung.label,
      };
    }
    const next = ladder[index + 1];
    const why = rung.whole && c !== null && clears(c, p.minGain, p.zValidate) ? `not worse than ${best.candidate.op} alone could not be shown` : `not confirmed faster than the baseline by at least ${pct(p.minGain)}`;
    decide(rung.set, c, false, `${why}${additivity}${next === undefined ? '' : `: trying ${next.label}`}`);
  }
  return none(members.length === 1 ? `${best.candidate.op} was not confirmed when measured again` : 'no set was confirmed faster than the baseline', last);
}
