/**
 * A sweep's grid as the report shows it: one row per point and configuration, in grid order,
 * with the figures of its measured run, the same rows and values as sweep.csv. Pure.
 */
import { METRICS, type Measurement } from '../tuner/metrics.js';
import { configurationOf } from '../tuner/sweep-results.js';
import type { RunKind, RunOutcome, TrialSpec } from '../tuner/types.js';

export interface GridRunInput {
  readonly trialKey: string;
  readonly kind: RunKind;
  readonly outcome: RunOutcome | 'running';
  readonly metrics: Measurement | null;
}

export interface GridRow {
  readonly trialKey: string;
  /** The workload point's key, e.g. `b8-i1024-o128`. */
  readonly point: string;
  /** `default`, or the engine configuration and operator set names joined by `_`. */
  readonly configuration: string;
  readonly outcome: RunOutcome | 'running' | 'not measured';
  /** The last finished measured run's metrics; null before it, or without a result. */
  readonly metrics: Measurement | null;
}

export interface GridView {
  /** The metrics any row reported, in the registry's order, with their units. */
  readonly columns: readonly { readonly name: string; readonly label: string; readonly unit: string }[];
  readonly rows: readonly GridRow[];
}

export function buildGrid(trials: readonly TrialSpec[], runs: readonly GridRunInput[]): GridView {
  const measured = new Map<string, GridRunInput>();
  const running = new Set<string>();
  for (const r of runs) {
    if (r.kind !== 'measure') continue;
    if (r.outcome === 'running') running.add(r.trialKey);
    else if (r.outcome !== 'interrupted') measured.set(r.trialKey, r);
  }
  const rows = trials.map((t): GridRow => {
    const run = measured.get(t.key);
    return {
      trialKey: t.key,
      point: t.round,
      configuration: configurationOf(t),
      outcome: run?.outcome ?? (running.has(t.key) ? 'running' : 'not measured'),
      metrics: run?.metrics ?? null,
    };
  });
  const seen = new Set(rows.flatMap((r) => Object.keys(r.metrics ?? {})));
  return { columns: METRICS.filter((m) => seen.has(m.name)).map((m) => ({ name: m.name, label: m.label, unit: m.unit })), rows };
}
