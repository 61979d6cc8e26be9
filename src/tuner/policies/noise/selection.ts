/**
 * From screened candidates to the candidate set: per operator its best backend, kept unless it
 * is clearly slower than the baseline (keepZFor). Leaving out a true gain costs that gain, and a
 * set that fails validation costs all of them, while a near-neutral member costs about nothing;
 * minGain applies to the set, which must prove itself as a whole. One attention backend serves a whole process, so
 * reference-backend candidates only compete under the attention backend the set runs with,
 * chosen for the largest total estimate.
 */
import type { AttentionBackend, Backend } from '../../types.js';
import { ATTENTION_BACKENDS } from '../../types.js';
import { pct } from '../format.js';
import { interval } from './decision-rule.js';
import type { Comparison } from './estimation.js';
import type { Candidate } from './schedule.js';
import { fitPrior, shrink } from './shrinkage.js';

/**
 * An operator joins the candidate set unless it is clearly slower: its posterior mean more than
 * |keepZ| (posterior) standard errors below zero. The set must validate as a whole, and a set
 * that fails loses the whole gain, while a near-neutral member costs about nothing (each single
 * estimate also carries FlagGems' load overhead, which the set pays once). That holds for a few
 * near-neutral members; with many operators their small losses add up and the set's noise grows,
 * so a long list is held to a stricter bar. On the decision benchmark, -2 for up to MANY_OPS
 * operators and -1 above lowered the family regret from 1.07% (-1 everywhere) to 0.97%, and at
 * the reference's budget from 1.32% to 1.19%, with no harmful op kept; -2 everywhere made the
 * ~40-operator scenario (typical) worse than the reference.
 */
const KEEP_Z_FEW = -2;
const KEEP_Z_MANY = -1;
const MANY_OPS = 30;

/** The keep threshold (in posterior standard errors, negative) for a session tuning `ops` operators. */
export function keepZFor(ops: number): number {
  return ops > MANY_OPS ? KEEP_Z_MANY : KEEP_Z_FEW;
}

export interface Member {
  readonly candidate: Candidate;
  readonly comparison: Comparison;
}

export interface CandidateVerdict {
  readonly candidate: Candidate;
  readonly verdict: 'kept' | 'dropped' | 'failed' | 'inconclusive';
  readonly comparison: Comparison | null;
  readonly reason: string;
}

export interface PlannedSet {
  /** Ordered by estimate, largest first. */
  readonly members: readonly Member[];
  readonly attention: AttentionBackend | null;
  readonly verdicts: readonly CandidateVerdict[];
}

export interface Screened {
  readonly candidate: Candidate;
  readonly comparison: Comparison | null;
  readonly failure: string | null;
}

function bestPerOp(screened: readonly Screened[], attention: AttentionBackend | null): Map<string, Member> {
  const best = new Map<string, Member>();
  for (const s of screened) {
    const { candidate, comparison } = s;
    if (s.failure !== null || comparison === null) continue;
    if (candidate.attention !== null && candidate.attention !== attention) continue;
    const current = best.get(candidate.op);
    if (current === undefined || comparison.delta > current.comparison.delta) best.set(candidate.op, { candidate, comparison });
  }
  return best;
}

function gainOf(members: Iterable<Member>): number {
  let total = 0;
  for (const m of members) total += Math.max(0, m.comparison.delta);
  return total;
}

/**
 * Plans the candidate set from raw comparisons (keepZ: keepZFor): each is first shrunk under the prior the
 * session's own estimates give (shrinkage.ts), so the set is formed on posterior means.
 */
export function planSet(raw: readonly Screened[], keepZ: number): PlannedSet {
  const prior = fitPrior(raw.flatMap((s) => (s.failure === null && s.comparison !== null ? [s.comparison] : [])));
  const screened = raw.map((s) => ({ ...s, comparison: s.comparison === null ? null : shrink(s.comparison, prior) }));
  const options: (AttentionBackend | null)[] = [null, ...ATTENTION_BACKENDS];
  let attention: AttentionBackend | null = null;
  let best = bestPerOp(screened, null);
  for (const option of options.slice(1)) {
    const per = bestPerOp(screened, option);
    if (gainOf(per.values()) > gainOf(best.values())) {
      best = per;
      attention = option;
    }
  }
  const members = [...best.values()].filter((m) => m.comparison.delta > keepZ * m.comparison.se).sort((a, b) => b.comparison.delta - a.comparison.delta);
  // The attention backend only matters when a reference-backend candidate made it in.
  const setAttention = members.some((m) => m.candidate.attention !== null) ? attention : null;

  const chosen = new Set(members.map((m) => m.candidate.trial.key));
  const verdicts = screened.map((s): CandidateVerdict => {
    const { candidate, comparison, failure } = s;
    if (failure !== null) return { candidate, verdict: 'failed', comparison, reason: failure };
    if (comparison === null) return { candidate, verdict: 'inconclusive', comparison, reason: 'not measured: the budget ran out first' };
    const i = interval(comparison);
    const said = `${pct(i.estimate)} vs baseline, 95% interval [${pct(i.low)}, ${pct(i.high)}], ${comparison.runs} run(s)`;
    if (chosen.has(candidate.trial.key)) return { candidate, verdict: 'kept', comparison, reason: `${said}: ${comparison.delta > 0 ? 'positive estimate' : 'not clearly slower than the baseline'}, kept for the set validation` };
    if (comparison.delta <= keepZ * comparison.se) return { candidate, verdict: 'dropped', comparison, reason: `${said}: clearly slower than the baseline (more than ${-keepZ} standard error(s) below it)` };
    const winner = best.get(candidate.op);
    const why =
      candidate.attention !== null && candidate.attention !== attention
        ? `the set runs with ${attention ?? 'the default attention backend'}`
        : `${winner?.candidate.backend ?? 'another backend'} measured faster`;
    return { candidate, verdict: 'dropped', comparison, reason: `${said}: ${why}` };
  });
  return { members, attention: setAttention, verdicts };
}

export function opBackendsOf(members: readonly Member[]): Record<string, Backend> {
  return Object.fromEntries(members.map((m) => [m.candidate.op, m.candidate.backend]));
}
