/**
 * Empirical Bayes: the session's operators say what effects are typical on this model and
 * machine (mostly neutral, or mostly small gains), and each operator's estimate is pulled
 * towards that in proportion to its noise. One noisy operator then borrows strength from all
 * the others, which is what decides the many near-threshold calls (guide, 3.2: pool).
 *
 * The prior N(m, τ²) is fitted robustly (median and MAD), so the few large losers and winners
 * an operator list always has do not widen it. Those same operators are not normal under it,
 * so no estimate moves by more than one standard error (Efron and Morris's limited
 * translation): a -13% GEMM stays a loser however neutral its neighbours are.
 */
import { median, medianAbsoluteDeviation } from 'simple-statistics';
import type { Comparison } from './estimation.js';

export interface Prior {
  readonly mean: number;
  readonly variance: number;
}

/** MAD to standard deviation under normality. */
const MAD_SCALE = 1.4826;
/** The prior is never narrower than this: effects do differ between operators. */
const MIN_PRIOR_SD = 0.001;
/** Fewer estimates than this say too little about what is typical: no shrinkage. */
const MIN_ESTIMATES = 5;

export function fitPrior(comparisons: readonly Comparison[]): Prior | null {
  if (comparisons.length < MIN_ESTIMATES) return null;
  const deltas = comparisons.map((c) => c.delta);
  const spread = (MAD_SCALE * medianAbsoluteDeviation(deltas)) ** 2;
  const noise = median(comparisons.map((c) => c.se ** 2));
  return { mean: median(deltas), variance: Math.max(MIN_PRIOR_SD ** 2, spread - noise) };
}

/** Most an estimate may move towards the prior, in its standard errors. */
const MAX_SHIFT = 1;

/** The posterior of one operator's effect under the prior (unchanged without one). */
export function shrink(c: Comparison, prior: Prior | null): Comparison {
  if (prior === null) return c;
  const weight = prior.variance / (prior.variance + c.se ** 2);
  const shift = Math.max(-MAX_SHIFT * c.se, Math.min(MAX_SHIFT * c.se, (1 - weight) * (prior.mean - c.delta)));
  return { delta: c.delta + shift, se: Math.sqrt(weight) * c.se, runs: c.runs };
}
