/**
 * What a study optimises: one named metric, its direction, and constraints every accepted
 * trial must meet (e.g. `tpot_mean_ms <= 50`). Policies score runs only through `score`, so a
 * policy written for throughput optimises a latency or an SLO-bound objective unchanged.
 * The one objective model: the command line, job files and stored sessions all spell into it.
 */
import { AutotuneError } from '../errors.js';
import { isMetricName, metricInfo, OUTPUT_TOKENS_PER_S, REQUESTS_PER_S, TOTAL_TOKENS_PER_S, type Direction, type Measurement } from './metrics.js';
import type { Metric, Observation } from './types.js';

export type Comparator = '<=' | '<' | '>=' | '>';

export interface Constraint {
  readonly metric: string;
  readonly op: Comparator;
  readonly value: number;
}

export interface Objective {
  readonly metric: string;
  readonly direction: Direction;
  readonly constraints: readonly Constraint[];
}

/** `--autotune-metric` shorthands of release 0.1.0, and the metrics they stand for. */
export const METRIC_SHORTHANDS: Readonly<Record<Metric, string>> = {
  total: TOTAL_TOKENS_PER_S,
  output: OUTPUT_TOKENS_PER_S,
  requests: REQUESTS_PER_S,
};

const SHORTHAND_NAMES: readonly Metric[] = ['total', 'output', 'requests'];
const isShorthand = (name: string): name is Metric => (SHORTHAND_NAMES as readonly string[]).includes(name);

/** A shorthand's metric name; any other name unchanged (known or not). */
export function fullMetricName(name: string): string {
  return isShorthand(name) ? METRIC_SHORTHANDS[name] : name;
}

/** A metric name or shorthand to its registered name; throws E_USAGE for an unknown one. */
export function resolveMetric(name: string): string {
  const resolved = fullMetricName(name);
  if (!isMetricName(resolved)) throw new AutotuneError('E_USAGE', `unknown metric '${name}' (known: ${Object.keys(METRIC_SHORTHANDS).join(', ')} or a metric name; see README)`);
  return resolved;
}

/** The registry's direction: rates, capacities and MFU bigger, times and memory smaller. */
export function defaultDirection(metric: string): Direction {
  return metricInfo(metric)?.direction ?? 'maximize';
}

export function objectiveFor(metric: string, constraints: readonly Constraint[] = [], direction?: Direction): Objective {
  const name = resolveMetric(metric);
  return { metric: name, direction: direction ?? defaultDirection(name), constraints };
}

/** What `--autotune-metric M` means: maximise that throughput, nothing constrained. */
export function metricObjective(metric: Metric): Objective {
  return { metric: METRIC_SHORTHANDS[metric], direction: 'maximize', constraints: [] };
}

/** The `--autotune-metric` an objective can be written as, when it is one of the throughput maxima. */
export function shorthandOf(o: Objective): Metric | null {
  if (o.direction !== 'maximize') return null;
  return SHORTHAND_NAMES.find((k) => METRIC_SHORTHANDS[k] === o.metric) ?? null;
}

const CONSTRAINT = /^\s*([a-z0-9_]+)\s*(<=|>=|<|>)\s*(-?\d+(?:\.\d+)?(?:e[+-]?\d+)?)\s*$/i;

/** `"tpot_mean_ms <= 50"` as its parts, a shorthand resolved, the metric not checked; null when not of that form. */
export function constraintParts(text: string): Constraint | null {
  const match = CONSTRAINT.exec(text);
  if (match === null) return null;
  const [, metric = '', op = '<=', value = '0'] = match;
  return { metric: fullMetricName(metric), op: op as Comparator, value: Number(value) };
}

/** `tpot_mean_ms <= 50` (also `<`, `>=`, `>`); throws E_USAGE for another form or an unknown metric. */
export function parseConstraint(text: string): Constraint {
  const parts = constraintParts(text);
  if (parts === null) throw new AutotuneError('E_USAGE', `constraint '${text}' is not of the form 'metric <= number' (also <, >=, >)`);
  return { ...parts, metric: resolveMetric(parts.metric) };
}

export function formatObjective(o: Objective): string {
  const head = `${o.direction} ${o.metric}`;
  return o.constraints.length === 0 ? head : `${head} subject to ${o.constraints.map((c) => `${c.metric} ${c.op} ${c.value}`).join(', ')}`;
}

function holds(c: Constraint, m: Measurement): boolean {
  const v = m[c.metric];
  if (v === undefined) return false; // unverifiable counts as violated
  switch (c.op) {
    case '<=':
      return v <= c.value;
    case '<':
      return v < c.value;
    case '>=':
      return v >= c.value;
    case '>':
      return v > c.value;
  }
}

/** Whether a measurement meets every constraint (one it lacks the metric of counts as violated). */
export function meetsConstraints(o: Objective, m: Measurement | null): boolean {
  return m !== null && o.constraints.every((c) => holds(c, m));
}

/** The objective's metric of a measurement when every constraint holds; else null. */
export function objectiveValue(o: Objective, m: Measurement | null): number | null {
  if (m === null) return null;
  const v = m[o.metric];
  if (v === undefined || !Number.isFinite(v)) return null;
  return meetsConstraints(o, m) ? v : null;
}

/**
 * The one number policies compare: positive and bigger-is-better, so ratios of scores are
 * relative gains whatever the direction (a latency scores as its inverse). Null for a failed
 * run, a missing metric, a violated constraint or a value that cannot be scored (<= 0).
 */
export function scoreOf(o: Objective, m: Measurement | null): number | null {
  const v = objectiveValue(o, m);
  if (v === null || v <= 0) return null;
  return o.direction === 'maximize' ? v : 1 / v;
}

/** Score of a finished run: only successful runs score. */
export function score(o: Objective, observation: Pick<Observation, 'outcome' | 'metrics'>): number | null {
  return observation.outcome === 'ok' ? scoreOf(o, observation.metrics) : null;
}

/** A score back in the metric's own unit, for summaries. */
export function scoreToValue(o: Objective, s: number): number {
  return o.direction === 'maximize' ? s : 1 / s;
}

export function objectiveUnit(o: Objective): string {
  return metricInfo(o.metric)?.label ?? o.metric;
}

const isRecord = (v: unknown): v is Readonly<Record<string, unknown>> => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * The objective stored with a session: `objective` when present, else release 0.1.0's
 * `metric` shorthand (total / output / requests). Null when neither is readable.
 */
export function storedObjective(options: Readonly<Record<string, unknown>>): Objective | null {
  const o = options['objective'];
  if (isRecord(o)) {
    const { metric, direction, constraints } = o;
    if (typeof metric !== 'string' || !isMetricName(metric)) return null;
    if (direction !== 'maximize' && direction !== 'minimize') return null;
    if (!Array.isArray(constraints)) return null;
    const list: Constraint[] = [];
    for (const c of constraints) {
      if (!isRecord(c) || typeof c['metric'] !== 'string' || typeof c['value'] !== 'number') return null;
      const op = c['op'];
      if (op !== '<=' && op !== '<' && op !== '>=' && op !== '>') return null;
      list.push({ metric: c['metric'], op, value: c['value'] });
    }
    return { metric, direction, constraints: list };
  }
  const shorthand = options['metric'];
  if (typeof shorthand === 'string' && isShorthand(shorthand)) return objectiveFor(shorthand);
  return null;
}
