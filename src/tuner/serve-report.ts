/**
 * Figures of a serving benchmark over a case matrix: each case's measured runs (warm-ups
 * excluded) averaged. Pure.
 */
import type { RunOutcome } from './types.js';
import { decodeTokensPerSec, type ServeSummary } from './serve-metrics.js';
import { checkSlos, goodput, type Slo } from './slo.js';
import type { RequestRecord } from './serve-metrics.js';

export interface CaseRunResult {
  readonly index: number;
  readonly warmup: boolean;
  readonly outcome: Exclude<RunOutcome, 'interrupted'> | 'interrupted';
  readonly failure: string | null;
  readonly summary: ServeSummary | null;
  readonly goodput: number | null;
}

export interface CaseFigures {
  /** Measured runs that ended ok. */
  readonly runs: number;
  readonly failedRuns: number;
  readonly outputTokensPerSec: number | null;
  readonly totalTokensPerSec: number | null;
  readonly requestsPerSec: number | null;
  /** One stream's decode speed, 1000 / mean TPOT. */
  readonly decodeTokensPerSec: number | null;
  readonly ttftMeanMs: number | null;
  readonly ttftP99Ms: number | null;
  readonly tpotMeanMs: number | null;
  readonly tpotP99Ms: number | null;
  readonly e2elP99Ms: number | null;
  /** Requests/s meeting the SLOs; null without SLOs. */
  readonly goodput: number | null;
  /** Every measured run met every SLO; null without SLOs. */
  readonly sloMet: boolean | null;
}

/** Mean of the values a run reported; null when none did. */
function meanOf(values: ReadonlyArray<number | null | undefined>): number | null {
  const numbers = values.filter((v): v is number => typeof v === 'number' && Number.isFinite(v));
  return numbers.length === 0 ? null : numbers.reduce((x, y) => x + y, 0) / numbers.length;
}

/** Goodput of one run, per request when the generator gave per-request records. */
export function runGoodput(summary: ServeSummary, slos: readonly Slo[], requests: readonly RequestRecord[] | null): number | null {
  return slos.length === 0 ? null : goodput(summary, slos, requests);
}

export function caseFigures(runs: readonly CaseRunResult[], slos: readonly Slo[]): CaseFigures {
  const measured = runs.filter((r) => !r.warmup);
  const ok = measured.filter((r) => r.outcome === 'ok' && r.summary !== null);
  const s = ok.map((r) => r.summary as ServeSummary);
  return {
    runs: ok.length,
    failedRuns: measured.length - ok.length,
    outputTokensPerSec: meanOf(s.map((x) => x.outputThroughput)),
    totalTokensPerSec: meanOf(s.map((x) => x.totalTokenThroughput)),
    requestsPerSec: meanOf(s.map((x) => x.requestThroughput)),
    decodeTokensPerSec: meanOf(s.map(decodeTokensPerSec)),
    ttftMeanMs: meanOf(s.map((x) => x.latency.ttft?.meanMs)),
    ttftP99Ms: meanOf(s.map((x) => x.latency.ttft?.percentilesMs['99'])),
    tpotMeanMs: meanOf(s.map((x) => x.latency.tpot?.meanMs)),
    tpotP99Ms: meanOf(s.map((x) => x.latency.tpot?.percentilesMs['99'])),
    e2elP99Ms: meanOf(s.map((x) => x.latency.e2el?.percentilesMs['99'])),
    goodput: slos.length === 0 ? null : meanOf(ok.map((r) => r.goodput)),
    sloMet: slos.length === 0 ? null : ok.length > 0 && ok.length === measured.length && s.every((x) => checkSlos(x, slos).every((c) => c.met)),
  };
}
