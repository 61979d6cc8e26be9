/**
 * Three-way call on one comparison with baseline (statistics guide, section 3.4): accept only
 * what is both significant and worth having, reject what even an optimistic reading leaves
 * below the minimum gain, and measure the rest again.
 */
import { relative, type Comparison } from './estimation.js';

export interface RuleParams {
  /** Smallest relative gain worth keeping (ctx.minGain). */
  readonly minGain: number;
  /** Standard errors the estimate must clear above zero to be accepted. */
  readonly zAccept: number;
  /** Optimism granted before a candidate is rejected. */
  readonly zReject: number;
  /** Measured runs after which an undecided candidate gets its last call. */
  readonly maxRuns: number;
  /**
   * The last call on a still undecided candidate (no more runs for it): a likely gain is kept
   * for the set validation, which guards the answer, rather than thrown away.
   */
  readonly zLean: number;
}

export type Call = 'accept' | 'reject' | 'ambiguous';

export function classify(c: Comparison, p: RuleParams): Call {
  const threshold = Math.log1p(p.minGain);
  if (c.delta - p.zAccept * c.se > 0 && c.delta >= threshold) return 'accept';
  if (c.delta + p.zReject * c.se < threshold) return 'reject';
  return 'ambiguous';
}

export function leans(c: Comparison, p: RuleParams): boolean {
  return c.delta - p.zLean * c.se > 0 && c.delta >= Math.log1p(p.minGain);
}

/** 95% interval of the relative change. */
export function interval(c: Comparison): { estimate: number; low: number; high: number } {
  return { estimate: relative(c.delta), low: relative(c.delta - 1.96 * c.se), high: relative(c.delta + 1.96 * c.se) };
}
