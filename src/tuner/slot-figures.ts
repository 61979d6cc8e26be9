/**
 * Per-slot figures of a session: runs, failures, retirement, and each slot's speed factor
 * relative to slot 0. Pure.
 *
 * A factor is estimable only from configurations measured on both slots. The slot plan keeps
 * a comparison group on one slot (decisions never need the factor), so slots share them only
 * through a sweep's calibration copies (grid.ts) or where work moved (a retired slot's
 * groups); elsewhere the factor is "not estimable".
 * Each shared trial gives one log ratio of mean scores (scores are bigger-is-better,
 * so the factor is a speed: 0.9 means that slot measures 10% worse than slot 0). The factor is
 * the geometric mean of those ratios, with a 95% t interval across trials when there are
 * several, or a Welch interval over one trial's repeated runs.
 */
import { SlotHealth } from './slot-plan.js';
import type { Observation, RunKind } from './types.js';

export interface SlotRun {
  readonly slot: number;
  readonly step: number;
  readonly trialKey: string;
  /** What the factor matches across slots: the trial key, or the trial a calibration copy repeats. */
  readonly configuration: string;
  readonly kind: RunKind;
  readonly outcome: Observation['outcome'];
  /** The objective's score (bigger is better); null when the run did not score. */
  readonly score: number | null;
}

export interface SlotFactor {
  /** This slot's scores over slot 0's, on the same trials. */
  readonly estimate: number;
  /** 95% interval; null when one run on each side is all there is. */
  readonly low: number | null;
  readonly high: number | null;
  /** Trials measured on both slots. */
  readonly shared: number;
}

export interface SlotFigures {
  readonly slot: number;
  /** Completed runs (warm-ups included). */
  readonly runs: number;
  readonly failures: number;
  /** Slot 0 is the reference; null: no trial measured here and on slot 0 ("not estimable"). */
  readonly factor: SlotFactor | 'reference' | null;
  readonly retired: boolean;
}

/** Two-sided 95% quantiles of Student's t, by degrees of freedom (1..30); beyond, the normal's. */
const T975 = [
  12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.16, 2.145, 2.131, 2.12, 2.11, 2.101, 2.093, 2.086,
  2.08, 2.074, 2.069, 2.064, 2.06, 2.056, 2.052, 2.048, 2.045, 2.042,
];

function t975(df: number): number {
  return T975[Math.max(1, Math.floor(df)) - 1] ?? 1.96;
}

const mean = (xs: readonly number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;

function variance(xs: readonly number[]): number {
  const m = mean(xs);
  return xs.reduce((a, x) => a + (x - m) ** 2, 0) / (xs.length - 1);
}

/** Log scores of measured runs, by trial key, for one slot. */
function logScores(runs: readonly SlotRun[], slot: number): Map<string, number[]> {
  const out = new Map<string, number[]>();
  for (const r of runs) {
    if (r.slot !== slot || r.kind !== 'measure' || r.score === null || !(r.score > 0)) continue;
    const list = out.get(r.configuration) ?? [];
    list.push(Math.log(r.score));
    out.set(r.configuration, list);
  }
  return out;
}

function factorOf(reference: Map<string, number[]>, here: Map<string, number[]>): SlotFactor | null {
  const pairs: [number[], number[]][] = [];
  for (const [key, xs] of here) {
    const ref = reference.get(key);
    if (ref !== undefined) pairs.push([xs, ref]);
  }
  const [first] = pairs;
  if (first === undefined) return null;
  const diffs = pairs.map(([xs, ref]) => mean(xs) - mean(ref));
  const d = mean(diffs);
  let half: number | null = null;
  if (pairs.length >= 2) {
    half = t975(pairs.length - 1) * Math.sqrt(variance(diffs) / pairs.length);
  } else {
    const [xs, ref] = first;
    if (xs.length >= 2 && ref.length >= 2) {
      const a = variance(xs) / xs.length;
      const b = variance(ref) / ref.length;
      const se2 = a + b;
      // Welch–Satterthwaite degrees of freedom; identical runs (se 0) give a zero-width interval.
      const df = se2 === 0 ? Infinity : se2 ** 2 / (a ** 2 / (xs.length - 1) + b ** 2 / (ref.length - 1));
      half = t975(df) * Math.sqrt(se2);
    }
  }
  return {
    estimate: Math.exp(d),
    low: half === null ? null : Math.exp(d - half),
    high: half === null ? null : Math.exp(d + half),
    shared: pairs.length,
  };
}

/**
 * The figures of `slots` slots from a session's completed runs (any order). Retirements are
 * rebuilt by booking the runs in step order, as the engine delivered them.
 */
export function slotFigures(runs: readonly SlotRun[], slots: number): SlotFigures[] {
  const health = new SlotHealth(slots);
  const retired = new Set<number>();
  for (const r of [...runs].sort((a, b) => a.step - b.step)) {
    if (r.slot >= slots) throw new RangeError(`a run on slot ${r.slot} in a session of ${slots} slot(s)`);
    const retirement = health.book(r.slot, r.trialKey, r.outcome);
    if (retirement !== null) retired.add(retirement.slot);
  }
  const reference = logScores(runs, 0);
  return Array.from({ length: slots }, (_, slot): SlotFigures => {
    const mine = runs.filter((r) => r.slot === slot);
    return {
      slot,
      runs: mine.length,
      failures: mine.filter((r) => r.outcome !== 'ok').length,
      factor: slot === 0 ? 'reference' : factorOf(reference, logScores(runs, slot)),
      retired: retired.has(slot),
    };
  });
}

/** One cell: `0.950 ± 0.012`, `0.950 (one run each)`, `1 (reference)` or `not estimable`. */
export function formatFactor(f: SlotFigures['factor']): string {
  if (f === 'reference') return '1 (reference)';
  if (f === null) return 'not estimable';
  const estimate = f.estimate.toFixed(3);
  if (f.low === null || f.high === null) return `${estimate} (one run each)`;
  // The interval is symmetric on the log scale; its larger side is what a reader needs.
  const half = Math.max(f.high - f.estimate, f.estimate - f.low);
  return `${estimate} ± ${half.toFixed(3)}`;
}
