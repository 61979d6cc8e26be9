/**
 * From accepted single operators to one validated set. Effects need not add up (two winners
 * may interfere), so the union is measured interleaved with baseline and must beat both the
 * baseline and the best single operator; otherwise forward selection from the best single
 * operator keeps an addition only when the measured set improves, and the survivor is
 * confirmed as `combined_best` before it may be written as the answer.
 */
import type { Backend, AttentionBackend } from '../../types.js';
import { combinedTrial } from '../../trials.js';
import { describeSet, pct } from '../format.js';
import { interval } from './decision-rule.js';
import type { Comparison, Sample } from './estimation.js';
import type { Runs, Session } from './session.js';

export interface AcceptedOp {
  readonly op: string;
  readonly backend: Backend;
  readonly attention: AttentionBackend | null;
  /** The operator's own screening runs and their comparison with baseline. */
  readonly samples: readonly Sample[];
  readonly comparison: Comparison;
}

export interface SetChoice {
  readonly opBackends: Record<string, Backend>;
  readonly attention: AttentionBackend | null;
  readonly validated: boolean;
  readonly comparison: Comparison | null;
  readonly reason: string;
}

export interface CombinationParams {
  /** Standard errors a set's gain must clear above zero (one-sided). */
  readonly zValidate: number;
  /** Measured runs (each followed by a baseline anchor) per set checked. */
  readonly confirmPairs: number;
  readonly searchPairs: number;
}

function setOf(ops: readonly AcceptedOp[]): { opBackends: Record<string, Backend>; attention: AttentionBackend | null } {
  const opBackends: Record<string, Backend> = {};
  for (const a of ops) opBackends[a.op] = a.backend;
  // One attention backend per process: the strongest reference-backend operator picks it.
  const attention = ops.find((a) => a.attention !== null)?.attention ?? null;
  return { opBackends, attention };
}

/** Invocations needed to check a set: its warm-up when new, then measure+anchor pairs. */
function costOf(session: Session, key: string, pairs: number): number {
  return (session.ledger.runsOf(key) === 0 && session.ledger.warmupsNeeded() ? 1 : 0) + 2 * pairs;
}

function* measureSet(session: Session, ops: readonly AcceptedOp[], prefix: string, pairs: number): Runs<Comparison | null> {
  const { opBackends, attention } = setOf(ops);
  const trial = combinedTrial(opBackends, prefix, attention);
  for (let i = 0; i < pairs && session.budget.left >= costOf(session, trial.key, 1); i++) {
    const observation = yield* session.measureWarm(trial);
    if (observation === null || observation.outcome !== 'ok') break;
    yield* session.anchor();
  }
  // A one-operator set runs exactly the operator's own configuration: its screening runs count too.
  const own = ops.length === 1 ? (ops[0]?.samples ?? []) : [];
  return session.ledger.compareSamples([...session.ledger.samplesOf(trial.key), ...own]);
}

function passes(c: Comparison | null, best: AcceptedOp, p: CombinationParams): boolean {
  if (c === null) return false;
  const notWorseThanBest = c.delta >= best.comparison.delta - p.zValidate * Math.hypot(c.se, best.comparison.se);
  return c.delta - p.zValidate * c.se > 0 && notWorseThanBest;
}

function describe(c: Comparison | null): string {
  if (c === null) return 'no successful measurement';
  const i = interval(c);
  return `${pct(i.estimate)} [${pct(i.low)}, ${pct(i.high)}] over ${c.runs} runs`;
}

/** Emits one decision per set measured and returns the set to write. */
export function* chooseSet(session: Session, accepted: readonly AcceptedOp[], p: CombinationParams): Runs<SetChoice> {
  const ranked = [...accepted].sort((a, b) => b.comparison.delta - a.comparison.delta);
  const best = ranked[0];
  if (best === undefined) {
    return { opBackends: {}, attention: null, validated: false, comparison: null, reason: 'no operator was accepted' };
  }
  const decide = (ops: readonly AcceptedOp[], c: Comparison | null, ok: boolean, why: string): void => {
    const estimate = c === null ? null : interval(c);
    session.emit({
      type: 'decision',
      subject: `set ${describeSet(setOf(ops).opBackends)}`,
      op: null,
      backend: null,
      verdict: c === null ? 'failed' : ok ? 'kept' : 'dropped',
      estimate: estimate?.estimate ?? null,
      low: estimate?.low ?? null,
      high: estimate?.high ?? null,
      runs: c?.runs ?? 0,
      reason: `${describe(c)}; ${why}`,
    });
  };

  const union = yield* measureSet(session, ranked, 'combined_best', p.confirmPairs);
  if (passes(union, best, p)) {
    decide(ranked, union, true, 'better than baseline and not worse than the best single operator');
    return { ...setOf(ranked), validated: true, comparison: union, reason: 'all accepted operators together' };
  }
  decide(ranked, union, false, ranked.length > 1 ? 'not clearly better than baseline and the best single operator: searching subsets' : 'not confirmed better than baseline');
  if (ranked.length === 1) {
    return { opBackends: {}, attention: null, validated: false, comparison: union, reason: `${best.op} was not confirmed when re-measured` };
  }

  // Forward selection: grow from the best single operator, keeping additions that measure better.
  let current: AcceptedOp[] = [best];
  let currentComparison: Comparison = best.comparison;
  for (const next of ranked.slice(1)) {
    const trial = combinedTrial(setOf([...current, next]).opBackends, 'combined_subset');
    const confirmCost = 1 + 2 * p.confirmPairs;
    if (session.budget.left < costOf(session, trial.key, p.searchPairs) + confirmCost) break;
    const candidate = [...current, next];
    const c = yield* measureSet(session, candidate, 'combined_subset', p.searchPairs);
    const better = c !== null && c.delta > currentComparison.delta;
    decide(candidate, c, better, better ? `adding ${next.op} measured better than without it` : `adding ${next.op} did not measure better`);
    if (better && c !== null) {
      current = candidate;
      currentComparison = c;
    }
  }
  const confirmed = yield* measureSet(session, current, 'combined_best', p.confirmPairs);
  const ok = confirmed !== null && confirmed.delta - p.zValidate * confirmed.se > 0;
  decide(current, confirmed, ok, ok ? 'confirmed better than baseline' : 'not confirmed better than baseline');
  return ok
    ? { ...setOf(current), validated: true, comparison: confirmed, reason: 'forward selection from the best single operator' }
    : { opBackends: {}, attention: null, validated: false, comparison: confirmed, reason: 'no subset was confirmed better than baseline' };
}
