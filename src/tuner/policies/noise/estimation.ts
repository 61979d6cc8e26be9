/**
 * What the session's measurements say: every invocation is recorded here, and comparisons
 * with the baseline come from one fit of the whole session (model.ts), refreshed lazily.
 */
import { score, type Objective } from '../../objective.js';
import type { Observation } from '../../types.js';
import { fitSession, type Fit, type Run } from './model.js';

/** A log-difference vs baseline (≈ relative gain) and its standard error. */
export interface Comparison {
  readonly delta: number;
  readonly se: number;
  readonly runs: number;
}

/** Choosing the model's structure costs a dozen fits, so it is redone only every few samples. */
const RESELECT_EVERY = 8;

export class Ledger {
  private readonly invocationsOf = new Map<string, number>();
  private readonly samples: Run[] = [];
  private invocations = 0;
  private cached: Fit | null = null;
  private previous: Fit | null = null;
  private selectedAt = -Infinity;

  constructor(
    private readonly objective: Objective,
    readonly baselineKey: string,
  ) {}

  /**
   * Records one finished invocation under `label` (its trial key unless a phase keeps its runs
   * apart). Failed runs count for the trial's ordinal but are no sample.
   */
  record(observation: Observation, gems: boolean, label = observation.trialKey): void {
    const seq = this.invocations++;
    const ordinal = this.invocationsOf.get(observation.trialKey) ?? 0;
    this.invocationsOf.set(observation.trialKey, ordinal + 1);
    const value = score(this.objective, observation);
    if (value === null || value <= 0) return;
    this.samples.push({ seq, label, y: Math.log(value), ordinal, gems, ...(observation.slot === undefined ? {} : { slot: observation.slot }) });
    this.cached = null;
  }

  /** Invocations of a trial so far, failed ones included. */
  runsOf(key: string): number {
    return this.invocationsOf.get(key) ?? 0;
  }

  /** Successful runs recorded under a label. */
  samplesOf(label: string): number {
    return this.samples.filter((s) => s.label === label).length;
  }

  fit(): Fit {
    if (this.cached !== null) return this.cached;
    const reselect = this.samples.length - this.selectedAt >= RESELECT_EVERY;
    if (reselect) this.selectedAt = this.samples.length;
    this.cached = fitSession(this.samples, this.baselineKey, this.previous, reselect);
    this.previous = this.cached;
    return this.cached;
  }

  /** Effect of a configuration vs the baseline, or null while it has no usable run. */
  compare(label: string): Comparison | null {
    return this.fit().effects.get(label) ?? null;
  }

  /** Run-to-run noise (sigma, ln units) with and without FlagGems kernels, and its degrees of freedom. */
  noise(): { gems: number; plain: number; df: number } {
    const { variances, df } = this.fit();
    return { gems: Math.sqrt(variances.gems), plain: Math.sqrt(variances.plain), df };
  }
}

/** exp(log-difference) - 1: the relative change users read. */
export function relative(logDelta: number): number {
  return Math.expm1(logDelta);
}
