/**
 * A session's report as a view model: everything the HTML shows, computed from the stored
 * session, trials, runs, decisions and hardware. Pure; every number is the database's or
 * derived from it the way history.csv derives it (trialValue), so the report matches
 * `export --json` and history.csv.
 */
import { posix } from 'node:path';
import type { Decision, FinalResult } from '../tuner/policy.js';
import type { HardwareInfo } from '../tuner/hardware.js';
import { onSlotZeroScale, trialValue, type ResultRun } from '../tuner/results.js';
import { metricInfo, OUTPUT_TOKENS_PER_S, REQUESTS_PER_S, TOTAL_TOKENS_PER_S, type Direction, type Measurement } from '../tuner/metrics.js';
import type { Backend, PolicyName, RunKind, RunOutcome, TrialSpec } from '../tuner/types.js';
import { buildAxes, type AxesView } from './axes.js';
import { buildGrid, type GridView } from './grid.js';
import { kindInfo, type TrialRole } from '../tuner/spaces/kinds.js';
import { attentionOfKey } from '../tuner/spaces/operators.js';
import { gpuHours, gpusPerRun } from './gpus.js';
import { slotRows, type SlotRow } from './slots.js';

export interface ReportSession {
  readonly id: string;
  readonly state: string;
  readonly policy: PolicyName;
  readonly model: string | null;
  readonly args: readonly string[];
  readonly options: Readonly<Record<string, unknown>>;
  readonly runDir: string;
  readonly createdAt: number;
  readonly updatedAt: number;
  readonly error: string | null;
  readonly ops: Readonly<Record<string, readonly Backend[]>> | null;
  readonly final: FinalResult | null;
}

export interface ReportRun {
  readonly seq: number;
  /** The policy step it answered (the order runs were delivered in). */
  readonly step: number;
  /** The slot it ran on; null for runs stored before slots were. */
  readonly slot: number | null;
  readonly trialKey: string;
  readonly kind: RunKind;
  readonly warmupIndex: number | null;
  readonly outcome: RunOutcome | 'running';
  /** Named metrics (src/tuner/metrics.ts); null when the run produced no result. */
  readonly metrics: Measurement | null;
  readonly durationMs: number | null;
  readonly startedAt: number;
  readonly endedAt: number | null;
  /** Absolute. */
  readonly logPath: string;
  readonly failure: string | null;
}

export interface ReportInput {
  readonly session: ReportSession;
  readonly hardware: HardwareInfo | null;
  readonly trials: readonly TrialSpec[];
  readonly runs: readonly ReportRun[];
  readonly decisions: readonly Decision[];
  /** Invocations the session plans at most (budget or policy default), when known. */
  readonly plannedInvocations: number | null;
  /** Directory the report file is written to: log links are relative to it. */
  readonly outDir: string;
  readonly generatedAt: number;
}

export type EffectSource = 'decision' | 'runs';

export interface EffectRow {
  readonly trialKey: string;
  readonly label: string;
  readonly op: string;
  readonly backend: string;
  /** Relative change vs baseline (0.012 = +1.2%); null when the trial produced no result. */
  readonly estimate: number | null;
  readonly low: number | null;
  readonly high: number | null;
  readonly runs: number;
  readonly verdict: Decision['verdict'] | null;
  /** Whether the operator is in the final choice on this backend. */
  readonly chosen: boolean;
  /** Where the estimate comes from: the policy's stored decision, or the trial's value vs baseline's (history.csv). */
  readonly source: EffectSource;
}

export type TimelineRole = TrialRole;

export interface TimelinePoint {
  readonly seq: number;
  /** Seconds since the session started. */
  readonly atSec: number;
  readonly durationSec: number | null;
  readonly value: number | null;
  readonly role: TimelineRole;
  readonly kind: RunKind;
  readonly outcome: RunOutcome | 'running';
  readonly label: string;
  /** Took more than twice the median successful run. */
  readonly slow: boolean;
}

export interface FailureRow {
  readonly seq: number;
  readonly label: string;
  readonly outcome: string;
  readonly cause: string;
  /** Relative to the report's directory, '/'-separated. */
  readonly logHref: string;
}

export interface ReportModel {
  readonly title: string;
  readonly generatedAt: string;
  readonly session: {
    readonly id: string;
    readonly state: string;
    readonly policy: PolicyName;
    readonly model: string | null;
    readonly args: readonly string[];
    readonly options: readonly (readonly [string, string])[];
    readonly runDir: string;
    readonly startedAt: string;
    readonly lastUpdateAt: string;
    readonly durationSec: number;
    readonly error: string | null;
  };
  /** The objective's metric: what the timeline, the effects and the axis charts show. */
  readonly metric: { readonly name: string; readonly label: string; readonly direction: Direction };
  readonly hardware: HardwareInfo | null;
  readonly totals: {
    readonly invocations: number;
    readonly ok: number;
    readonly failed: number;
    readonly interrupted: number;
    readonly warmups: number;
    /** The most GPUs a run occupies; `gpusVary`: some runs occupy fewer (an engine study over parallelism). */
    readonly gpusPerRun: number;
    readonly gpusVary: boolean;
    readonly gpuHours: number;
    readonly plannedInvocations: number | null;
    readonly plannedGpuHours: number | null;
  };
  readonly failuresByClass: Readonly<Record<string, number>>;
  readonly baseline: {
    readonly value: number | null;
    readonly runs: number;
    /** Relative standard deviation of the baseline's successful measured runs (null under 2 runs). */
    readonly relativeSd: number | null;
  };
  readonly effects: readonly EffectRow[];
  readonly choice: FinalResult | null;
  readonly decisions: readonly Decision[];
  readonly timeline: readonly TimelinePoint[];
  readonly failures: readonly FailureRow[];
  /** For sessions over workload or engine points (grids, sweeps): the metric against each axis, and the Pareto data. */
  readonly axes: AxesView | null;
  /** A sweep's (policy sweep) results: every point and configuration with its figures; null for a tuning session. */
  readonly grid: GridView | null;
  /** Per-slot figures of a session on several slots (slots.ts); null with one slot. */
  readonly slots: readonly SlotRow[] | null;
}

/** `--autotune-metric` shorthands of sessions stored before the objective was. */
const SHORTHAND_METRICS: Readonly<Record<string, string>> = { total: TOTAL_TOKENS_PER_S, output: OUTPUT_TOKENS_PER_S, requests: REQUESTS_PER_S };

/** The stored objective's metric and direction, else the metric shorthand's. */
function metricOf(options: Readonly<Record<string, unknown>>): ReportModel['metric'] {
  const objective = options['objective'];
  const stored = typeof objective === 'object' && objective !== null ? (objective as Record<string, unknown>) : {};
  const shorthand = typeof options['metric'] === 'string' ? SHORTHAND_METRICS[options['metric']] : undefined;
  const name = typeof stored['metric'] === 'string' ? stored['metric'] : shorthand ?? TOTAL_TOKENS_PER_S;
  const info = metricInfo(name);
  const direction = stored['direction'] === 'minimize' || stored['direction'] === 'maximize' ? stored['direction'] : info?.direction ?? 'maximize';
  return { name, label: info === undefined ? name : `${info.label}${info.unit === 'tokens/s' || info.unit === 'requests/s' || info.unit === 'ratio' || info.unit === 'tokens' ? '' : ` (${info.unit})`}`, direction };
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
}

function optionText(value: unknown): string {
  return typeof value === 'string' ? value : JSON.stringify(value) ?? 'null';
}

function median(values: readonly number[]): number | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

function relativeSd(values: readonly number[]): number | null {
  if (values.length < 2) return null;
  const mean = values.reduce((s, v) => s + v, 0) / values.length;
  const variance = values.reduce((s, v) => s + (v - mean) ** 2, 0) / (values.length - 1);
  return mean > 0 ? Math.sqrt(variance) / mean : null;
}

export function trialLabel(trial: TrialSpec | undefined, fallback: string): string {
  if (trial === undefined) return fallback;
  // A trial of one operator is named by it, whatever space made it.
  if (trial.op !== null) return `${trial.op} (${trial.backend ?? '?'}${trial.attention === null ? '' : `, ${trial.attention}`})`;
  return trial.prefix;
}

const finished = (r: ReportRun): boolean => r.outcome !== 'running' && r.outcome !== 'interrupted';

function metricValue(m: Measurement | null, metric: string): number | null {
  return m?.[metric] ?? null;
}

/** Finished runs as results.ts takes them. */
function resultRuns(runs: readonly ReportRun[]): ResultRun[] {
  return runs.flatMap((r) => (r.outcome === 'running' || r.outcome === 'interrupted' ? [] : [{ trialKey: r.trialKey, kind: r.kind, outcome: r.outcome, metrics: r.metrics }]));
}
const succeeded = (r: ReportRun): boolean => r.outcome === 'ok' && r.metrics !== null;

function effectRows(input: ReportInput, runs: readonly ReportRun[], metric: string, baseline: number | null): EffectRow[] {
  const { session, trials, decisions } = input;
  const byTrial = new Map<string, ReportRun[]>();
  for (const r of runs.filter(finished)) byTrial.set(r.trialKey, [...(byTrial.get(r.trialKey) ?? []), r]);
  const decisionOf = new Map(decisions.map((d) => [d.subject, d]));
  const chosen = session.final?.opBackends ?? {};
  const chosenAttention = session.final?.attention ?? null;
  const measured = trials.filter((t) => t.op !== null && (byTrial.get(t.key)?.length ?? 0) > 0);
  const keys = new Set(measured.map((t) => t.key));
  // The screening policy estimates operators it never ran alone: their decisions are rows too.
  const estimatedOnly = decisions.flatMap((d): EffectRow[] => {
    if (keys.has(d.subject) || d.op === null || d.backend === null || d.estimate === null) return [];
    const attention = attentionOfKey(d.subject, d.op, d.backend);
    if (attention === undefined) return [];
    const isChosen = chosen[d.op] === d.backend && (attention === null || attention === chosenAttention);
    const label = `${d.op} (${d.backend}${attention === null ? '' : `, ${attention}`})`;
    return [{ trialKey: d.subject, label, op: d.op, backend: d.backend, estimate: d.estimate, low: d.low, high: d.high, runs: d.runs, verdict: d.verdict, chosen: isChosen, source: 'decision' as const }];
  });
  return measured
    .map((t): EffectRow => {
      const trialRuns = byTrial.get(t.key) ?? [];
      const op = t.op ?? '';
      const backend = t.backend ?? '';
      const decision = decisionOf.get(t.key);
      const isChosen = chosen[op] === t.backend && (t.attention === null || t.attention === chosenAttention);
      if (decision !== undefined && decision.estimate !== null) {
        return { trialKey: t.key, label: trialLabel(t, t.key), op, backend, estimate: decision.estimate, low: decision.low, high: decision.high, runs: decision.runs, verdict: decision.verdict, chosen: isChosen, source: 'decision' as const };
      }
      const value = metricValue(trialValue(session.policy, resultRuns(trialRuns)), metric);
      const estimate = value !== null && baseline !== null && baseline > 0 ? value / baseline - 1 : null;
      return {
        trialKey: t.key,
        label: trialLabel(t, t.key),
        op,
        backend,
        estimate,
        low: null,
        high: null,
        runs: trialRuns.length,
        verdict: decision?.verdict ?? (session.policy === 'reference' ? decisionOf.get(op)?.verdict ?? null : null),
        chosen: isChosen,
        source: 'runs' as const,
      };
    })
    .concat(estimatedOnly);
}

/** The report's view model; `outDir` decides the log links. */
export function buildReport(input: ReportInput): ReportModel {
  const { session, runs, trials } = input;
  const metricView = metricOf(session.options);
  const metric = metricView.name;
  const trialByKey = new Map(trials.map((t) => [t.key, t]));
  const baselineKeys = new Set(trials.filter((t) => kindInfo(t.kind).anchor).map((t) => t.key));
  // Values as the policy judged them: a reference session on several slots per slot's baseline.
  const valueRuns = onSlotZeroScale({ policy: session.policy, trials, runs });
  const baselineRuns = valueRuns.filter((r) => baselineKeys.has(r.trialKey) && finished(r));
  const baselineValue = metricValue(trialValue(session.policy, resultRuns(baselineRuns)), metric);
  const baselineMeasured = baselineRuns
    .filter((r) => succeeded(r) && r.kind === 'measure')
    .map((r) => metricValue(r.metrics, metric))
    .filter((v): v is number => v !== null);

  // A run occupies the GPUs of its own arguments: an engine study's points differ in parallelism.
  const gpusOf = (trialKey: string): number => gpusPerRun([...session.args, ...(trialByKey.get(trialKey)?.extraArgs ?? [])]);
  const gpus = Math.max(gpusPerRun(session.args), ...trials.map((t) => gpusOf(t.key)));
  const gpusVary = trials.some((t) => gpusOf(t.key) !== gpus);
  const done = runs.filter((r) => r.outcome !== 'running');
  const spentMs = done.reduce((s, r) => s + (r.durationMs ?? 0), 0);
  const spentGpuHours = done.reduce((s, r) => s + gpuHours(r.durationMs ?? 0, gpusOf(r.trialKey)), 0);
  const okRuns = runs.filter((r) => r.outcome === 'ok');
  const meanMs = done.length === 0 ? null : spentMs / done.length;
  const failuresByClass: Record<string, number> = {};
  for (const r of runs.filter((x) => finished(x) && x.outcome !== 'ok')) failuresByClass[r.outcome] = (failuresByClass[r.outcome] ?? 0) + 1;

  const okDurations = okRuns.map((r) => r.durationMs).filter((d): d is number => d !== null);
  const medianMs = median(okDurations);
  const lastAt = Math.max(session.updatedAt, ...done.map((r) => r.endedAt ?? r.startedAt));
  const timeline = runs.map((r) => {
    const trial = trialByKey.get(r.trialKey);
    return {
      seq: r.seq,
      atSec: (r.startedAt - session.createdAt) / 1000,
      durationSec: r.durationMs === null ? null : r.durationMs / 1000,
      value: succeeded(r) ? metricValue(r.metrics, metric) : null,
      role: kindInfo(trial?.kind).role,
      kind: r.kind,
      outcome: r.outcome,
      label: trialLabel(trial, r.trialKey),
      slow: medianMs !== null && r.durationMs !== null && r.outcome === 'ok' && r.durationMs > 2 * medianMs,
    };
  });
  const failures = runs
    .filter((r) => r.outcome !== 'ok' && r.outcome !== 'running')
    .map((r) => ({
      seq: r.seq,
      label: trialLabel(trialByKey.get(r.trialKey), r.trialKey),
      outcome: r.outcome,
      cause: r.failure ?? r.outcome,
      logHref: posix.relative(toPosix(input.outDir), toPosix(r.logPath)),
    }));

  return {
    title: `autotune report: ${session.model ?? session.id}`,
    generatedAt: iso(input.generatedAt),
    session: {
      id: session.id,
      state: session.state,
      policy: session.policy,
      model: session.model,
      args: session.args,
      options: Object.entries(session.options).map(([k, v]) => [k, k === 'trials' && Array.isArray(v) ? `${v.length} (see the search space)` : optionText(v)] as const),
      runDir: session.runDir,
      startedAt: iso(session.createdAt),
      lastUpdateAt: iso(lastAt),
      durationSec: Math.max(0, (lastAt - session.createdAt) / 1000),
      error: session.error,
    },
    metric: metricView,
    hardware: input.hardware,
    totals: {
      invocations: done.length,
      ok: okRuns.length,
      failed: runs.filter((r) => finished(r) && r.outcome !== 'ok').length,
      interrupted: runs.filter((r) => r.outcome === 'interrupted').length,
      warmups: done.filter((r) => r.kind === 'warmup').length,
      gpusPerRun: gpus,
      gpusVary,
      gpuHours: spentGpuHours,
      plannedInvocations: input.plannedInvocations,
      plannedGpuHours: input.plannedInvocations === null || meanMs === null ? null : gpuHours(input.plannedInvocations * meanMs, gpus),
    },
    failuresByClass,
    baseline: { value: baselineValue, runs: baselineMeasured.length, relativeSd: relativeSd(baselineMeasured) },
    effects: effectRows(input, valueRuns, metric, baselineValue),
    choice: session.final,
    decisions: input.decisions,
    timeline,
    failures,
    axes: buildAxes(
      trials.map((t) => {
        const trialRuns = valueRuns.filter((r) => r.trialKey === t.key && finished(r));
        return { spec: t, value: trialValue(session.policy, resultRuns(trialRuns)), runs: trialRuns.length };
      }),
      session.args,
      metric,
    ),
    grid: session.policy === 'sweep' ? buildGrid(trials, runs) : null,
    slots: slotRows(session, runs),
  };
}

function toPosix(path: string): string {
  return path.replace(/\\/g, '/');
}
