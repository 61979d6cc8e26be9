/**
 * Screening designs: configurations that enable many operators at once, so that every run
 * informs every operator in it. Runs are chosen one at a time, each the one that adds the most
 * information to what the runs before it hold (sequential D-optimality: the configuration
 * whose outcome the design so far predicts worst, x'M⁻¹x, with M the information matrix of
 * the runs' shared level and the candidates' effects). Blocks of random halves leave the
 * columns correlated: with 40 candidates over 60 runs each effect's least-squares variance was
 * 3.2 times that of an orthogonal design, 2.4 times with 150 over 300; chosen this way it is
 * 1.09 and 1.05 times, and before there are as many runs as candidates the runs spread over the
 * directions no run has measured yet.
 * An operator with several backends gets at most one of them per run. Reference-backend
 * candidates only run under their run's attention backend. Pure and seeded.
 * Known weakness: set sizes stay near half of the operators, and an operator with several
 * backends is on in most runs, so what every run shares (the factor runs' cold penalty) and a
 * common shift of the effects (or of one operator's backends) are told apart mostly by the
 * fit's priors. Drawing set sizes from 30-70% restored the cold term but cost regret and let
 * more rarely run reference candidates into sets, so it is not done.
 */
import type { AttentionBackend } from '../../types.js';
import { shuffled } from '../noise/schedule.js';

/** One operator and the indices of its candidates still in play (its backends). */
export interface DesignOp {
  readonly op: string;
  readonly candidates: readonly number[];
}

export interface DesignRunPlan {
  /** Candidate indices enabled, at most one per operator. */
  readonly candidates: readonly number[];
  readonly attention: AttentionBackend | null;
}

/** The attention backend a candidate needs, or null when it runs under any. */
export type AttentionOf = (candidate: number) => AttentionBackend | null;

/**
 * Prior precision of every parameter, in units of one run: the effects' prior (a few tenths of
 * a percent) against one run's noise (0.3-3%) is worth a few runs. It keeps M invertible before
 * there are as many runs as candidates, and tempers the pull of never-measured candidates: with
 * almost none, the first runs crowd every new backend together (tuning split, 1.0x: 1.21% and
 * 1.30% mean regret with 0.01, 1.17% and 1.16% with 1, 1.12% and 1.12% with 4, 1.20% and 1.17%
 * with 16, cold per configuration and per operator).
 */
const RIDGE = 4;
/** Local-search starts per run, and passes over the operators per start. */
const STARTS = 3;
const PASSES = 8;

export interface NextRun {
  /** Operators free to be on or off in this run, with their usable candidates. */
  readonly ops: readonly DesignOp[];
  /** The run's attention backend: candidates that need another one are not usable. */
  readonly attention: AttentionBackend | null;
  /** Candidates on in the run whatever the search finds (confirmation: the clear winners). */
  readonly fixed?: readonly number[];
}

/** The runs chosen so far, as the inverse of their information matrix (column 0: the runs' shared level). */
export class SequentialDesign {
  private readonly p: number;
  private readonly inv: Float64Array;

  constructor(candidates: number) {
    this.p = candidates + 1;
    this.inv = new Float64Array(this.p * this.p);
    for (let i = 0; i < this.p; i++) this.inv[i * this.p + i] = 1 / RIDGE;
  }

  /** Columns of a run enabling `candidates`: the shared level and each candidate's. */
  private columns(candidates: readonly number[]): number[] {
    return [0, ...candidates.map((c) => c + 1)];
  }

  /**
   * Books a run that enables `candidates` (Sherman-Morrison). A run is booked when planned and
   * stays booked if it fails: taken back, the same run would be the best next one again, and a
   * crashing operator would sink it every time until group testing retires it.
   */
  add(candidates: readonly number[]): void {
    const { p, inv } = this;
    const cols = this.columns(candidates);
    const u = new Float64Array(p);
    for (let i = 0; i < p; i++) {
      let s = 0;
      for (const c of cols) s += inv[i * p + c] as number;
      u[i] = s;
    }
    let q = 0;
    for (const c of cols) q += u[c] as number;
    const denom = 1 / (1 + q);
    for (let i = 0; i < p; i++) {
      const ui = (u[i] as number) * denom;
      if (ui === 0) continue;
      for (let j = 0; j < p; j++) inv[i * p + j] = (inv[i * p + j] as number) - ui * (u[j] as number);
    }
  }

  /** x'M⁻¹x for a run enabling `candidates`: how poorly the runs so far predict it. */
  private variance(candidates: readonly number[]): number {
    const { p, inv } = this;
    const cols = this.columns(candidates);
    let q = 0;
    for (const a of cols) for (const b of cols) q += inv[a * p + b] as number;
    return q;
  }

  /**
   * The most informative next run (not booked: `add` it once planned). A local search from
   * random starts: each operator in turn takes the choice (off, or one of its usable
   * candidates) that raises x'M⁻¹x most, until no operator changes. At least one free
   * operator is on.
   */
  next(run: NextRun, attentionOf: AttentionOf, random: () => number): DesignRunPlan {
    const { p, inv } = this;
    const ops = run.ops
      .map((o) => o.candidates.filter((c) => {
        const a = attentionOf(c);
        return a === null || a === run.attention;
      }))
      .filter((cs) => cs.length > 0);
    const fixed = run.fixed ?? [];
    let best: { q: number; chosen: Int32Array } | null = null;
    for (let start = 0; start < STARTS; start++) {
      const chosen = Int32Array.from(ops, (cs) => (random() < 0.5 ? (cs[Math.floor(random() * cs.length)] as number) : -1));
      // v = M⁻¹x over the columns, x the run's indicator (level, fixed and chosen candidates).
      const v = new Float64Array(p);
      const on = this.columns([...fixed, ...[...chosen].filter((c) => c >= 0)]);
      for (const c of on) for (let i = 0; i < p; i++) v[i] = (v[i] as number) + (inv[i * p + c] as number);
      let q = 0;
      for (const c of on) q += v[c] as number;
      const order = shuffled(
        ops.map((_, k) => k),
        random,
      );
      for (let pass = 0; pass < PASSES; pass++) {
        let moved = false;
        for (const k of order) {
          const from = chosen[k] as number;
          const a = from + 1;
          let gain = 0;
          let to = from;
          for (const option of [-1, ...(ops[k] as number[])]) {
            if (option === from) continue;
            const b = option + 1;
            // Δ(x'M⁻¹x) for x - e_a + e_b (either side absent when it is "off").
            let delta = 0;
            if (from >= 0) delta += -2 * (v[a] as number) + (inv[a * p + a] as number);
            if (option >= 0) delta += 2 * (v[b] as number) + (inv[b * p + b] as number);
            if (from >= 0 && option >= 0) delta -= 2 * (inv[a * p + b] as number);
            if (delta > gain + 1e-12) {
              gain = delta;
              to = option;
            }
          }
          if (to === from) continue;
          for (let i = 0; i < p; i++) {
            let d = 0;
            if (from >= 0) d -= inv[i * p + a] as number;
            if (to >= 0) d += inv[i * p + to + 1] as number;
            v[i] = (v[i] as number) + d;
          }
          chosen[k] = to;
          q += gain;
          moved = true;
        }
        if (!moved) break;
      }
      if (best === null || q > best.q) best = { q, chosen };
    }
    const picked = best === null ? [] : [...best.chosen].filter((c) => c >= 0);
    if (picked.length === 0 && ops.length > 0) {
      // Every free operator off: the one whose run the design predicts worst goes on.
      const options = ops.flat();
      const scored = options.map((c) => ({ c, q: this.variance([...fixed, c]) }));
      const top = scored.reduce((m, s) => (s.q > m.q ? s : m));
      picked.push(top.c);
    }
    const candidates = [...fixed, ...picked];
    return { candidates, attention: candidates.some((c) => attentionOf(c) !== null) ? run.attention : null };
  }
}
