/**
 * The final set's validation as a group-sequential test with its error rate fixed in advance.
 * The set is measured in pairs (set run, baseline anchor); at planned looks its gain over
 * the baseline is tested against --min-gain. Alpha is spent as alpha·t² in the share t of the
 * planned pairs seen (the power family between Pocock's and O'Brien-Fleming's), and each look
 * uses only its own share: by the union bound the chance of ever validating a set that does
 * not clear minGain stays below alpha however many looks are taken. Early looks stay strict
 * (a clear gain passes them anyway) and most of alpha is left for the last look, where a set
 * near the threshold is decided. Futility (even the optimistic bound below minGain) stops
 * early without spending anything.
 */

/** Inverse of the standard normal CDF (Acklam's rational approximation, |error| < 1.2e-9). */
export function normalQuantile(p: number): number {
  if (!(p > 0 && p < 1)) throw new Error(`normalQuantile: p must lie in (0, 1), not ${p}`);
  const a = [-39.69683028665376, 220.9460984245205, -275.9285104469687, 138.357751867269, -30.66479806614716, 2.506628277459239];
  const b = [-54.47609879822406, 161.5858368580409, -155.6989798598866, 66.80131188771972, -13.28068155288572];
  const c = [-0.007784894002430293, -0.3223964580411365, -2.400758277161838, -2.549732539343734, 4.374664141464968, 2.938163982698783];
  const d = [0.007784695709041462, 0.3224671290700398, 2.445134137142996, 3.754408661907416];
  const [a0, a1, a2, a3, a4, a5] = a as [number, number, number, number, number, number];
  const [b0, b1, b2, b3, b4] = b as [number, number, number, number, number];
  const [c0, c1, c2, c3, c4, c5] = c as [number, number, number, number, number, number];
  const [d0, d1, d2, d3] = d as [number, number, number, number];
  const low = 0.02425;
  if (p < low) {
    const q = Math.sqrt(-2 * Math.log(p));
    return (((((c0 * q + c1) * q + c2) * q + c3) * q + c4) * q + c5) / ((((d0 * q + d1) * q + d2) * q + d3) * q + 1);
  }
  if (p > 1 - low) return -normalQuantile(1 - p);
  const q = p - 0.5;
  const r = q * q;
  return ((((((a0 * r + a1) * r + a2) * r + a3) * r + a4) * r + a5) * q) / (((((b0 * r + b1) * r + b2) * r + b3) * r + b4) * r + 1);
}

export interface Look {
  /** Pairs measured when this look is taken. */
  readonly pairs: number;
  /** One-sided z the gain above minGain must reach at this look. */
  readonly z: number;
  /** Alpha this look spends. */
  readonly alpha: number;
}

/**
 * Looks at 2, 3, 5, 8, ... pairs (about 1.5x apart) up to `maxPairs`, which is always the last.
 * With `step` (pairs measured at once, one per slot), each look is rounded up to a multiple of
 * it, so that no batch of pairs leaves a slot idle.
 */
export function plannedLooks(maxPairs: number, alpha: number, firstLook = 2, step = 1): Look[] {
  const counts: number[] = [];
  for (let n = Math.min(firstLook, maxPairs); n < maxPairs; n = Math.max(n + 1, Math.round(n * 1.5))) {
    const rounded = Math.min(maxPairs, Math.ceil(n / step) * step);
    if (rounded < maxPairs && counts.at(-1) !== rounded) counts.push(rounded);
  }
  if (maxPairs >= 1) counts.push(maxPairs);
  let spent = 0;
  return counts.map((pairs) => {
    const total = alpha * (pairs / maxPairs) ** 2;
    const share = total - spent;
    spent = total;
    return { pairs, alpha: share, z: normalQuantile(1 - share) };
  });
}

export type LookVerdict = 'validated' | 'futile' | 'continue';

/**
 * One look: validated when the gain's lower bound at this look's level clears minGain (both in
 * ln units: `estimate`, `se`, `threshold`); futile when even the 95% upper bound does not.
 */
export function judge(estimate: number, se: number, threshold: number, look: Look): LookVerdict {
  if (estimate - look.z * se > threshold) return 'validated';
  if (estimate + 1.645 * se < threshold) return 'futile';
  return 'continue';
}
