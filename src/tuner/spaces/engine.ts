/**
 * The engine-parameter search space as data: axes over pass-through vLLM arguments grouped
 * into ordered tiers, the points they span, the trial of each point (its engine arguments go
 * into the benchmark argv), and the checks that reject a point before it runs. Pure.
 */
import type { KindInfo } from './kinds.js';
import type { TrialSpec } from '../types.js';

/** One value of an engine argument; null leaves the argument out (vLLM's default). */
export type EngineValue = string | number | boolean | null;

/** Argument name (long form, no dashes, `-` separated) to value. */
export type EnginePoint = Readonly<Record<string, EngineValue>>;

export interface Axis {
  readonly name: string;
  readonly values: readonly EngineValue[];
}

export interface Tier {
  readonly name: string;
  readonly axes: readonly Axis[];
  /** Arguments every point of this tier carries (a sweep file's scalar arguments). */
  readonly fixed: EnginePoint;
  /**
   * Independent tiers (a sweep file's experiments) start from their own fixed arguments;
   * the others start from the winners of the tiers before them.
   */
  readonly independent: boolean;
}

export type SearchMode = 'coordinate' | 'grid';

/** Failure classes `--retry-failures` names. */
export const FAILURE_CLASSES = ['oom', 'timeout', 'engine', 'exit', 'no-result'] as const;
export type FailureClass = (typeof FAILURE_CLASSES)[number];

/** What a point is checked against before it runs; null where it is unknown (the check is skipped). */
export interface EngineLimits {
  /** Attention heads of the model (config.json). */
  readonly numHeads: number | null;
  /** GPUs this session may use. */
  readonly gpus: number | null;
  /** The model's derived context length, when --max-model-len is not given. */
  readonly maxModelLen: number | null;
  /** Benchmark input and output lengths per request. */
  readonly inputLen: number | null;
  readonly outputLen: number | null;
}

export interface EngineSpace {
  readonly tiers: readonly Tier[];
  readonly search: SearchMode;
  /** Whether a last tier runs the operator search on the winning engine configuration. */
  readonly operators: boolean;
  readonly limits: EngineLimits;
  /** Engine arguments the user passes through (for the checks: an axis value replaces them). */
  readonly base: EnginePoint;
  /** Failure classes whose point is tried once more. */
  readonly retry: readonly FailureClass[];
}

/** Short names the sweep launcher and people use for vLLM's long ones. */
const ALIASES: Readonly<Record<string, string>> = {
  tp: 'tensor-parallel-size',
  pp: 'pipeline-parallel-size',
  dp: 'data-parallel-size',
  mns: 'max-num-seqs',
  mnbt: 'max-num-batched-tokens',
  gmu: 'gpu-memory-utilization',
  bs: 'block-size',
  kvc: 'kv-cache-dtype',
  spec: 'speculative-config',
  quant: 'quantization',
};

const ABBREVIATIONS: Readonly<Record<string, string>> = Object.fromEntries(Object.entries(ALIASES).map(([short, long]) => [long, short]));

/** `--max_num_seqs`, `mns`, `max-num-seqs` -> `max-num-seqs`. */
export function canonicalArg(name: string): string {
  const bare = name.replace(/^-+/, '').replace(/_/g, '-').toLowerCase();
  return ALIASES[bare] ?? bare;
}

/** `None`/`none`/`null` (how YAML sweep files write "no speculative decoding") is no argument. */
export function engineValue(value: unknown): EngineValue {
  if (value === null || value === undefined) return null;
  if (typeof value === 'string') return /^(none|null)$/i.test(value.trim()) ? null : value;
  if (typeof value === 'number' || typeof value === 'boolean') return value;
  return JSON.stringify(value);
}

/** Arguments whose memory use grows with their value: past an OOM at a value, larger ones fail too. */
export const MEMORY_MONOTONE: ReadonlySet<string> = new Set(['max-num-seqs', 'max-num-batched-tokens', 'gpu-memory-utilization']);

/** Numeric axes are searched in increasing order (their neighbours are meaningful); others as written. */
export function orderedValues(axis: Axis): EngineValue[] {
  return isNumeric(axis) ? [...axis.values].sort((a, b) => (a as number) - (b as number)) : [...axis.values];
}

/** Whether an axis's values are numbers, so that they have an order (and neighbours) to walk. */
export function isNumeric(axis: Axis): boolean {
  return axis.values.every((v) => typeof v === 'number');
}

/** Every combination of the axes' values over `start`, first axis slowest. */
export function cartesian(start: EnginePoint, axes: readonly Axis[]): EnginePoint[] {
  let points: EnginePoint[] = [{ ...start }];
  for (const axis of axes) {
    const values = orderedValues(axis);
    points = points.flatMap((p) => values.map((v) => ({ ...p, [axis.name]: v })));
  }
  return points;
}

/** Non-null values, by name: two points with the same ones are the same configuration. */
function present(point: EnginePoint): [string, Exclude<EngineValue, null>][] {
  return Object.entries(point)
    .filter((e): e is [string, Exclude<EngineValue, null>] => e[1] !== null)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
}

export const DEFAULT_ENGINE_KEY = 'engine:default';

export function pointKey(point: EnginePoint): string {
  const entries = present(point);
  return entries.length === 0 ? DEFAULT_ENGINE_KEY : `engine:${entries.map(([k, v]) => `${k}=${String(v)}`).join(',')}`;
}

/**
 * The point a key names, for showing a point that never ran (no trial holds its label). A value
 * may hold commas (a JSON speculative config): only `,name=` starts the next argument.
 */
export function pointOfKey(key: string): EnginePoint {
  if (key === DEFAULT_ENGINE_KEY || !key.startsWith('engine:')) return {};
  const out: Record<string, EngineValue> = {};
  for (const part of key.slice('engine:'.length).split(/,(?=[a-z0-9][a-z0-9-]*=)/)) {
    const eq = part.indexOf('=');
    if (eq > 0) out[part.slice(0, eq)] = part.slice(eq + 1);
  }
  return out;
}

/** A short readable form: `tp=2 mns=512 spec=ngram5`. */
export function describePoint(point: EnginePoint): string {
  const entries = present(point);
  if (entries.length === 0) return 'vLLM defaults';
  return entries.map(([k, v]) => `${ABBREVIATIONS[k] ?? k}=${shortValue(v)}`).join(' ');
}

/** A speculative config reads as its method and token count; other JSON and text as written. */
function shortValue(v: Exclude<EngineValue, null>): string {
  if (typeof v !== 'string' || !v.trim().startsWith('{')) return String(v);
  try {
    const parsed: unknown = JSON.parse(v);
    if (typeof parsed === 'object' && parsed !== null) {
      const o = parsed as Record<string, unknown>;
      const method = typeof o['method'] === 'string' ? o['method'] : typeof o['model'] === 'string' ? 'draft' : 'spec';
      const n = typeof o['num_speculative_tokens'] === 'number' ? String(o['num_speculative_tokens']) : '';
      return `${method}${n}`;
    }
  } catch {
    // Not JSON after all: shown as written.
  }
  return v;
}

/** 32-bit FNV-1a, as hex: keeps sanitised file names of different points apart. */
function hash(text: string): string {
  let h = 2166136261;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 16777619);
  return (h >>> 0).toString(16).padStart(8, '0');
}

function prefixOf(point: EnginePoint): string {
  const entries = present(point);
  if (entries.length === 0) return 'engine_default';
  const words = entries.map(([k, v]) => `${ABBREVIATIONS[k] ?? k}${shortValue(v)}`);
  const plain = words.join('_');
  const safe = plain.replace(/[^A-Za-z0-9_.-]/g, '-').slice(0, 80);
  // Sanitising or truncating could make two points share a name; a hash of the key keeps them apart.
  return `engine_${safe}${safe === plain ? '' : `_${hash(pointKey(point))}`}`;
}

/** The point as vLLM arguments: `--name value`, `--flag` for true, `--no-flag` for false, nothing for null. */
export function engineArgs(point: EnginePoint): string[] {
  return present(point).flatMap(([k, v]) => (v === true ? [`--${k}`] : v === false ? [`--no-${k}`] : [`--${k}`, String(v)]));
}

/** An engine study's trials: one engine-argument point each, its tier the stage. */
export const ENGINE_KIND: KindInfo = { kind: 'engine', role: 'configuration', anchor: false };

export function engineTrial(point: EnginePoint, tier: string, baseline: string | null): TrialSpec {
  const key = pointKey(point);
  return {
    key,
    prefix: prefixOf(point),
    kind: ENGINE_KIND.kind,
    round: tier,
    op: null,
    backend: null,
    attention: null,
    opBackends: {},
    env: {},
    extraArgs: engineArgs(point),
    config: {},
    recordOplist: false,
    ...(baseline === null || baseline === key ? {} : { baseline }),
    label: describePoint(point),
  };
}

function numberOf(point: EnginePoint, name: string): number | null {
  const v = point[name];
  if (typeof v === 'number') return v;
  if (typeof v === 'string' && /^\s*\d+(\.\d+)?\s*$/.test(v)) return Number(v);
  return null;
}

/** GPUs a configuration occupies: tp x pp x dp. */
export function gpusOf(point: EnginePoint): number {
  const f = (name: string): number => numberOf(point, name) ?? 1;
  return f('tensor-parallel-size') * f('pipeline-parallel-size') * f('data-parallel-size');
}

/** Whether chunked prefill is off: only when the arguments say so (vLLM's V1 engine enables it by default). */
function chunkedPrefillOff(point: EnginePoint): boolean {
  const v = point['enable-chunked-prefill'];
  return v === false || (typeof v === 'string' && /^(false|0)$/i.test(v));
}

/**
 * Why a point cannot run, checked before it does; null when nothing is known against it.
 * `point` is the whole configuration (pass-through engine arguments with the point on top).
 */
export function rejectReason(point: EnginePoint, limits: EngineLimits): string | null {
  const tp = numberOf(point, 'tensor-parallel-size') ?? 1;
  if (limits.numHeads !== null && limits.numHeads % tp !== 0) {
    return `tensor-parallel-size ${tp} does not divide the model's ${limits.numHeads} attention heads`;
  }
  const gpus = gpusOf(point);
  if (limits.gpus !== null && gpus > limits.gpus) return `needs ${gpus} GPUs (tp x pp x dp), ${limits.gpus} visible`;
  const maxLen = numberOf(point, 'max-model-len') ?? limits.maxModelLen;
  const batched = numberOf(point, 'max-num-batched-tokens');
  if (maxLen !== null && batched !== null && batched < maxLen && chunkedPrefillOff(point)) {
    return `max-num-batched-tokens ${batched} is below max-model-len ${maxLen} without chunked prefill`;
  }
  // vLLM's scheduler config refuses a step that cannot hold one token of every sequence.
  const seqs = numberOf(point, 'max-num-seqs');
  if (batched !== null && seqs !== null && batched < seqs) return `max-num-batched-tokens ${batched} is below max-num-seqs ${seqs}`;
  if (maxLen !== null && limits.inputLen !== null && limits.outputLen !== null && limits.inputLen + limits.outputLen > maxLen) {
    return `input ${limits.inputLen} + output ${limits.outputLen} tokens exceed max-model-len ${maxLen}`;
  }
  return null;
}

/**
 * A point that ran out of memory. On the device (a CUDA OOM) every memory-monotone argument
 * only makes it worse; for the KV cache (no room for one request) gpu-memory-utilization is the
 * cure, not the cause: a larger value gives the cache more room.
 */
export interface MemoryCeiling {
  readonly point: EnginePoint;
  readonly kvCache: boolean;
}

/**
 * Whether `point` fails as `ceiling` did: the same on every other argument, no smaller on the
 * memory-monotone ones (no larger on gpu-memory-utilization after a KV-cache shortage). Both
 * are whole configurations (the pass-through arguments with the point on top).
 */
export function pastCeiling(point: EnginePoint, ceiling: MemoryCeiling): boolean {
  const failed = ceiling.point;
  const names = new Set([...Object.keys(point), ...Object.keys(failed)]);
  for (const name of names) {
    const a = settingOf(point, name);
    const b = settingOf(failed, name);
    if (MEMORY_MONOTONE.has(name) && typeof a === 'number' && typeof b === 'number') {
      const roomier = ceiling.kvCache && name === 'gpu-memory-utilization' ? a > b : a < b;
      if (roomier) return false;
    } else if (a !== b) {
      return false;
    }
  }
  return true;
}

/** An argument's value in a whole configuration: an absent one with a fixed default has that default. */
function settingOf(point: EnginePoint, name: string): EngineValue {
  const own = point[name];
  if (own !== undefined && own !== null) return own;
  return FIXED_DEFAULTS.has(name) ? (VLLM_DEFAULTS[name] ?? null) : null;
}

/** vLLM's defaults for the arguments people sweep; a tier's start takes them where an axis offers them. */
export const VLLM_DEFAULTS: EnginePoint = {
  'tensor-parallel-size': 1,
  'pipeline-parallel-size': 1,
  'data-parallel-size': 1,
  'max-num-seqs': 256,
  'max-num-batched-tokens': 8192,
  'gpu-memory-utilization': 0.9,
  'block-size': 16,
  'kv-cache-dtype': 'auto',
  'speculative-config': null,
  quantization: null,
};

/**
 * Defaults that do not depend on the vLLM version or the machine: leaving the argument out is
 * the same configuration. (max-num-seqs and max-num-batched-tokens do depend on them.)
 */
const FIXED_DEFAULTS: ReadonlySet<string> = new Set([
  'tensor-parallel-size',
  'pipeline-parallel-size',
  'data-parallel-size',
  'gpu-memory-utilization',
  'kv-cache-dtype',
  'speculative-config',
  'quantization',
]);

/** The value an axis stands at in `point`: its own, else the fixed default an absent argument means. */
export function valueIn(axis: Axis, point: EnginePoint): EngineValue {
  return settingOf(point, axis.name);
}

/**
 * The point without the arguments that restate a fixed default the pass-through arguments do
 * not change: `--tensor-parallel-size 1` is vLLM's default, so both are one configuration.
 */
export function canonicalPoint(point: EnginePoint, base: EnginePoint): EnginePoint {
  const out: Record<string, EngineValue> = {};
  for (const [name, value] of Object.entries(point)) {
    if (FIXED_DEFAULTS.has(name) && base[name] === undefined && (value === null || value === VLLM_DEFAULTS[name])) continue;
    out[name] = value;
  }
  return out;
}

/**
 * Where a tier's search starts on an axis: the value in force before it (an earlier winner
 * or the pass-through argument), else vLLM's default when the axis offers it, else its first.
 */
export function startValue(axis: Axis, before: EnginePoint): EngineValue {
  const values = orderedValues(axis);
  const current = before[axis.name];
  if (current !== undefined && values.includes(current)) return current;
  const fallback = VLLM_DEFAULTS[axis.name];
  if (fallback !== undefined && values.includes(fallback)) return fallback;
  return values[0] ?? null;
}

/** Invocations the exhaustive sweep of every tier would take (each tier from the same start), for comparison. */
export function gridSize(space: EngineSpace): number {
  return space.tiers.reduce((n, t) => n + t.axes.reduce((m, a) => m * Math.max(1, a.values.length), 1), 0);
}
