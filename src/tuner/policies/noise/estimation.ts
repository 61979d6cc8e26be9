/**
 * What the session's measurements say, in ln-throughput: run-to-run noise is roughly
 * multiplicative and alike across configurations, so differences of logs are relative
 * effects and one pooled noise estimate serves every comparison.
 */
import { mean } from 'simple-statistics';
import { metricValue, type Metric, type Observation } from '../../types.js';

/** One warm, successful run. Cold first runs of a configuration never become samples. */
export interface Sample {
  readonly seq: number;
  readonly key: string;
  readonly y: number;
  /** How many runs of this configuration came before (1 = first run after its warm-up). */
  readonly ordinal: number;
}

/** Noise prior used until the session has measured enough of its own. */
const PRIOR_SIGMA = 0.01;
const PRIOR_DF = 3;
/** Below this the estimate is more likely luck than a quiet machine. */
const SIGMA_FLOOR = 0.003;
/** How far (in invocations) a baseline run still speaks for the baseline level at another time. */
const BASELINE_BANDWIDTH = 16;
/**
 * Cold caches fade over a configuration's first runs: run k pays about penalty * decay^k.
 * The penalty is measured (warm-up vs first measured run of every configuration); the decay
 * is the typical one, since a session rarely has enough repeats to estimate it.
 */
const COLD_DECAY = 0.3;
/** Warm-up/first-run pairs needed before warm-ups may be dropped. */
const MIN_COLD_PAIRS = 5;

export class Ledger {
  private readonly runs = new Map<string, number>();
  private readonly samples: Sample[] = [];
  /** ln-value of each configuration's cold first run, to measure the cold penalty. */
  private readonly coldY = new Map<string, number>();
  private invocations = 0;
  /** Set once the machine shows no cold penalty: from then on first runs are measurements. */
  private coldRunsCount = false;

  constructor(
    private readonly metric: Metric,
    readonly baselineKey: string,
  ) {}

  /** Records one finished invocation; returns its log-value, or null when it is no sample. */
  record(observation: Observation): number | null {
    const seq = this.invocations++;
    const before = this.runs.get(observation.trialKey) ?? 0;
    this.runs.set(observation.trialKey, before + 1);
    const value = observation.outcome === 'ok' ? metricValue(observation.throughput, this.metric) : null;
    if (value === null || value <= 0) return null;
    const y = Math.log(value);
    if (before === 0) this.coldY.set(observation.trialKey, y);
    if (before > 0 || this.coldRunsCount) this.samples.push({ seq, key: observation.trialKey, y, ordinal: before });
    return y;
  }

  get seq(): number {
    return this.invocations;
  }

  runsOf(key: string): number {
    return this.runs.get(key) ?? 0;
  }

  /** Warm samples of a configuration, corrected for what is left of its cold penalty. */
  samplesOf(key: string): Sample[] {
    return this.correctedSamples(this.coldPenalty()).filter((s) => s.key === key);
  }

  private correctedSamples(penalty: number): Sample[] {
    return penalty === 0 ? this.samples : this.samples.map((s) => ({ ...s, y: s.y + penalty * COLD_DECAY ** s.ordinal }));
  }

  /**
   * The cold first-run penalty P (ln units), from every configuration whose cold run and first
   * warm run both succeeded: their gap is P * (1 - decay). Zero unless clearly above noise, so
   * a warm machine's comparisons are left untouched.
   */
  coldPenalty(): number {
    const { gap, se, pairs } = this.coldGap();
    return pairs >= 2 && gap > 2 * se ? gap / (1 - COLD_DECAY) : 0;
  }

  /**
   * Whether a new configuration still needs a discarded warm-up. Once enough configurations
   * show no first-run penalty (gap within one standard error of zero), warm-ups stop for good,
   * since they would double the cost of screening for nothing; the penalty keeps being
   * measured on repeats, and corrected for if it turns out to exist after all.
   */
  warmupsNeeded(): boolean {
    if (this.coldRunsCount) return false;
    const { gap, se, pairs } = this.coldGap();
    if (pairs >= MIN_COLD_PAIRS && gap < se) this.coldRunsCount = true;
    return !this.coldRunsCount;
  }

  private coldGap(): { gap: number; se: number; pairs: number } {
    const gaps: number[] = [];
    for (const s of this.samples) {
      const cold = this.coldY.get(s.key);
      if (s.ordinal === 1 && cold !== undefined) gaps.push(s.y - cold);
    }
    if (gaps.length === 0) return { gap: 0, se: Infinity, pairs: 0 };
    // Uncorrected noise: the correction itself depends on this gap.
    const { sigma } = this.pooledNoise(this.samples);
    return { gap: mean(gaps), se: (sigma * Math.SQRT2) / Math.sqrt(gaps.length), pairs: gaps.length };
  }

  /** Pooled run-to-run sigma of ln-throughput, shrunk towards the prior while data are few. */
  noise(): { sigma: number; df: number } {
    return this.pooledNoise(this.correctedSamples(this.coldPenalty()));
  }

  private pooledNoise(samples: readonly Sample[]): { sigma: number; df: number } {
    let ss = 0;
    let df = 0;
    const byKey = new Map<string, number[]>();
    for (const s of samples) byKey.set(s.key, [...(byKey.get(s.key) ?? []), s.y]);
    for (const [key, ys] of byKey) {
      if (ys.length < 2) continue;
      if (key === this.baselineKey) {
        // Anchors are spread over the session: successive differences ignore slow drift.
        for (let i = 1; i < ys.length; i++) ss += ((ys[i] ?? 0) - (ys[i - 1] ?? 0)) ** 2 / 2;
      } else {
        const m = mean(ys);
        for (const y of ys) ss += (y - m) ** 2;
      }
      df += ys.length - 1;
    }
    const variance = (PRIOR_DF * PRIOR_SIGMA ** 2 + ss) / (PRIOR_DF + df);
    return { sigma: Math.max(SIGMA_FLOOR, Math.sqrt(variance)), df };
  }

  /**
   * The baseline level for runs at the given times: a time-weighted mean of baseline samples,
   * so drift is followed, returned with the sum of squared weights (its variance / sigma^2).
   */
  baselineFor(seqs: readonly number[]): { level: number; varianceFactor: number } | null {
    const base = this.samplesOf(this.baselineKey);
    if (base.length === 0 || seqs.length === 0) return null;
    const coef = new Array<number>(base.length).fill(0);
    for (const t of seqs) {
      const w = base.map((b) => Math.exp(-0.5 * ((b.seq - t) / BASELINE_BANDWIDTH) ** 2) + 1e-9);
      const total = w.reduce((a, b) => a + b, 0);
      w.forEach((wi, i) => (coef[i] = (coef[i] ?? 0) + wi / total / seqs.length));
    }
    let level = 0;
    let varianceFactor = 0;
    base.forEach((b, i) => {
      const c = coef[i] ?? 0;
      level += c * b.y;
      varianceFactor += c * c;
    });
    return { level, varianceFactor };
  }

  /** Relative effect of a configuration vs the time-local baseline, with its standard error. */
  compare(key: string): Comparison | null {
    return this.compareSamples(this.samplesOf(key));
  }

  compareSamples(samples: readonly Sample[]): Comparison | null {
    if (samples.length === 0) return null;
    const baseline = this.baselineFor(samples.map((s) => s.seq));
    if (baseline === null) return null;
    const { sigma } = this.noise();
    const delta = mean(samples.map((s) => s.y)) - baseline.level;
    return { delta, se: sigma * Math.sqrt(1 / samples.length + baseline.varianceFactor), runs: samples.length };
  }
}

/** A log-difference vs baseline (≈ relative gain) and its standard error. */
export interface Comparison {
  readonly delta: number;
  readonly se: number;
  readonly runs: number;
}

/** exp(log-difference) - 1: the relative change users read. */
export function relative(logDelta: number): number {
  return Math.expm1(logDelta);
}
