/**
 * What a study optimises: one named metric, its direction, and constraints every accepted
 * trial must meet (e.g. `tpot_mean_ms <= 50`). Policies score runs only through `score`, so a
 * policy written for throughput optimises a latency or an SLO-bound objective unchanged.
 */
import { AutotuneError } from '../errors.js';
import { isMetricName, metricInfo, OUTPUT_TOKENS_PER_S, REQUESTS_PER_S, TOTAL_TOKENS_PER_S, type Direction, type Measurement } from './metrics.js';
import type { Observation } from './types.js';

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

/** `--metric` shorthands of release 0.1.0. */
const SHORTHANDS: Readonly<Record<string, string>> = {
  total: TOTAL_TOKENS_PER_S,
  output: OUTPUT_TOKENS_PER_S,
  requests: REQUESTS_PER_S,
};

/** A metric name or shorthand to its registered name; throws E_USAGE for an unknown one. */
export function resolveMetric(name: string): string {
  const resolved = SHORTHANDS[name] ?? name;
  if (!isMetricName(resolved)) throw new AutotuneError('E_USAGE', `unknown metric '${name}' (known: ${Object.keys(SHORTHANDS).join(', ')} or a metric name; see README)`);
  return resolved;
}

export function objectiveFor(metric: string, constraints: readonly Constraint[] = [], direction?: Direction): Objective {
  const name = resolveMetric(metric);
  return { metric: name, direction: direction ?? metricInfo(name)?.direction ?? 'maximize', constraints };
}

const CONSTRAINT = /^\s*([a-z0-9_]+)\s*(<=|>=|<|>)\s*(-?\d+(?:\.\d+)?(?:e[+-]?\d+)?)\s*$/i;

/** `tpot_mean_ms <= 50` (also `<`, `>=`, `>`). */
export function parseConstraint(text: string): Constraint {
  const match = CONSTRAINT.exec(text);
  if (match === null) throw new AutotuneError('E_USAGE', `constraint '${text}' is not of the form 'metric <= number' (also <, >=, >)`);
  const [, metric = '', op = '<=', value = '0'] = match;
  return { metric: resolveMetric(metric), op: op as Comparator, value: Number(value) };
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

/** The objective's metric of a measurement when every constraint holds; else null. */
export function objectiveValue(o: Objective, m: Measurement | null): number | null {
  if (m === null) return null;
  const v = m[o.metric];
  if (v === undefined || !Number.isFinite(v)) return null;
  return o.constraints.every((c) => holds(c, m)) ? v : null;
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
  if (typeof shorthand === 'string' && SHORTHANDS[shorthand] !== undefined) return objectiveFor(shorthand);
  return null;
}
