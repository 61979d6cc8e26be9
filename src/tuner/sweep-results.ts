/**
 * A sweep's results table (sweep.csv): one row per configuration of the grid, its workload
 * point, how its measured run ended and every metric it reported. A sweep chooses no operator
 * set, so this table is its result. Pure.
 */
import { METRICS } from './metrics.js';
import { meetsConstraints, type Objective } from './objective.js';
import type { ResultRun } from './results.js';
import type { TrialSpec } from './types.js';

export interface SweepResultsInput {
  readonly objective: Objective;
  /** In grid order. */
  readonly trials: readonly Pick<TrialSpec, 'key' | 'prefix' | 'round' | 'workload'>[];
  /** Finished, non-interrupted runs in the order they were observed. */
  readonly runs: readonly ResultRun[];
}

/** Python csv.writer's QUOTE_MINIMAL, as history.csv. */
export function csvField(field: string): string {
  return /[",\r\n]/.test(field) ? `"${field.replace(/"/g, '""')}"` : field;
}

/** The engine configuration and operator set of a trial, as its file prefix names them after the point. */
export function configurationOf(t: Pick<TrialSpec, 'prefix' | 'round'>): string {
  return t.prefix.startsWith(`${t.round}_`) ? t.prefix.slice(t.round.length + 1) : 'default';
}

/**
 * Columns: point, configuration, the workload's own keys (first seen first), outcome, the
 * metrics any row reported (in the registry's order), and `meets_constraints` when the
 * objective has constraints. Numbers at full precision; an empty field is no value.
 */
export function formatSweepCsv(input: SweepResultsInput): string {
  const measured = new Map<string, ResultRun>();
  for (const run of input.runs) if (run.kind === 'measure') measured.set(run.trialKey, run);
  const workloadKeys = [...new Set(input.trials.flatMap((t) => Object.keys(t.workload ?? {})))];
  const seen = new Set([...measured.values()].flatMap((r) => Object.keys(r.metrics ?? {})));
  const metrics = METRICS.map((m) => m.name).filter((name) => seen.has(name));
  const constrained = input.objective.constraints.length > 0;
  const header = ['point', 'configuration', ...workloadKeys, 'outcome', ...metrics, ...(constrained ? ['meets_constraints'] : [])];
  const rows = input.trials.map((t) => {
    const run = measured.get(t.key);
    const m = run?.metrics ?? null;
    const meets = run === undefined || run.outcome !== 'ok' ? '' : String(meetsConstraints(input.objective, m));
    return [
      t.round,
      configurationOf(t),
      ...workloadKeys.map((k) => String(t.workload?.[k] ?? '')),
      run === undefined ? 'not measured' : run.outcome,
      ...metrics.map((name) => (m?.[name] === undefined ? '' : String(m[name]))),
      ...(constrained ? [meets] : []),
    ];
  });
  return [header, ...rows].map((fields) => `${fields.map(csvField).join(',')}\r\n`).join('');
}
