/**
 * "Max concurrency under the SLO", searched adaptively. Pure and replayable: the next probe is a
 * function of the options and of the runs measured so far, so a resumed session asks for
 * exactly the probe it would have asked for.
 *
 * Exponential phase: min, 2·min, 4·min, ... until a concurrency breaks the SLO or `max` is
 * feasible. Bisection phase: between the last feasible and the first infeasible concurrency
 * until they are `tolerance` apart. It assumes latency grows with concurrency (it does on a
 * server: more sequences share each decode step).
 *
 * Noise-aware verdict of one concurrency from its runs, per limit: with n runs of mean m and
 * sample standard deviation s, the standard error is se = max(s, cv·m) / √n (cv is the noise
 * floor, so one lucky run is not trusted more than the benchmark's known spread). The point is
 * feasible when m + z·se ≤ limit·(1 − margin) for every limit, infeasible when m − z·se > limit
 * for some limit, and undecided otherwise: it is measured again, up to `maxRuns`, and an
 * undecided point after that counts as infeasible (a configuration is never credited with a
 * concurrency it holds only by luck).
 */
import { holds, type Slo } from './slo.js';

export interface ConcurrencySearchOptions {
  readonly min: number;
  readonly max: number;
  /** Stop bisecting when hi − lo ≤ max(1, tolerance·lo). */
  readonly tolerance: number;
  /** Relative safety margin below each limit. */
  readonly margin: number;
  /** Relative noise floor of one run's statistic. */
  readonly cv: number;
  /** Normal quantile of the one-sided bound. */
  readonly z: number;
  readonly maxRuns: number;
}

export const DEFAULT_CONCURRENCY_SEARCH: Omit<ConcurrencySearchOptions, 'max'> = {
  min: 1,
  tolerance: 0.1,
  margin: 0.05,
  cv: 0.03,
  z: 1.645,
  maxRuns: 3,
};

/** The statistic each SLO names, as one run measured it (null: not reported, a breach). */
export type SloSample = ReadonlyArray<number | null>;

export interface ConcurrencyObservation {
  readonly concurrency: number;
  /** In the order of the SLOs; a failed run is `null` for every limit. */
  readonly sample: SloSample;
}

export type Verdict = 'feasible' | 'infeasible' | 'undecided';

export type ConcurrencyStep =
  | { readonly kind: 'measure'; readonly concurrency: number }
  | {
      readonly kind: 'done';
      /** Highest concurrency found feasible; null when even `min` breaks the SLO. */
      readonly best: number | null;
      /** Lowest concurrency found infeasible; null when `max` held. */
      readonly firstInfeasible: number | null;
    };

function mean(values: readonly number[]): number {
  return values.reduce((x, y) => x + y, 0) / values.length;
}

function sampleSd(values: readonly number[]): number {
  if (values.length < 2) return 0;
  const m = mean(values);
  return Math.sqrt(values.reduce((x, y) => x + (y - m) ** 2, 0) / (values.length - 1));
}

/** The verdict of one concurrency from its samples, before the maxRuns rule. */
export function verdictOf(slos: readonly Slo[], samples: readonly SloSample[], o: Pick<ConcurrencySearchOptions, 'margin' | 'cv' | 'z'>): Verdict {
  if (samples.length === 0) return 'undecided';
  let allFeasible = true;
  for (let i = 0; i < slos.length; i++) {
    const slo = slos[i] as Slo;
    const values = samples.map((s) => s[i] ?? null);
    // A failed run or a missing statistic is a breach outright: a server that drops requests at this load does not hold it.
    if (values.some((v) => v === null)) return 'infeasible';
    const numbers = values as number[];
    const m = mean(numbers);
    const se = Math.max(sampleSd(numbers), o.cv * m) / Math.sqrt(numbers.length);
    if (!holds(slo, m - o.z * se)) return 'infeasible';
    if (m + o.z * se > slo.limitMs * (1 - o.margin)) allFeasible = false;
  }
  return allFeasible ? 'feasible' : 'undecided';
}

export function validateSearchOptions(o: ConcurrencySearchOptions): string | null {
  if (!Number.isSafeInteger(o.min) || o.min < 1) return `the smallest concurrency must be a whole number >= 1, got ${o.min}`;
  if (!Number.isSafeInteger(o.max) || o.max < o.min) return `the largest concurrency must be a whole number >= ${o.min}, got ${o.max}`;
  if (!(o.tolerance >= 0) || !(o.margin >= 0 && o.margin < 1) || !(o.cv >= 0) || !(o.z >= 0)) return 'tolerance, margin, cv and z must be >= 0 (margin below 1)';
  if (!Number.isSafeInteger(o.maxRuns) || o.maxRuns < 1) return `runs per concurrency must be >= 1, got ${o.maxRuns}`;
  return null;
}

/** The next concurrency to measure, or the answer. */
export function nextConcurrencyStep(slos: readonly Slo[], o: ConcurrencySearchOptions, observations: readonly ConcurrencyObservation[]): ConcurrencyStep {
  const byConcurrency = new Map<number, SloSample[]>();
  for (const obs of observations) {
    const list = byConcurrency.get(obs.concurrency) ?? [];
    list.push(obs.sample);
    byConcurrency.set(obs.concurrency, list);
  }
  /** 'measure' when the point needs another run, else its final verdict. */
  const judge = (c: number): 'measure' | 'feasible' | 'infeasible' => {
    const samples = byConcurrency.get(c) ?? [];
    const v = verdictOf(slos, samples, o);
    if (v !== 'undecided') return v;
    return samples.length < o.maxRuns ? 'measure' : 'infeasible';
  };

  let lo: number | null = null;
  let hi: number | null = null;
  for (let c = o.min; ; c = Math.min(2 * c, o.max)) {
    const v = judge(c);
    if (v === 'measure') return { kind: 'measure', concurrency: c };
    if (v === 'infeasible') {
      hi = c;
      break;
    }
    lo = c;
    if (c === o.max) return { kind: 'done', best: c, firstInfeasible: null };
  }
  if (lo === null) return { kind: 'done', best: null, firstInfeasible: hi };
  while (hi - lo > Math.max(1, o.tolerance * lo)) {
    const mid = Math.floor((lo + hi) / 2);
    const v = judge(mid);
    if (v === 'measure') return { kind: 'measure', concurrency: mid };
    if (v === 'feasible') lo = mid;
    else hi = mid;
  }
  return { kind: 'done', best: lo, firstInfeasible: hi };
}
