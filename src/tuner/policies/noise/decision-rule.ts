/**
 * How a comparison with the baseline turns into decisions. Regret is what a wrong call costs:
 * leaving out a +0.4% operator costs as much as keeping a -0.4% one, so the estimate's sign
 * decides membership of the candidate set (the set as a whole must then prove itself), and
 * further runs go where a wrong call is both likely and costly.
 */
import { relative, type Comparison } from './estimation.js';

const Z95 = 1.959964;

/** 95% interval of the relative change. */
export function interval(c: Comparison): { estimate: number; low: number; high: number } {
  return { estimate: relative(c.delta), low: relative(c.delta - Z95 * c.se), high: relative(c.delta + Z95 * c.se) };
}

function normalDensity(z: number): number {
  return Math.exp(-0.5 * z * z) / Math.sqrt(2 * Math.PI);
}

/**
 * Expected regret saved by one more run of a configuration: the expected loss of the include
 * / leave-out call, se·φ(δ/se) - |δ|·Φ(-|δ|/se), changes by φ(δ/se) per unit of se, and one
 * more run of noise `sigma` shrinks se as a precision-weighted mean would.
 */
export function valueOfRun(c: Comparison, sigma: number): number {
  const after = 1 / Math.sqrt(1 / c.se ** 2 + 1 / sigma ** 2);
  return normalDensity(c.delta / c.se) * (c.se - after);
}

/** Whether a set's measured gain is significant (one-sided, `z`) and worth having (at least minGain). */
export function clears(c: Comparison, minGain: number, z: number): boolean {
  return c.delta - z * c.se > 0 && relative(c.delta) >= minGain;
}
