/**
 * The screening model: every successful run of a session in one robust, regularised regression
 * on log-throughput,
 *
 *   y = level(t) + a_k + u·fresh + o·loaded + Σ_j x_j·b_j + Σ_pairs x_i·x_j·g_ij + c_label + e,
 *
 * - level(t): a curve through knots at the baseline anchors, tied by a random-walk prior whose
 *   strength comes from the anchors themselves (drift), with a free step where the anchors show
 *   a shift of the whole node (changepoint); a step is not smoothed into the effects.
 * - a_k: the cold penalty of a configuration's k-th run (caches per configuration), a term of
 *   its own for each of the first COLD_RUNS runs; fresh: the run enables an operator backend no
 *   earlier run had (caches per operator). All are fitted, so the data say which semantics hold.
 *   What is left of the penalty after the first run is what a validated set's measured runs
 *   carry: as free terms, their uncertainty is in the set's interval (a fitted decay curve
 *   would put it there as if known).
 * - o: FlagGems loaded, paid by every factor run with a FlagGems kernel.
 * - b_j: effect of candidate j (an operator on a backend), shared by every run that enables it;
 *   g_ij: pairwise interactions the caller asks for; c_label: configurations measured as a
 *   whole (the validated set, rounds 1b/1c), which never inform b.
 * Noise is Student-t (ν = 4) with its own scale for runs with and without FlagGems kernels,
 * fitted by iteratively reweighted least squares: a stall or a heavy-tailed run gets a weight
 * near zero instead of deciding a verdict, with no cut-off. Ridge priors keep a supersaturated
 * design (more candidates than runs) solvable and shrink unsupported effects toward zero.
 */
import { choleskyFactor, choleskyInverse, choleskySolve } from '../noise/linalg.js';

export interface ModelRun {
  readonly seq: number;
  readonly y: number;
  /** Candidate indices the run enables (factor runs); empty for baselines and labelled runs. */
  readonly factors: readonly number[];
  /** Index of a whole-configuration parameter, or null. */
  readonly label: number | null;
  /** Runs of the same configuration before this one (0 = its first). */
  readonly ordinal: number;
  /** Whether the run enables an operator backend that no earlier successful run enabled. */
  readonly fresh: boolean;
  /** Whether a FlagGems kernel ran (noise group; and FlagGems' load cost for factor runs). */
  readonly gems: boolean;
  readonly anchor: boolean;
  /** The slot (GPU group) it ran on; absent: slot 0. */
  readonly slot?: number;
}

export interface ModelSpec {
  readonly candidates: number;
  readonly labels: number;
  /** Candidate index pairs whose interaction is fitted. */
  readonly pairs: readonly (readonly [number, number])[];
  /** Slots the runs came from; each after slot 0 gets a level of its own. Absent: 1. */
  readonly slots?: number;
  /** Per candidate, its operator's index (an operator's backends are never on together). Absent: each candidate its own. */
  readonly groups?: readonly number[];
}

export interface ModelFit {
  /** Candidate effects (ln units) and their standard errors. */
  readonly b: Float64Array;
  readonly bSe: Float64Array;
  /**
   * Standard errors of the effects from the data alone, as the contrast of the weighted runs
   * with each candidate and those without its operator (no backend of it on): shrinkage toward zero makes a barely measured effect look
   * certain, which must not pass for evidence that it is harmless.
   */
  readonly bSeData: Float64Array;
  readonly labels: Float64Array;
  readonly labelSe: Float64Array;
  readonly pairs: Float64Array;
  readonly pairSe: Float64Array;
  /** Per slot after slot 0: its level against slot 0's (ln units). */
  readonly slotLevels: Float64Array;
  readonly overhead: number;
  /** Cold penalty of a configuration's first run, and of each of its next runs (ordinals 1..COLD_RUNS-1). */
  readonly cold: number;
  readonly coldLater: Float64Array;
  readonly fresh: number;
  /** Noise scales (ln units) without and with FlagGems kernels. */
  readonly sigmaPlain: number;
  readonly sigmaGems: number;
  /** Sequence numbers where a level shift was found, with its size. */
  readonly shifts: readonly { readonly at: number; readonly size: number }[];
  /** Runs with a robust weight below DOWNWEIGHTED: set aside by the likelihood, not by a cut. */
  readonly downweighted: number;
  /** Variance of Σ v_j b_j + w·o for a combination of candidates (and FlagGems' load cost when `loaded`). */
  variance(candidates: readonly number[], loaded: boolean, pairs?: readonly number[]): number;
  /** Robust weight per run, by seq (reused to warm-start the next fit). */
  readonly weights: ReadonlyMap<number, number>;
  /** Per run (by seq): its residual and its precision weight (robust weight / scale²). */
  readonly residuals: ReadonlyMap<number, { readonly r: number; readonly w: number }>;
  /** Effective parameters the fit spent on runs without and with FlagGems kernels (warm start). */
  readonly usedPlain: number;
  readonly usedGems: number;
}

const NU = 4;
/** A run whose robust weight is below this counts as set aside (a stall or a heavy tail). */
export const DOWNWEIGHTED = 0.2;
const SIGMA_PRIOR = 0.005;
/** Prior standard deviation that holds a parameter at zero. */
const HELD = 1e-7;
const SIGMA_PRIOR_RUNS = 5;
const SIGMA_FLOOR = 0.0015;
/**
 * Prior standard deviations (ln units): effects are small and centred on zero; the rest nearly
 * free, but for the cold penalty left after a configuration's first run: caches persist across
 * processes on real nodes, so it is small (1.5%; the simulator's harshest case leaves 2.1%).
 */
const PRIOR = { effect: 0.02, pair: 0.01, overhead: 0.01, cold: 0.1, coldLater: 0.015, fresh: 0.05, label: 0.5, level: 1, slot: 0.1 } as const;
/**
 * The effects' prior is Student-t, scale EFFECT_SCALE and EFFECT_DF degrees of freedom, fitted
 * as an adaptive ridge: most operators are within noise and are shrunk toward zero, while a
 * 13% loser escapes the prior entirely (real GPUs: most ops neutral, rare ones lose 10-30%).
 */
const EFFECT_SCALE = 0.004;
const EFFECT_DF = 2;
/** Runs of a configuration with a cold term of their own; later runs are warm. */
const COLD_RUNS = 4;
/** A node-wide shift must stand out this far (robust z) between the anchors around it. */
const SHIFT_Z = 5;
const SHIFT_MIN = 0.01;
/** IRLS passes of a fit; a fit warm-started from the previous one needs fewer. */
const IRLS_PASSES = 5;
const IRLS_PASSES_WARM = 3;

interface Layout {
  readonly knots: readonly number[];
  /** For link k (knots k, k+1): the seq from which the level is the later knot's; null = interpolate. */
  readonly steps: ReadonlyMap<number, number>;
  readonly p: number;
  /** First of the COLD_RUNS cold terms, one per ordinal. */
  readonly oCold: number;
  readonly oFresh: number;
  readonly oLoaded: number;
  readonly oB: number;
  readonly oPair: number;
  readonly oLabel: number;
  readonly oSlot: number;
}

function layoutOf(spec: ModelSpec, knots: readonly number[], steps: ReadonlyMap<number, number>): Layout {
  const k = Math.max(1, knots.length);
  const oCold = k;
  const oFresh = oCold + COLD_RUNS;
  const oB = oFresh + 2;
  const oPair = oB + spec.candidates;
  const oLabel = oPair + spec.pairs.length;
  const oSlot = oLabel + spec.labels;
  return { knots, steps, p: oSlot + Math.max(0, (spec.slots ?? 1) - 1), oCold, oFresh, oLoaded: oFresh + 1, oB, oPair, oLabel, oSlot };
}

/** Level basis of a run: (knot, weight) pairs. */
function levelTerms(seq: number, l: Layout): [number, number][] {
  const { knots } = l;
  if (knots.length <= 1) return [[0, 1]];
  if (seq <= (knots[0] ?? 0)) return [[0, 1]];
  const last = knots.length - 1;
  if (seq >= (knots[last] ?? 0)) return [[last, 1]];
  let lo = 0;
  let hi = last;
  while (hi - lo > 1) {
    const mid = (lo + hi) >> 1;
    if ((knots[mid] ?? 0) <= seq) lo = mid;
    else hi = mid;
  }
  const step = l.steps.get(lo);
  if (step !== undefined) return seq >= step ? [[lo + 1, 1]] : [[lo, 1]];
  const a = knots[lo] ?? 0;
  const b = knots[lo + 1] ?? a + 1;
  const f = (seq - a) / (b - a);
  return [
    [lo, 1 - f],
    [lo + 1, f],
  ];
}

/** Sparse design row: column indices and values. */
function rowOf(run: ModelRun, spec: ModelSpec, l: Layout): { cols: number[]; vals: number[] } {
  const cols: number[] = [];
  const vals: number[] = [];
  for (const [k, w] of levelTerms(run.seq, l)) {
    cols.push(k);
    vals.push(w);
  }
  if (run.ordinal < COLD_RUNS) {
    cols.push(l.oCold + run.ordinal);
    vals.push(1);
  }
  if (run.fresh) {
    cols.push(l.oFresh);
    vals.push(1);
  }
  if ((run.slot ?? 0) > 0) {
    cols.push(l.oSlot + (run.slot ?? 0) - 1);
    vals.push(1);
  }
  if (run.label !== null) {
    cols.push(l.oLabel + run.label);
    vals.push(1);
  } else if (run.factors.length > 0) {
    if (run.gems) {
      cols.push(l.oLoaded);
      vals.push(1);
    }
    for (const j of run.factors) {
      cols.push(l.oB + j);
      vals.push(1);
    }
    if (spec.pairs.length > 0) {
      const on = new Set(run.factors);
      spec.pairs.forEach(([i, j], q) => {
        if (on.has(i) && on.has(j)) {
          cols.push(l.oPair + q);
          vals.push(1);
        }
      });
    }
  }
  return { cols, vals };
}

function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const n = s.length;
  if (n === 0) return 0;
  return n % 2 === 1 ? (s[(n - 1) >> 1] ?? 0) : ((s[n / 2 - 1] ?? 0) + (s[n / 2] ?? 0)) / 2;
}

interface Solved {
  readonly beta: Float64Array;
  /** The posterior covariance (inverse of the penalised normal matrix), from the last pass only. */
  readonly covariance: Float64Array | null;
  readonly residuals: Float64Array;
  readonly weights: Float64Array;
  readonly sigmaPlain: number;
  readonly sigmaGems: number;
  /** Effective parameters spent on each noise group (sums of leverages). */
  readonly usedPlain: number;
  readonly usedGems: number;
  readonly loss: number;
}

interface Rows {
  readonly cols: number[][];
  readonly vals: number[][];
}

/** Random-walk variance per run of distance from the anchors' successive differences, net of the noise `sigma`. */
function driftFromDifferences(anchors: readonly ModelRun[], sigma: number, steps: ReadonlyMap<number, number>, knots: readonly number[]): number | null {
  const diffs: number[] = [];
  const gaps: number[] = [];
  for (let i = 1; i < anchors.length; i++) {
    const a = anchors[i - 1] as ModelRun;
    const b = anchors[i] as ModelRun;
    const link = knots.indexOf(a.seq);
    if (steps.has(link)) continue;
    diffs.push(b.y - a.y);
    gaps.push(b.seq - a.seq);
  }
  if (diffs.length < 3) return null;
  const m = median(diffs);
  const mad = 1.4826 * median(diffs.map((d) => Math.abs(d - m)));
  const gap = gaps.reduce((s, g) => s + g, 0) / gaps.length;
  return (mad * mad + m * m - 2 * sigma * sigma) / gap;
}

/**
 * Random-walk variance per run of distance, from the anchors alone: the squared difference of
 * two anchors `gap` runs apart has expectation 2σ² + q·gap, so the slope of a line through the
 * squared differences of anchors one and two apart, against their gaps, is the drift q whatever
 * the noise. Each square is capped at ten times their median, so a stall cannot pass for drift.
 * Null unless the slope stands two standard errors above zero: on a quiet node it is noise.
 * Undefined when there are too few anchors to tell.
 */
function driftFromVariogram(anchors: readonly ModelRun[], steps: ReadonlyMap<number, number>, knots: readonly number[]): number | null | undefined {
  const gaps: number[] = [];
  const squares: number[] = [];
  for (const lag of [1, 2]) {
    for (let i = lag; i < anchors.length; i++) {
      const a = anchors[i - lag] as ModelRun;
      const b = anchors[i] as ModelRun;
      const first = knots.indexOf(a.seq);
      let stepped = false;
      for (let k = first; k < first + lag; k++) if (steps.has(k)) stepped = true;
      if (stepped) continue;
      gaps.push(b.seq - a.seq);
      squares.push((b.y - a.y) ** 2);
    }
  }
  const n = squares.length;
  if (n < 6) return undefined;
  const cap = 10 * median(squares);
  const d2 = squares.map((x) => Math.min(x, cap));
  const mg = gaps.reduce((acc, g) => acc + g, 0) / n;
  const md = d2.reduce((acc, x) => acc + x, 0) / n;
  let sgg = 0;
  let sgd = 0;
  for (let i = 0; i < n; i++) {
    sgg += ((gaps[i] as number) - mg) ** 2;
    sgd += ((gaps[i] as number) - mg) * ((d2[i] as number) - md);
  }
  if (sgg <= 0) return undefined;
  const q = sgd / sgg;
  let ss = 0;
  for (let i = 0; i < n; i++) ss += ((d2[i] as number) - md - q * ((gaps[i] as number) - mg)) ** 2;
  const se = Math.sqrt(ss / (n - 2) / sgg);
  return q > 2 * se ? q : null;
}

/**
 * Random-walk precision per link (per run of distance). What the variogram says wins, "no
 * drift" included: the differences net of the fitted noise feed back both ways (a level too
 * stiff inflates the fitted noise, one too loose follows the anchors' noise and shrinks it,
 * which loosens it further), so they decide only while the anchors are too few for a variogram.
 */
function driftPrecision(anchors: readonly ModelRun[], sigma: number, steps: ReadonlyMap<number, number>, knots: readonly number[]): number {
  const v = driftFromVariogram(anchors, steps, knots);
  const q = v === undefined ? driftFromDifferences(anchors, sigma, steps, knots) : v;
  return q === null ? 1 / 1e-6 : 1 / Math.max(2e-7, q);
}

/** Median absolute residual per noise group, as a normal scale, corrected for the parameters fitted. */
function robustScales(runs: readonly ModelRun[], residuals: Float64Array, usedPlain: number, usedGems: number): [number, number] {
  const plain: number[] = [];
  const gems: number[] = [];
  runs.forEach((r, i) => (r.gems ? gems : plain).push(Math.abs(residuals[i] as number)));
  const of = (xs: number[], used: number): number => {
    if (xs.length === 0) return SIGMA_PRIOR;
    const df = Math.max(0.25 * xs.length, xs.length - used);
    return Math.max(SIGMA_FLOOR, 1.4826 * median(xs) * Math.sqrt(xs.length / df));
  };
  const p = of(plain, usedPlain);
  return [p, gems.length === 0 ? p : Math.max(p * 0.5, of(gems, usedGems))];
}

interface Start {
  readonly weights: Float64Array;
  /** Prior precision of each effect, fixed for the solve (null: the loose PRIOR.effect). */
  readonly effectPrecision: Float64Array | null;
  readonly plain: number;
  readonly gems: number;
  readonly usedPlain: number;
  readonly usedGems: number;
  /** Parameters held at zero (a cold or first-use term the data put on the impossible side). */
  readonly zero?: readonly number[];
}

/**
 * IRLS for the Student-t likelihood. Every pass solves the penalised normal equations; the last
 * also inverts them, for standard errors and the leverages that make the noise scales unbiased
 * (residuals of a fit with many parameters are smaller than the noise).
 */
function solve(runs: readonly ModelRun[], rows: Rows, spec: ModelSpec, l: Layout, start: Start, passes: number, anchors: readonly ModelRun[], withCovariance: boolean): Solved {
  const { p } = l;
  const n = runs.length;
  const weights = Float64Array.from(start.weights);
  let sigmaPlain = start.plain;
  let sigmaGems = start.gems;
  let usedPlain = start.usedPlain;
  let usedGems = start.usedGems;
  const yCentre = median((anchors.length > 0 ? anchors : runs).map((a) => a.y));
  let beta: Float64Array = new Float64Array(p);
  let covariance: Float64Array | null = null;
  const residuals = new Float64Array(n);
  const lambda = driftPrecision(anchors, sigmaPlain, l.steps, l.knots);
  for (let pass = 0; pass < passes; pass++) {
    const last = pass === passes - 1;
    const a = new Float64Array(p * p);
    const rhs = new Float64Array(p);
    for (let i = 0; i < n; i++) {
      const run = runs[i] as ModelRun;
      const s = run.gems ? sigmaGems : sigmaPlain;
      const w = (weights[i] as number) / (s * s);
      if (w === 0) continue;
      const cols = rows.cols[i] as number[];
      const vals = rows.vals[i] as number[];
      const y = run.y - yCentre;
      for (let u = 0; u < cols.length; u++) {
        const cu = cols[u] as number;
        const wv = w * (vals[u] as number);
        rhs[cu] = (rhs[cu] as number) + wv * y;
        const base = cu * p;
        for (let v = 0; v < cols.length; v++) {
          const at = base + (cols[v] as number);
          a[at] = (a[at] as number) + wv * (vals[v] as number);
        }
      }
    }
    // Priors: ridge on everything, a random walk between neighbouring level knots.
    const diag = (j: number, sd: number): void => {
      a[j * p + j] = (a[j * p + j] as number) + 1 / (sd * sd);
    };
    for (let k = 0; k < Math.max(1, l.knots.length); k++) diag(k, PRIOR.level);
    for (let k = 0; k + 1 < l.knots.length; k++) {
      if (l.steps.has(k)) continue;
      const gap = Math.max(1, (l.knots[k + 1] ?? 0) - (l.knots[k] ?? 0));
      const prec = lambda / gap;
      a[k * p + k] = (a[k * p + k] as number) + prec;
      a[(k + 1) * p + k + 1] = (a[(k + 1) * p + k + 1] as number) + prec;
      a[k * p + k + 1] = (a[k * p + k + 1] as number) - prec;
      a[(k + 1) * p + k] = (a[(k + 1) * p + k] as number) - prec;
    }
    diag(l.oCold, PRIOR.cold);
    for (let k = 1; k < COLD_RUNS; k++) diag(l.oCold + k, PRIOR.coldLater);
    diag(l.oFresh, PRIOR.fresh);
    diag(l.oLoaded, PRIOR.overhead);
    for (let j = 0; j < spec.candidates; j++) {
      const prec = start.effectPrecision?.[j];
      if (prec === undefined) diag(l.oB + j, PRIOR.effect);
      else a[(l.oB + j) * p + l.oB + j] = (a[(l.oB + j) * p + l.oB + j] as number) + prec;
    }
    for (let q = 0; q < spec.pairs.length; q++) diag(l.oPair + q, PRIOR.pair);
    for (let c = 0; c < spec.labels; c++) diag(l.oLabel + c, PRIOR.label);
    for (let k = l.oSlot; k < p; k++) diag(k, PRIOR.slot);
    for (const j of start.zero ?? []) diag(j, HELD);
    const factor = choleskyFactor(a, p);
    beta = choleskySolve(factor, p, rhs);
    if (last && withCovariance) covariance = choleskyInverse(factor, p);

    const acc = { plain: { ss: 0, n: 0, h: 0 }, gems: { ss: 0, n: 0, h: 0 } };
    for (let i = 0; i < n; i++) {
      const run = runs[i] as ModelRun;
      const cols = rows.cols[i] as number[];
      const vals = rows.vals[i] as number[];
      let fitted = 0;
      for (let u = 0; u < cols.length; u++) fitted += (vals[u] as number) * (beta[cols[u] as number] as number);
      const r = run.y - yCentre - fitted;
      residuals[i] = r;
      const g = run.gems ? acc.gems : acc.plain;
      g.ss += (weights[i] as number) * r * r;
      g.n += 1;
      if (covariance !== null) {
        let h = 0;
        for (let u = 0; u < cols.length; u++) {
          const base = (cols[u] as number) * p;
          let row = 0;
          for (let v = 0; v < cols.length; v++) row += (covariance[base + (cols[v] as number)] as number) * (vals[v] as number);
          h += row * (vals[u] as number);
        }
        const s = run.gems ? sigmaGems : sigmaPlain;
        g.h += Math.min(1, ((weights[i] as number) / (s * s)) * h);
      }
    }
    if (covariance !== null) {
      usedPlain = acc.plain.h;
      usedGems = acc.gems.h;
    }
    // Scales by the t model's EM update, over the degrees of freedom the fit leaves, shrunk toward a prior scale.
    const scale = (g: { ss: number; n: number }, used: number): number =>
      Math.max(SIGMA_FLOOR, Math.sqrt((SIGMA_PRIOR_RUNS * SIGMA_PRIOR ** 2 + g.ss) / (SIGMA_PRIOR_RUNS + Math.max(0.25 * g.n, g.n - used))));
    if (!last) {
      if (pass === 0) {
        // New runs enter with full weight: a robust scale first, so one stall cannot inflate it.
        [sigmaPlain, sigmaGems] = robustScales(runs, residuals, usedPlain, usedGems);
      } else {
        sigmaPlain = scale(acc.plain, usedPlain);
        sigmaGems = acc.gems.n === 0 ? sigmaPlain : scale(acc.gems, usedGems);
      }
      for (let i = 0; i < n; i++) {
        const run = runs[i] as ModelRun;
        const s = run.gems ? sigmaGems : sigmaPlain;
        const z2 = ((residuals[i] as number) / s) ** 2;
        weights[i] = (NU + 1) / (NU + z2);
      }
    } else if (covariance !== null) {
      // The scales the covariance was computed with are kept; the next fit starts from the updated ones.
      sigmaPlain = scale(acc.plain, usedPlain);
      sigmaGems = acc.gems.n === 0 ? sigmaPlain : scale(acc.gems, usedGems);
    }
  }
  let loss = 0;
  for (let i = 0; i < n; i++) {
    const run = runs[i] as ModelRun;
    const s = run.gems ? sigmaGems : sigmaPlain;
    loss += (NU + 1) * Math.log1p(((residuals[i] as number) / s) ** 2 / NU) + 2 * Math.log(s);
  }
  return { beta, covariance, residuals, weights, sigmaPlain, sigmaGems, usedPlain, usedGems, loss };
}

/**
 * A first run of a configuration, or the first use of an operator backend, pays for caches: it
 * is never faster. When every factor run is a new configuration (a design of distinct subsets),
 * the cold and first-use terms are tied to the effects only through their priors, and a common
 * gain of the design's operators would show as "cold runs are faster". Such a term is held at
 * zero and the fit solved again (an active set of two sign constraints). The cold terms of a
 * configuration's later runs are left free: held at zero, noise could only push them negative,
 * and a set's runs would then always be corrected upward.
 */
function solveHeld(runs: readonly ModelRun[], rows: Rows, spec: ModelSpec, l: Layout, start: Start, passes: number, anchors: readonly ModelRun[], withCovariance: boolean): Solved {
  let s = solve(runs, rows, spec, l, start, passes, anchors, withCovariance);
  const zero: number[] = [];
  // Holding one term can push the other over: at most two more solves.
  for (;;) {
    const over = [l.oCold, l.oFresh].find((j) => !zero.includes(j) && (s.beta[j] ?? 0) > 0);
    if (over === undefined) return s;
    zero.push(over);
    s = solve(runs, rows, spec, l, { ...start, zero: [...zero] }, passes, anchors, withCovariance);
  }
}

/** Robust noise scale of the anchors from their successive differences (a shift costs one or two of them). */
function anchorSpread(anchors: readonly ModelRun[]): number {
  const diffs: number[] = [];
  for (let i = 1; i < anchors.length; i++) diffs.push((anchors[i]?.y ?? 0) - (anchors[i - 1]?.y ?? 0));
  if (diffs.length < 4) return 0;
  return (1.4826 * median(diffs.map(Math.abs))) / Math.SQRT2;
}

/**
 * The level change between two groups of anchors. The median of a group of two is its mean,
 * which one stalled anchor moves by half its loss: with a group of two, every pairing of an
 * anchor before with one after must agree on the direction, and the smallest change counts.
 */
function shiftBetween(before: readonly number[], after: readonly number[]): number {
  if (before.length > 2 && after.length > 2) return median(after) - median(before);
  const changes = after.flatMap((a) => before.map((b) => a - b));
  if (!changes.every((c) => c > 0) && !changes.every((c) => c < 0)) return 0;
  return changes.reduce((m, c) => (Math.abs(c) < Math.abs(m) ? c : m));
}

/** Links between anchor knots where the anchors before and after differ beyond noise: level shifts. */
function detectShifts(anchors: readonly ModelRun[], sigma: number): number[] {
  const links: number[] = [];
  for (let k = 1; k + 1 < anchors.length; k++) {
    const before = anchors.slice(Math.max(0, k - 3), k).map((a) => a.y);
    const after = anchors.slice(k, k + 3).map((a) => a.y);
    if (before.length < 2 || after.length < 2) continue;
    const shift = shiftBetween(before, after);
    const se = sigma * Math.sqrt((Math.PI / 2) * (1 / before.length + 1 / after.length));
    if (Math.abs(shift) >= SHIFT_MIN && Math.abs(shift) / se > SHIFT_Z) links.push(k - 1);
  }
  // A shift shows on up to three neighbouring links; keep the strongest of each run of links.
  const kept: number[] = [];
  for (const k of links) {
    const prev = kept.at(-1);
    if (prev !== undefined && k - prev <= 2) {
      const size = (j: number): number => Math.abs((anchors[j + 1]?.y ?? 0) - (anchors[j]?.y ?? 0));
      if (size(k) > size(prev)) kept[kept.length - 1] = k;
    } else kept.push(k);
  }
  return kept;
}

export interface FitOptions {
  /** The previous fit: its weights and scales warm-start this one. */
  readonly previous: ModelFit | null;
  /** Whether to choose the step positions again (a few extra solves per shift). */
  readonly reselect: boolean;
}

/** Fits the model. Throws nothing on sparse data: the priors keep every system positive definite. */
export function fitModel(runs: readonly ModelRun[], spec: ModelSpec, options: FitOptions): ModelFit {
  // The level's knots sit at slot 0's anchors; another slot's anchors measure it plus that slot's level.
  const anchors = runs.filter((r) => r.anchor && r.ordinal > 0 && (r.slot ?? 0) === 0).sort((a, b) => a.seq - b.seq);
  const knots = anchors.map((a) => a.seq);
  // Drift, shifts and the anchors' spread are read from warm anchors only: the first ones after
  // the baseline's warm-up can still carry its cold penalty, which would pass for drift and
  // loosen the level until it follows the anchors' noise (and a set's interval then misses).
  const warm = anchors.filter((a) => a.ordinal >= COLD_RUNS);
  const coldAnchors = anchors.length - warm.length;
  const previous = options.previous;
  const startWeights = Float64Array.from(runs.map((r) => previous?.weights.get(r.seq) ?? 1));
  let start: Start = {
    weights: startWeights,
    plain: previous?.sigmaPlain ?? SIGMA_PRIOR,
    gems: previous?.sigmaGems ?? SIGMA_PRIOR,
    usedPlain: previous?.usedPlain ?? 0,
    usedGems: previous?.usedGems ?? 0,
    effectPrecision: null,
  };

  // Level shifts: a free step between the two anchors around it, placed where the runs say.
  // The anchors' own spread bounds the noise from above (it holds drift too): a scale fitted
  // through knots at the anchors can fall far below it and would see shifts in plain noise.
  const links = detectShifts(warm, Math.max(start.plain, anchorSpread(warm))).map((k) => k + coldAnchors);
  const build = (steps: ReadonlyMap<number, number>): { l: Layout; rows: Rows } => {
    const l = layoutOf(spec, knots, steps);
    const built = runs.map((r) => rowOf(r, spec, l));
    return { l, rows: { cols: built.map((b) => b.cols), vals: built.map((b) => b.vals) } };
  };
  const steps = new Map<number, number>();
  // The effects' adaptive prior comes from a preliminary fit with the loose prior, in which only
  // runs the previous fit rejected outright (stalls) stay down: otherwise a -3% effect seen in a
  // few runs could be shrunk toward zero and its runs then rejected as outliers instead.
  {
    const { l, rows } = build(steps);
    const restored = Float64Array.from(start.weights, (w) => (w < 0.1 ? w : 1));
    const pre = solveHeld(runs, rows, spec, l, { ...start, weights: restored }, 1, warm, false);
    start = {
      ...start,
      effectPrecision: Float64Array.from({ length: spec.candidates }, (_, j) => {
        const b = pre.beta[l.oB + j] ?? 0;
        return (EFFECT_DF + 1) / (EFFECT_DF + (b / EFFECT_SCALE) ** 2) / EFFECT_SCALE ** 2;
      }),
    };
  }
  for (const k of links) {
    const lo = knots[k] ?? 0;
    const hi = knots[k + 1] ?? lo + 1;
    const prior = previous?.shifts.find((s) => s.at > lo && s.at <= hi)?.at;
    if (prior !== undefined && !options.reselect) {
      steps.set(k, prior);
      continue;
    }
    let best = { at: hi, loss: Infinity };
    for (let at = lo + 1; at <= hi; at++) {
      const trial = new Map(steps);
      trial.set(k, at);
      const { l, rows } = build(trial);
      const s = solve(runs, rows, spec, l, start, 2, warm, false);
      if (s.loss < best.loss) best = { at, loss: s.loss };
    }
    steps.set(k, best.at);
  }
  const { l, rows } = build(steps);
  // Without a previous fit the leverages are unknown: one extra pass learns them first.
  const first = previous === null ? solve(runs, rows, spec, l, start, 2, warm, true) : null;
  const final: Start = first === null ? start : { ...start, usedPlain: first.usedPlain, usedGems: first.usedGems, plain: first.sigmaPlain, gems: first.sigmaGems, weights: first.weights };
  const s = solveHeld(runs, rows, spec, l, final, previous === null ? IRLS_PASSES : IRLS_PASSES_WARM, warm, true);
  const cov = s.covariance as Float64Array;
  const p = l.p;
  const slice = (from: number, count: number): Float64Array => Float64Array.from({ length: count }, (_, j) => s.beta[from + j] ?? 0);
  const seOf = (from: number, count: number): Float64Array => Float64Array.from({ length: count }, (_, j) => Math.sqrt(cov[(from + j) * p + from + j] ?? 0));
  const weights = new Map<number, number>();
  const residuals = new Map<number, { r: number; w: number }>();
  let downweighted = 0;
  runs.forEach((r, i) => {
    const w = s.weights[i] ?? 1;
    weights.set(r.seq, w);
    const sd = r.gems ? s.sigmaGems : s.sigmaPlain;
    residuals.set(r.seq, { r: s.residuals[i] ?? 0, w: w / (sd * sd) });
    if (w < DOWNWEIGHTED) downweighted += 1;
  });
  const shifts = [...steps].map(([k, at]) => ({ at, size: (s.beta[k + 1] ?? 0) - (s.beta[k] ?? 0) }));
  return {
    b: slice(l.oB, spec.candidates),
    bSe: seOf(l.oB, spec.candidates),
    bSeData: dataSe(runs, residuals, spec),
    labels: slice(l.oLabel, spec.labels),
    labelSe: seOf(l.oLabel, spec.labels),
    pairs: slice(l.oPair, spec.pairs.length),
    pairSe: seOf(l.oPair, spec.pairs.length),
    slotLevels: slice(l.oSlot, p - l.oSlot),
    overhead: s.beta[l.oLoaded] ?? 0,
    cold: s.beta[l.oCold] ?? 0,
    coldLater: slice(l.oCold + 1, COLD_RUNS - 1),
    fresh: s.beta[l.oFresh] ?? 0,
    sigmaPlain: s.sigmaPlain,
    sigmaGems: s.sigmaGems,
    shifts,
    downweighted,
    weights,
    usedPlain: s.usedPlain,
    usedGems: s.usedGems,
    residuals,
    variance(candidates: readonly number[], loaded: boolean, pairs: readonly number[] = []): number {
      const idx = [...candidates.map((j) => l.oB + j), ...pairs.map((q) => l.oPair + q), ...(loaded ? [l.oLoaded] : [])];
      let total = 0;
      for (const i of idx) for (const j of idx) total += cov[i * p + j] ?? 0;
      return total;
    },
  };
}

/** Per candidate: sqrt(1/W_on + 1/W_off), W the precision weights of the unlabelled runs with it and without its operator. */
function dataSe(runs: readonly ModelRun[], residuals: ReadonlyMap<number, { readonly r: number; readonly w: number }>, spec: ModelSpec): Float64Array {
  const groupOf = (j: number): number => spec.groups?.[j] ?? j;
  const on = new Float64Array(spec.candidates);
  const groupOn = new Map<number, number>();
  let total = 0;
  for (const run of runs) {
    if (run.label !== null) continue;
    const w = residuals.get(run.seq)?.w ?? 0;
    total += w;
    for (const j of run.factors) on[j] = (on[j] as number) + w;
    for (const g of new Set(run.factors.map(groupOf))) groupOn.set(g, (groupOn.get(g) ?? 0) + w);
  }
  return Float64Array.from(on, (w, j) => {
    // Runs with another backend of the same operator are no evidence against the baseline's path.
    const off = total - (groupOn.get(groupOf(j)) ?? 0);
    return w > 0 && off > 0 ? Math.sqrt(1 / w + 1 / off) : Infinity;
  });
}

/**
 * Pairs of candidates whose runs together leave residuals a main-effects fit cannot explain:
 * the interaction contrast of the four cells (both on, one, the other, neither) of the
 * residuals of factor runs, as a z-score. Only pairs past `z` come back, strongest first, at
 * most `limit`; they are then fitted as interaction terms.
 */
export function suspectPairs(runs: readonly ModelRun[], fit: ModelFit, among: readonly number[], z: number, limit: number): [number, number][] {
  const index = new Map(among.map((c, k) => [c, k]));
  const m = among.length;
  const sum = new Float64Array(m * m);
  const weight = new Float64Array(m * m);
  const single = new Float64Array(m);
  const singleWeight = new Float64Array(m);
  let total = 0;
  let totalWeight = 0;
  for (const run of runs) {
    if (run.label !== null || run.factors.length === 0) continue;
    const res = fit.residuals.get(run.seq);
    if (res === undefined || res.w === 0) continue;
    const wr = res.w * res.r;
    total += wr;
    totalWeight += res.w;
    const on = run.factors.flatMap((c) => {
      const k = index.get(c);
      return k === undefined ? [] : [k];
    });
    for (let a = 0; a < on.length; a++) {
      const ka = on[a] as number;
      single[ka] = (single[ka] as number) + wr;
      singleWeight[ka] = (singleWeight[ka] as number) + res.w;
      for (let b = a + 1; b < on.length; b++) {
        const i = Math.min(ka, on[b] as number);
        const j = Math.max(ka, on[b] as number);
        sum[i * m + j] = (sum[i * m + j] as number) + wr;
        weight[i * m + j] = (weight[i * m + j] as number) + res.w;
      }
    }
  }
  const out: { pair: [number, number]; z: number }[] = [];
  for (let i = 0; i < m; i++) {
    for (let j = i + 1; j < m; j++) {
      const both = { s: sum[i * m + j] as number, w: weight[i * m + j] as number };
      const onlyI = { s: (single[i] as number) - both.s, w: (singleWeight[i] as number) - both.w };
      const onlyJ = { s: (single[j] as number) - both.s, w: (singleWeight[j] as number) - both.w };
      const neither = { s: total - (single[i] as number) - (single[j] as number) + both.s, w: totalWeight - (singleWeight[i] as number) - (singleWeight[j] as number) + both.w };
      const cells = [both, onlyI, onlyJ, neither];
      if (cells.some((c) => c.w <= 1e-9)) continue;
      const contrast = both.s / both.w - onlyI.s / onlyI.w - onlyJ.s / onlyJ.w + neither.s / neither.w;
      const score = Math.abs(contrast) / Math.sqrt(cells.reduce((acc, c) => acc + 1 / c.w, 0));
      if (score > z) out.push({ pair: [among[i] as number, among[j] as number], z: score });
    }
  }
  return out
    .sort((a, b) => b.z - a.z)
    .slice(0, limit)
    .map((x) => x.pair);
}
