/**
 * The session model: every successful run of a session in one weighted least-squares fit,
 *
 *   ln(throughput) = level(t) + a·r^k + effect(configuration) + noise,
 *
 * where t is the run's position in the session (the machine's level may drift, modelled as a
 * piecewise-linear curve), k is how many runs of the same configuration came before (caches
 * fill over a configuration's first runs: the cold penalty a·r^k, shared by all
 * configurations), and the baseline's effect is 0. Working in logs makes effects relative and
 * lets one noise estimate serve every comparison (statistics guide, 3.2).
 *
 * Fitting everything together is what makes few runs per operator enough: the level is learnt
 * from every baseline anchor and every repeated configuration, the cold penalty from every
 * configuration's first runs, so a first (cold) run is a usable measurement once corrected.
 * Noise is estimated per group (FlagGems kernels make runs noisier), plus an extra variance for
 * first runs in case cold penalties differ between configurations: if they do, first runs are
 * down-weighted by the data rather than trusted. Runs far slower than the model explains
 * (interference, throttling) are set aside as outliers.
 */
import { Cholesky } from './linalg.js';

export interface Run {
  readonly seq: number;
  /** The configuration the run measures (a trial key, or an alias that keeps a phase's runs apart). */
  readonly label: string;
  readonly y: number;
  /** Runs of the same trial before this one (0 = its first, cold run). */
  readonly ordinal: number;
  /** Whether a FlagGems kernel ran: such runs get their own, usually larger, noise. */
  readonly gems: boolean;
  /** The slot (GPU group) it ran on; each slot other than 0 gets a level of its own. */
  readonly slot?: number;
}

export interface Structure {
  /** Distance between the level curve's knots, in runs; Infinity for a constant level. */
  readonly spacing: number;
  /** r in the cold penalty a·r^k. */
  readonly decay: number;
}

/** Run-to-run variances (ln units squared). */
export interface Variances {
  readonly plain: number;
  readonly gems: number;
  /** Extra variance of a configuration's first run, from cold penalties that differ. */
  readonly cold: number;
}

/** A configuration's log-difference vs the baseline (≈ relative effect) and its standard error. */
export interface Effect {
  readonly delta: number;
  readonly se: number;
  readonly runs: number;
}

export interface Fit {
  readonly effects: ReadonlyMap<string, Effect>;
  readonly structure: Structure;
  readonly variances: Variances;
  /** a: the fitted log penalty of a first run. */
  readonly coldPenalty: number;
  /** Sequence numbers of runs set aside as outliers. */
  readonly outliers: readonly number[];
  /** Residual degrees of freedom behind the noise estimates. */
  readonly df: number;
  /** Log level of each slot after slot 0 relative to slot 0 (index 0: slot 1); empty with one slot. */
  readonly slotLevels: readonly number[];
}

const PRIOR_SIGMA = 0.01;
const PRIOR_DF = 2;
/** Below this a noise estimate is more likely luck than a quiet machine (guide, 3.4). */
const SIGMA_FLOOR = 0.003;
const COLD_PRIOR_SIGMA = 0.003;
const COLD_PRIOR_DF = 2;
/** Level change per knot interval the fit finds plausible before data say otherwise. */
const DRIFT_PRIOR = 0.02;
/** A slot's level relative to slot 0's that the fit finds plausible before data say otherwise (GPUs of one node rarely differ by more). */
const SLOT_PRIOR = 0.1;
const SPACINGS = [Infinity, 48, 24, 12, 6] as const;
/** Range searched for the cold decay r. */
const DECAY_RANGE = [0.02, 0.8] as const;
const DECAY_TOLERANCE = 0.005;
/** A run this many standard errors below the model is an outlier: interference only slows runs down. */
const OUTLIER_Z = 4;
const MAX_PASSES = 6;

const PRIOR_VARIANCES: Variances = { plain: PRIOR_SIGMA ** 2, gems: PRIOR_SIGMA ** 2, cold: COLD_PRIOR_SIGMA ** 2 };
const DEFAULT_STRUCTURE: Structure = { spacing: Infinity, decay: 0.3 };

interface Solution {
  readonly effects: Map<string, Effect>;
  readonly residuals: Float64Array;
  readonly leverage: Float64Array;
  readonly weights: Float64Array;
  /** AIC with the variances taken as known: weighted residual sum of squares + 2 parameters. */
  readonly criterion: number;
  readonly coldPenalty: number;
  readonly slotLevels: readonly number[];
}

function variance(run: Run, v: Variances): number {
  return (run.gems ? v.gems : v.plain) + (run.ordinal === 0 ? v.cold : 0);
}

/**
 * Design row of the shared terms: hat functions of the level curve, the cold term, then one
 * indicator per slot after slot 0 (a slower or faster GPU group shifts every run it measures;
 * the baseline anchors each slot runs tell that shift from the configurations' effects).
 */
function designRow(run: Run, s: Structure, knots: number, out: Float64Array): void {
  out.fill(0);
  if (knots === 1) out[0] = 1;
  else {
    const u = run.seq / s.spacing;
    const j = Math.min(knots - 2, Math.floor(u));
    const frac = u - j;
    out[j] = 1 - frac;
    out[j + 1] = frac;
  }
  out[knots] = s.decay ** run.ordinal;
  const slot = run.slot ?? 0;
  if (slot > 0) out[knots + slot] = 1;
}

function knotCount(s: Structure, lastSeq: number): number {
  return Number.isFinite(s.spacing) ? Math.max(1, Math.ceil(lastSeq / s.spacing)) + 1 : 1;
}

/**
 * Weighted least squares with the configuration effects profiled out (Frisch-Waugh): each
 * non-baseline configuration's runs are centred on their weighted mean, leaving a small
 * system for the level curve and the cold term; effects follow from the means.
 */
function solve(runs: readonly Run[], baseline: string, s: Structure, v: Variances, excluded: ReadonlySet<number>): Solution {
  const lastSeq = runs.reduce((m, r) => Math.max(m, r.seq), 1);
  const knots = knotCount(s, lastSeq);
  const slots = runs.reduce((m, r) => Math.max(m, (r.slot ?? 0) + 1), 1);
  const p = knots + slots;
  const n = runs.length;
  const x = new Float64Array(n * p);
  const weights = new Float64Array(n);
  const row = new Float64Array(p);
  runs.forEach((run, i) => {
    designRow(run, s, knots, row);
    x.set(row, i * p);
    weights[i] = excluded.has(run.seq) ? 0 : 1 / variance(run, v);
  });

  // Weighted means per non-baseline configuration.
  const groups = new Map<string, { w: number; y: number; x: Float64Array; runs: number }>();
  runs.forEach((run, i) => {
    const w = weights[i] ?? 0;
    if (run.label === baseline || w === 0) return;
    const g = groups.get(run.label) ?? { w: 0, y: 0, x: new Float64Array(p), runs: 0 };
    g.w += w;
    g.y += w * run.y;
    for (let j = 0; j < p; j++) g.x[j] = (g.x[j] ?? 0) + w * (x[i * p + j] ?? 0);
    g.runs += 1;
    groups.set(run.label, g);
  });
  for (const g of groups.values()) {
    g.y /= g.w;
    for (let j = 0; j < p; j++) g.x[j] = (g.x[j] ?? 0) / g.w;
  }

  const centred = new Float64Array(n * p);
  const yc = new Float64Array(n);
  const m = new Float64Array(p * p);
  const rhs = new Float64Array(p);
  runs.forEach((run, i) => {
    const g = run.label === baseline ? undefined : groups.get(run.label);
    yc[i] = run.y - (g?.y ?? 0);
    for (let j = 0; j < p; j++) centred[i * p + j] = (x[i * p + j] ?? 0) - (g?.x[j] ?? 0);
    const w = weights[i] ?? 0;
    if (w === 0) return;
    for (let a = 0; a < p; a++) {
      const xa = w * (centred[i * p + a] ?? 0);
      rhs[a] = (rhs[a] ?? 0) + xa * (yc[i] ?? 0);
      for (let b = 0; b < p; b++) m[a * p + b] = (m[a * p + b] ?? 0) + xa * (centred[i * p + b] ?? 0);
    }
  });
  // A weak random-walk prior ties neighbouring knots, so an interval without data stays solvable.
  const lambda = 1 / DRIFT_PRIOR ** 2;
  for (let j = 0; j + 1 < knots; j++) {
    m[j * p + j] = (m[j * p + j] ?? 0) + lambda;
    m[(j + 1) * p + j + 1] = (m[(j + 1) * p + j + 1] ?? 0) + lambda;
    m[j * p + j + 1] = (m[j * p + j + 1] ?? 0) - lambda;
    m[(j + 1) * p + j] = (m[(j + 1) * p + j] ?? 0) - lambda;
  }
  // A weak prior keeps a slot's level near slot 0's until its anchors say otherwise.
  for (let j = knots + 1; j < p; j++) m[j * p + j] = (m[j * p + j] ?? 0) + 1 / SLOT_PRIOR ** 2;
  const ridge = 1e-9 * Math.max(1, ...Array.from({ length: p }, (_, j) => m[j * p + j] ?? 0));
  for (let j = 0; j < p; j++) m[j * p + j] = (m[j * p + j] ?? 0) + ridge;
  const chol = new Cholesky(m, p);
  const beta = chol.solve(rhs);

  const effects = new Map<string, Effect>();
  for (const [label, g] of groups) {
    let fitted = 0;
    for (let j = 0; j < p; j++) fitted += (g.x[j] ?? 0) * (beta[j] ?? 0);
    effects.set(label, { delta: g.y - fitted, se: Math.sqrt(1 / g.w + chol.quadratic(g.x)), runs: g.runs });
  }

  const residuals = new Float64Array(n);
  const leverage = new Float64Array(n);
  let rss = 0;
  runs.forEach((run, i) => {
    const xi = centred.subarray(i * p, (i + 1) * p);
    let fitted = 0;
    for (let j = 0; j < p; j++) fitted += (xi[j] ?? 0) * (beta[j] ?? 0);
    const r = (yc[i] ?? 0) - fitted;
    residuals[i] = r;
    const w = weights[i] ?? 0;
    const g = run.label === baseline ? undefined : groups.get(run.label);
    leverage[i] = w === 0 ? 0 : Math.min(1, w * ((g === undefined ? 0 : 1 / g.w) + chol.quadratic(xi)));
    rss += w * r * r;
  });
  return { effects, residuals, leverage, weights, criterion: rss + 2 * p, coldPenalty: beta[knots] ?? 0, slotLevels: Array.from({ length: slots - 1 }, (_, k) => beta[knots + 1 + k] ?? 0) };
}

/** Noise per group from residuals scaled by their leverage, shrunk towards the prior while data are few. */
function estimateVariances(runs: readonly Run[], sol: Solution, v: Variances): { variances: Variances; df: number } {
  const acc = { plain: { ss: 0, df: 0 }, gems: { ss: 0, df: 0 }, cold: { ss: 0, df: 0 } };
  runs.forEach((run, i) => {
    const free = 1 - (sol.leverage[i] ?? 1);
    if ((sol.weights[i] ?? 0) === 0 || free < 1e-6) return;
    const r2 = (sol.residuals[i] ?? 0) ** 2;
    if (run.ordinal === 0) {
      acc.cold.ss += r2 - free * (run.gems ? v.gems : v.plain);
      acc.cold.df += free;
    } else {
      const a = run.gems ? acc.gems : acc.plain;
      a.ss += r2;
      a.df += free;
    }
  });
  const pooled = (a: { ss: number; df: number }): number => Math.max(SIGMA_FLOOR ** 2, (PRIOR_DF * PRIOR_SIGMA ** 2 + a.ss) / (PRIOR_DF + a.df));
  const plain = pooled(acc.plain);
  // Without FlagGems runs of its own, the gems group is at least as noisy as the plain one.
  const gems = Math.max(plain, pooled(acc.gems));
  const cold = Math.max(0, (COLD_PRIOR_DF * COLD_PRIOR_SIGMA ** 2 + acc.cold.ss) / (COLD_PRIOR_DF + acc.cold.df));
  return { variances: { plain, gems, cold }, df: Math.round(acc.plain.df + acc.gems.df) };
}

/** The cold decay that explains the runs best (golden-section search; the criterion is smooth in r). */
function bestDecay(score: (s: Structure) => number, start: Structure): Structure {
  const phi = (Math.sqrt(5) - 1) / 2;
  let [lo, hi] = DECAY_RANGE as readonly [number, number];
  let a = hi - phi * (hi - lo);
  let b = lo + phi * (hi - lo);
  let fa = score({ ...start, decay: a });
  let fb = score({ ...start, decay: b });
  while (hi - lo > DECAY_TOLERANCE) {
    if (fa < fb) {
      hi = b;
      b = a;
      fb = fa;
      a = hi - phi * (hi - lo);
      fa = score({ ...start, decay: a });
    } else {
      lo = a;
      a = b;
      fa = fb;
      b = lo + phi * (hi - lo);
      fb = score({ ...start, decay: b });
    }
  }
  return { ...start, decay: (lo + hi) / 2 };
}

/** The structure (level curve, cold decay) that explains the runs best, by AIC. */
function selectStructure(runs: readonly Run[], baseline: string, v: Variances, excluded: ReadonlySet<number>, start: Structure): Structure {
  const score = (s: Structure): number => solve(runs, baseline, s, v, excluded).criterion;
  let s = bestDecay(score, start);
  s = SPACINGS.map((spacing) => ({ ...s, spacing })).reduce((best, c) => (score(c) < score(best) ? c : best));
  return bestDecay(score, s);
}

/** The most extreme slow run beyond OUTLIER_Z, if any. */
function worstOutlier(runs: readonly Run[], sol: Solution, v: Variances): number | null {
  let worst: { seq: number; z: number } | null = null;
  runs.forEach((run, i) => {
    const free = 1 - (sol.leverage[i] ?? 1);
    if ((sol.weights[i] ?? 0) === 0 || free < 0.05) return;
    const z = (sol.residuals[i] ?? 0) / Math.sqrt(variance(run, v) * free);
    if (z < -OUTLIER_Z && (worst === null || z < worst.z)) worst = { seq: run.seq, z };
  });
  return (worst as { seq: number } | null)?.seq ?? null;
}

/**
 * Fits the model. `previous` warm-starts the variances, outliers and structure; with `reselect`
 * the structure is chosen again (costlier, so callers do it every few runs).
 */
export function fitSession(runs: readonly Run[], baseline: string, previous: Fit | null, reselect: boolean): Fit {
  let v = previous?.variances ?? PRIOR_VARIANCES;
  let structure = previous?.structure ?? DEFAULT_STRUCTURE;
  const excluded = new Set<number>(previous?.outliers ?? []);
  let df = 0;
  for (let pass = 0; pass < MAX_PASSES; pass++) {
    if (reselect && pass < 2) structure = selectStructure(runs, baseline, v, excluded, structure);
    const sol = solve(runs, baseline, structure, v, excluded);
    ({ variances: v, df } = estimateVariances(runs, sol, v));
    const outlier = worstOutlier(runs, sol, v);
    if (outlier !== null) excluded.add(outlier);
    else if (pass >= 1) break;
  }
  const final = solve(runs, baseline, structure, v, excluded);
  return {
    effects: final.effects,
    structure,
    variances: v,
    coldPenalty: final.coldPenalty,
    outliers: [...excluded].sort((a, b) => a - b),
    df,
    slotLevels: final.slotLevels,
  };
}
