/**
 * The report's view of a session's search space as axes: each trial is a point whose
 * coordinates are its workload values (batch size, lengths, concurrency...) and its engine
 * arguments (`--max-num-seqs 64`), whatever kind of session made it (a latency grid, an
 * engine-parameter search, a serving sweep). An axis is a coordinate that varies across the
 * trials and is not implied by the axes before it (a latency grid's `flops` follows from batch
 * and lengths), so each kind of session gets its charts without a case of its own. Pure.
 */
import { costOf, type Cost } from '../tuner/cost.js';
import { CUDA_GRAPH_CAPTURE_S, CUDA_GRAPH_MEMORY_GIB, KV_CACHE_GIB, KV_CACHE_TOKENS, MAX_CONCURRENCY, MODEL_MEMORY_GIB, OUTPUT_TOKENS_PER_S } from '../tuner/metrics.js';
import type { Measurement } from '../tuner/metrics.js';
import type { TrialSpec } from '../tuner/types.js';
import { gpusPerRun } from './gpus.js';

export type Coordinate = string | number;

export interface Axis {
  /** A workload key (`batch_size`) or an engine flag (`--max-num-seqs`). */
  readonly name: string;
  readonly label: string;
  readonly source: 'workload' | 'engine';
  /** Every value is a positive number: drawn to scale (logarithmic when they span 8x or more). */
  readonly numeric: boolean;
  readonly log: boolean;
  /** Distinct values in ascending (numeric) or first-seen order. */
  readonly values: readonly Coordinate[];
}

export interface AxisPoint {
  readonly trialKey: string;
  readonly label: string;
  /** The point's value on every axis. */
  readonly coords: Readonly<Record<string, Coordinate>>;
  /** Trials with the same values on all axes but one share a line on that axis' chart. */
  readonly variant: number;
  /** The objective's metric of the trial (its value as history.csv and export compute it); null without a result. */
  readonly value: number | null;
  readonly outputTokensPerSec: number | null;
  /** Requests in flight: the workload's batch size or concurrency; null when it has neither. */
  readonly concurrency: number | null;
  /** tensor x pipeline x data parallel size of the trial's engine arguments. */
  readonly gpus: number;
  /** Output tokens/s each request (user) sees: output tokens/s / concurrency. */
  readonly perUser: number | null;
  /** Output tokens/s / GPUs. */
  readonly perGpu: number | null;
  /** GPU-days and GPUs per 1B output tokens (src/tuner/cost.ts); null without output tokens/s. */
  readonly cost: Cost | null;
  /** The engine's start-up memory figures the trial's runs reported (MEMORY_METRICS). */
  readonly memory: Readonly<Record<string, number>>;
  readonly runs: number;
}

/** The memory figures a point shows, in the report's column order. */
export const MEMORY_METRICS = [MODEL_MEMORY_GIB, KV_CACHE_GIB, KV_CACHE_TOKENS, MAX_CONCURRENCY, CUDA_GRAPH_CAPTURE_S, CUDA_GRAPH_MEMORY_GIB] as const;

export interface AxesView {
  readonly axes: readonly Axis[];
  readonly points: readonly AxisPoint[];
  /** Trial keys on the Pareto front of per-user vs per-GPU tokens/s (both maximised), by per-user rate; null when no point has both. */
  readonly paretoFront: readonly string[] | null;
}

/** Workload keys that count requests in flight, in the order they are looked for. */
const CONCURRENCY_KEYS = ['batch_size', 'concurrency', 'max_concurrency'] as const;

/** A value an engine flag has when a trial does not give it. */
export const ENGINE_DEFAULT = 'default';

/** `--flag value` and `--flag=value` pairs; a flag followed by another flag (or nothing) is a switch, `on`. */
export function engineCoordinates(args: readonly string[]): Record<string, Coordinate> {
  const out: Record<string, Coordinate> = {};
  for (let i = 0; i < args.length; i++) {
    const arg = args[i] as string;
    if (!arg.startsWith('-')) continue;
    const eq = arg.indexOf('=');
    const raw = eq === -1 ? arg : arg.slice(0, eq);
    const name = raw.startsWith('--') ? raw.replace(/_/g, '-') : raw;
    const next = args[i + 1];
    let value: string;
    if (eq !== -1) value = arg.slice(eq + 1);
    else if (next !== undefined && !(next.startsWith('-') && Number.isNaN(Number(next)))) {
      value = next;
      i++;
    } else value = 'on';
    out[name] = value.trim() !== '' && Number.isFinite(Number(value)) ? Number(value) : value;
  }
  return out;
}

function labelOf(name: string, source: Axis['source']): string {
  return source === 'engine' ? name : name.replace(/_/g, ' ');
}

/** Whether `key`'s value follows from the values of `axes` over these points. */
function determined(points: readonly Readonly<Record<string, Coordinate>>[], key: string, axes: readonly string[]): boolean {
  const seen = new Map<string, Coordinate | undefined>();
  for (const p of points) {
    const at = JSON.stringify(axes.map((a) => p[a] ?? null));
    if (!seen.has(at)) seen.set(at, p[key]);
    else if (seen.get(at) !== p[key]) return false;
  }
  return true;
}

function axisOf(name: string, source: Axis['source'], values: readonly Coordinate[]): Axis {
  const distinct = [...new Set(values)];
  const numeric = distinct.every((v) => typeof v === 'number' && v > 0);
  const nums = numeric ? (distinct as number[]).sort((a, b) => a - b) : [];
  const log = numeric && nums.length > 2 && (nums.at(-1) as number) / (nums[0] as number) >= 8;
  return { name, label: labelOf(name, source), source, numeric, log, values: numeric ? nums : distinct };
}

export interface AxesTrial {
  readonly spec: TrialSpec;
  /** The trial's value (trialValue of its finished runs). */
  readonly value: Measurement | null;
  readonly runs: number;
}

/**
 * The axes and points of the trials that carry a workload point or engine arguments; null
 * when fewer than two such trials exist or none of their coordinates varies.
 */
export function buildAxes(trials: readonly AxesTrial[], sessionArgs: readonly string[], metric: string): AxesView | null {
  const placed = trials.filter((t) => t.spec.workload !== undefined || t.spec.extraArgs.length > 0);
  if (placed.length < 2) return null;
  const sources = new Map<string, Axis['source']>();
  const raw = placed.map((t) => {
    const coords: Record<string, Coordinate> = {};
    for (const [k, v] of Object.entries(t.spec.workload ?? {})) {
      coords[k] = v;
      if (!sources.has(k)) sources.set(k, 'workload');
    }
    for (const [k, v] of Object.entries(engineCoordinates(t.spec.extraArgs))) {
      if (sources.get(k) === 'workload') continue;
      coords[k] = v;
      sources.set(k, 'engine');
    }
    return coords;
  });
  // An engine flag a trial leaves out has vLLM's default there.
  for (const coords of raw) for (const [k, s] of sources) if (s === 'engine' && coords[k] === undefined) coords[k] = ENGINE_DEFAULT;
  const chosen: string[] = [];
  for (const key of sources.keys()) {
    const values = new Set(raw.map((c) => c[key]));
    if (values.size > 1 && !determined(raw, key, chosen)) chosen.push(key);
  }
  if (chosen.length === 0) return null;
  const axes = chosen.map((k) => axisOf(k, sources.get(k) ?? 'workload', raw.flatMap((c) => (c[k] === undefined ? [] : [c[k]]))));
  const seenAt = new Map<string, number>();
  const points = placed.map((t, i): AxisPoint => {
    const all = raw[i] ?? {};
    const coords = Object.fromEntries(chosen.flatMap((k) => (all[k] === undefined ? [] : [[k, all[k]]])));
    const at = JSON.stringify(chosen.map((k) => coords[k] ?? null));
    const variant = seenAt.get(at) ?? 0;
    seenAt.set(at, variant + 1);
    const workload = t.spec.workload ?? {};
    const concurrencyKey = CONCURRENCY_KEYS.find((k) => typeof workload[k] === 'number' && (workload[k] as number) > 0);
    const concurrency = concurrencyKey === undefined ? null : (workload[concurrencyKey] as number);
    const gpus = gpusPerRun([...sessionArgs, ...t.spec.extraArgs]);
    const output = t.value?.[OUTPUT_TOKENS_PER_S] ?? null;
    return {
      trialKey: t.spec.key,
      label: t.spec.label ?? t.spec.key,
      coords,
      variant,
      value: t.value?.[metric] ?? null,
      outputTokensPerSec: output,
      concurrency,
      gpus,
      perUser: output === null || concurrency === null ? null : output / concurrency,
      perGpu: output === null ? null : output / gpus,
      cost: costOf(output, gpus),
      memory: Object.fromEntries(MEMORY_METRICS.flatMap((name) => (t.value?.[name] === undefined ? [] : [[name, t.value[name]]]))),
      runs: t.runs,
    };
  });
  return { axes, points, paretoFront: paretoFront(points) };
}

/** Points no other point beats on both rates (ties kept), ordered by per-user rate. */
export function paretoFront(points: readonly AxisPoint[]): string[] | null {
  const both = points.filter((p): p is AxisPoint & { perUser: number; perGpu: number } => p.perUser !== null && p.perGpu !== null);
  if (both.length === 0) return null;
  return both
    .filter((p) => !both.some((q) => q.perUser >= p.perUser && q.perGpu >= p.perGpu && (q.perUser > p.perUser || q.perGpu > p.perGpu)))
    .sort((a, b) => a.perUser - b.perUser)
    .map((p) => p.trialKey);
}
