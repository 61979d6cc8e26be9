/**
 * The information floor of a scenario at a budget: the regret even a perfect screening design
 * would still expect, printed beside the policies so a target can be read against it.
 *
 * With N runs at noise scale σ, no unbiased estimate of one operator's effect is tighter than
 * 2σ/√N (every run a ±1 design balanced on that operator; an adaptive design cannot beat it,
 * since each run informs an operator at most once). Deciding by the estimate's sign then keeps
 * a loser or drops a gain e with probability Φ(-|e|/se), so Σ |e|·Φ(-|e|/se) over the operators
 * is expected even with every invocation spent on screening, the noise scale known, no stalls,
 * drift or cold runs, one backend per operator and a free, perfect validation. It is a floor:
 * each of those simplifications only lowers it.
 */
import { errorFunction } from 'simple-statistics';
import type { Scenario } from '../simulator/scenario.js';

/** Runs a session spends before screening can start: three baselines, rounds 1b and 1c. */
const SETUP_RUNS = 5;

const normalCdf = (z: number): number => 0.5 * (1 + errorFunction(z / Math.SQRT2));

/** Expected regret (a fraction of the best throughput) of the ideal sign rule at `invocations`. */
export function informationFloor(s: Scenario, invocations: number): number {
  const runs = Math.max(1, invocations - SETUP_RUNS);
  // Every screening run enables FlagGems kernels, so it carries their extra noise.
  const se = (2 * (s.noise.cv + s.noise.flaggemsExtraCv)) / Math.sqrt(runs);
  let loss = 0;
  for (const op of Object.values(s.ops)) {
    if (!op.executed) continue;
    const usable = Object.entries(op.effects).flatMap(([backend, values]) =>
      op.fails[backend as keyof typeof op.fails] === undefined && values !== undefined ? [Math.log1p(values[s.defaultAttention])] : [],
    );
    if (usable.length === 0) continue;
    // The backend nearest a gain decides the call: kept when it helps, and the one a loser is kept on.
    const e = Math.abs(Math.max(...usable));
    loss += e * normalCdf(-e / se);
  }
  return -Math.expm1(-loss);
}
