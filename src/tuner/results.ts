/**
 * history.csv and op_config.json from a session's trials and finished runs, byte-compatible
 * with the reference tool (its row order, sort, rounding and JSON layout). With a model-based
 * policy (noise-aware, screening) every number comes from the estimates it decided with, so the
 * artifacts agree with best_config.yaml and the summary. Pure: the store writes the text
 * this module returns.
 */
import { OUTPUT_TOKENS_PER_S, TOTAL_TOKENS_PER_S, type Measurement } from './metrics.js';
import { scoreOf, type Objective } from './objective.js';
import { BACKEND_ORDER } from './types.js';
import { attentionOfKey, OPERATOR_STAGES, OPERATOR_STAGE_ORDER } from './spaces/operators.js';
import type { AttentionBackend, Backend, Observation, PolicyName, TrialKind, TrialSpec } from './types.js';

export type ResultTrial = Pick<TrialSpec, 'key' | 'kind' | 'prefix' | 'op' | 'backend' | 'attention'>;
export type ResultRun = Pick<Observation, 'trialKey' | 'kind' | 'outcome' | 'metrics' | 'slot'>;

export interface ResultsInput {
  readonly policy: PolicyName;
  /** Picks the best backend of an operator. */
  readonly objective: Objective;
  /** In the order they were first tried (FLASH_ATTN before FLASHINFER for a reference pair). */
  readonly trials: readonly ResultTrial[];
  /** Finished, non-interrupted runs in the order they were observed. */
  readonly runs: readonly ResultRun[];
  /** The tuned operators, each with its ordered backends (OpsDiscovered.final). */
  readonly ops: Readonly<Record<string, readonly Backend[]>>;
  /**
   * The combination reported as `combined_best`. Null means none for the noise-aware policy,
   * and the `combined_best` trial for the reference policy.
   */
  readonly finalCombinedKey: string | null;
  /**
   * Model estimates (relative change vs baseline) of operator backends never measured alone
   * (screening policy): they fill the operator's history row instead of leaving it empty.
   */
  readonly estimates: readonly { readonly op: string; readonly backend: Backend; readonly estimate: number }[];
  /**
   * noise-aware: the model's estimate per trial key, as the policy's decisions stored it.
   * A row with an estimate shows it instead of its raw mean.
   */
  readonly trialEstimates?: Readonly<Record<string, Estimate>>;
  /** noise-aware: the set in best_config.yaml once the session is complete, with its estimate. */
  readonly chosen?: ChosenSet | null;
}

/** A relative change vs the baseline (0.012 = +1.2%) and its 95% interval. */
export interface Estimate {
  readonly estimate: number;
  readonly low: number | null;
  readonly high: number | null;
}

export interface ChosenSet {
  readonly opBackends: Readonly<Record<string, Backend>>;
  readonly attention: AttentionBackend | null;
  /** The validated speed-up; null when the set was not measured as a whole. */
  readonly estimate: Estimate | null;
}

export interface HistoryRow {
  readonly op: string;
  readonly backend: string;
  readonly total: number | null;
  /** Printed only when > 0: the reference's placeholder for "not reported" was 0. */
  readonly output: number | null;
  readonly ratio: number | null;
  /** Present when the row shows the model's estimate: the ratio's 95% interval. */
  readonly estimated?: { readonly low: number | null; readonly high: number | null };
}

/** A type alias (not an interface) so it stays assignable to PyJson. */
export type OpConfigEntry = {
  readonly op_name: string;
  readonly backend: 'flagos' | 'native';
  readonly vendor: null;
  readonly performance_ratio: number | null;
};

/** Policies whose every decision is a model estimate: their rows show the estimates they decided with. */
export function decidesByEstimate(policy: PolicyName): boolean {
  return policy === 'noise-aware' || policy === 'screening';
}

const succeeded = (run: ResultRun): boolean => run.outcome === 'ok' && run.metrics !== null;

function mean(values: readonly number[]): number | null {
  return values.length === 0 ? null : values.reduce((sum, v) => sum + v, 0) / values.length;
}

/**
 * A configuration's value. reference: the last run's result, else the last successful one's
 * (together: the last success). noise-aware: the mean of its successful measured runs, each
 * metric averaged over the runs that reported it.
 */
export function trialValue(policy: PolicyName, runs: readonly ResultRun[]): Measurement | null {
  const ok = runs.filter(succeeded).map((run) => run.metrics as Measurement);
  if (policy === 'reference') return ok.at(-1) ?? null;
  const measured = runs.filter((run) => succeeded(run) && run.kind === 'measure').map((run) => run.metrics as Measurement);
  if (measured.length === 0) return null;
  const names = [...new Set(measured.flatMap((m) => Object.keys(m)))];
  const out: Record<string, number> = {};
  for (const name of names) {
    const v = mean(measured.flatMap((m) => (m[name] === undefined ? [] : [m[name]])));
    if (v !== null) out[name] = v;
  }
  return out;
}

/** Strictly better, so the first of equals wins; a result beats none. */
function beats(a: Measurement | null, b: Measurement | null, objective: Objective): boolean {
  if (a === null) return false;
  if (b === null) return true;
  const va = scoreOf(objective, a);
  const vb = scoreOf(objective, b);
  return va !== null && (vb === null || va > vb);
}

function best(values: readonly (Measurement | null)[], objective: Objective): Measurement | null {
  return values.reduce<Measurement | null>((acc, v) => (beats(v, acc, objective) ? v : acc), null);
}

/**
 * The reference policy on several slots compares each operator with its own slot's baseline;
 * its rows do the same: a run on slot k is scaled by slot 0's baseline over slot k's, so its
 * ratio is the one the decision used, and the baseline row is slot 0's (round 1a). Other
 * policies, and one slot, keep their runs as they are.
 */
/** What onSlotZeroScale reads of a run: results.ts's runs and the report's alike. */
interface SlotRun {
  readonly trialKey: string;
  readonly outcome: string;
  readonly metrics: Measurement | null;
  readonly slot?: number | null;
}

export function onSlotZeroScale<R extends SlotRun>(input: { readonly policy: PolicyName; readonly trials: readonly Pick<ResultTrial, 'key' | 'kind'>[]; readonly runs: readonly R[] }): readonly R[] {
  if (input.policy !== 'reference' || !input.runs.some((r) => (r.slot ?? 0) > 0)) return input.runs;
  const anchorKeys = new Set(input.trials.filter((t) => t.kind === OPERATOR_STAGES.baseline.kind).map((t) => t.key));
  const bases = new Map<number, Measurement>();
  for (const run of input.runs) {
    if (anchorKeys.has(run.trialKey) && run.outcome === 'ok' && run.metrics !== null) bases.set(run.slot ?? 0, run.metrics);
  }
  const zero = bases.get(0);
  return input.runs.flatMap((run): R[] => {
    const slot = run.slot ?? 0;
    if (slot === 0) return [run];
    if (anchorKeys.has(run.trialKey)) return [];
    const base = bases.get(slot);
    if (zero === undefined || base === undefined || run.metrics === null) return [run];
    const metrics: Record<string, number> = {};
    for (const [name, value] of Object.entries(run.metrics)) {
      const z = zero[name];
      const b = base[name];
      metrics[name] = z !== undefined && b !== undefined && b > 0 ? (value * z) / b : value;
    }
    return [{ ...run, metrics }];
  });
}

/** The lookups both outputs are computed from. */
class SessionResults {
  private readonly input: ResultsInput;
  private readonly runsByTrial = new Map<string, ResultRun[]>();

  constructor(input: ResultsInput) {
    this.input = input;
    for (const run of onSlotZeroScale(input)) {
      const list = this.runsByTrial.get(run.trialKey) ?? [];
      list.push(run);
      this.runsByTrial.set(run.trialKey, list);
    }
  }

  /** Trials with at least one finished run: a trial in flight has no row yet, as in the reference. */
  tried(predicate: (t: ResultTrial) => boolean): ResultTrial[] {
    return this.input.trials.filter((t) => predicate(t) && this.runsByTrial.has(t.key));
  }

  value(trial: ResultTrial): Measurement | null {
    return trialValue(this.input.policy, this.runsByTrial.get(trial.key) ?? []);
  }

  /** Baseline anchors re-measure one configuration, so a kind's runs are pooled. */
  kindValue(kind: TrialKind): Measurement | null {
    const keys = new Set(this.tried((t) => t.kind === kind).map((t) => t.key));
    return trialValue(this.input.policy, this.input.runs.filter((r) => keys.has(r.trialKey)));
  }

  /** Tried backends of an op, in its table order; each the best of its attention variants. */
  backendValues(op: string): { backend: Backend; value: Measurement | null }[] {
    const order = [...(this.input.ops[op] ?? []), ...BACKEND_ORDER];
    const backends = [...new Set(order)];
    return backends.flatMap((backend) => {
      const trials = this.tried((t) => t.kind === OPERATOR_STAGES.op.kind && t.op === op && t.backend === backend);
      if (trials.length === 0) return [];
      return [{ backend, value: best(trials.map((t) => this.value(t)), this.input.objective) }];
    });
  }

  estimate(key: string): Estimate | null {
    return decidesByEstimate(this.input.policy) ? (this.input.trialEstimates?.[key] ?? null) : null;
  }

  /**
   * noise-aware rows of an op: per tried backend, the estimate of the trial the decision
   * rests on (the chosen attention variant, else the best-estimated one), else the raw mean.
   */
  estimatedBackendRows(op: string, baseline: Measurement | null): HistoryRow[] {
    const order = [...new Set([...(this.input.ops[op] ?? []), ...BACKEND_ORDER])];
    const chosen = this.input.chosen ?? null;
    return order.flatMap((backend): HistoryRow[] => {
      const trials = this.tried((t) => t.kind === OPERATOR_STAGES.op.kind && t.op === op && t.backend === backend);
      // The screening policy estimates operator backends it never ran alone: their decisions count as tried.
      const subjects = [...trials.map((t) => ({ key: t.key, attention: t.attention })), ...this.estimatedOnly(op, backend, trials)];
      if (subjects.length === 0) return [];
      const picked =
        chosen?.opBackends[op] === backend ? subjects.find((t) => t.attention === chosen.attention) : undefined;
      const estimated = (picked === undefined ? subjects : [picked])
        .flatMap((t) => {
          const e = this.estimate(t.key);
          return e === null ? [] : [e];
        })
        .reduce<Estimate | null>((acc, e) => (acc === null || e.estimate > acc.estimate ? e : acc), null);
      if (baseline === null) return [row(op, backend, null, null)];
      if (estimated === null) {
        const value = best(trials.map((t) => this.value(t)), this.input.objective);
        return [row(op, backend, value, value === null ? null : ratioTo(value, baseline))];
      }
      return [estimatedRow(op, backend, baseline, estimated)];
    });
  }

  /** Decision subjects of an op backend that no trial of its own measured. */
  private estimatedOnly(op: string, backend: Backend, trials: readonly ResultTrial[]): { key: string; attention: AttentionBackend | null }[] {
    return Object.keys(this.input.trialEstimates ?? {}).flatMap((key): { key: string; attention: AttentionBackend | null }[] => {
      const attention = attentionOfKey(key, op, backend);
      return attention === undefined || trials.some((t) => t.key === key) ? [] : [{ key, attention }];
    });
  }

  combined(): Measurement | null {
    const { finalCombinedKey, policy } = this.input;
    const key =
      finalCombinedKey ??
      (policy === 'reference'
        ? this.input.trials.findLast((t) => t.kind === OPERATOR_STAGES.combined.kind && t.prefix === 'combined_best')?.key
        : undefined);
    const trial = key === undefined ? undefined : this.tried((t) => t.key === key)[0];
    return trial === undefined ? null : this.value(trial);
  }
}

/** The baseline's rates times `factor`: an estimated row. */
function scaled(t: Measurement, factor: number): Measurement {
  return Object.fromEntries(Object.entries(t).map(([name, value]) => [name, value * factor]));
}

/** history.csv is a throughput file: rows and ratios are in total tokens/s whatever the objective. */
function ratioTo(value: Measurement, baseline: Measurement | null): number | null {
  const v = value[TOTAL_TOKENS_PER_S];
  const b = baseline?.[TOTAL_TOKENS_PER_S];
  return v !== undefined && b !== undefined && b > 0 ? v / b : null;
}

function row(op: string, backend: string, value: Measurement | null, ratio: number | null): HistoryRow {
  return { op, backend, total: value?.[TOTAL_TOKENS_PER_S] ?? null, output: value?.[OUTPUT_TOKENS_PER_S] ?? null, ratio };
}

/** The baseline scaled by the estimated change, so a row's throughput and ratio agree. */
function estimatedRow(op: string, backend: string, baseline: Measurement, e: Estimate): HistoryRow {
  const scale = 1 + e.estimate;
  const total = baseline[TOTAL_TOKENS_PER_S];
  const output = baseline[OUTPUT_TOKENS_PER_S];
  return {
    op,
    backend,
    total: total === undefined ? null : total * scale,
    output: output === undefined ? null : output * scale,
    ratio: scale,
    estimated: { low: e.low === null ? null : 1 + e.low, high: e.high === null ? null : 1 + e.high },
  };
}

export function historyRows(input: ResultsInput): HistoryRow[] {
  const session = new SessionResults(input);
  // The stages with a row of their own, in round order: the anchor's first, the others only once measured.
  const anchor = OPERATOR_STAGES.baseline;
  const baseline = session.kindValue(anchor.kind);
  const rows: HistoryRow[] = [row(anchor.historyRow, '', baseline, baseline === null ? null : 1)];
  for (const stage of OPERATOR_STAGE_ORDER) {
    if (stage === anchor || stage.historyRow === null) continue;
    const value = session.kindValue(stage.kind);
    if (value !== null) rows.push(row(stage.historyRow, '', value, ratioTo(value, baseline)));
  }

  const others: HistoryRow[] = [];
  const estimated = new Map(input.estimates.map((e) => [`${e.op}:${e.backend}`, e.estimate]));
  const ops = [...new Set([...session.tried((t) => t.kind === OPERATOR_STAGES.op.kind && t.op !== null).map((t) => t.op as string), ...input.estimates.map((e) => e.op)])].sort();
  for (const op of ops) {
    if (decidesByEstimate(input.policy)) {
      others.push(...session.estimatedBackendRows(op, baseline));
      continue;
    }
    const measured = session.backendValues(op);
    const backends = [...new Set([...measured.map((m) => m.backend), ...input.estimates.filter((e) => e.op === op).map((e) => e.backend)])];
    for (const backend of backends) {
      const value = measured.find((m) => m.backend === backend)?.value ?? null;
      const estimate = estimated.get(`${op}:${backend}`);
      // Without a baseline the reference leaves op rows empty, measured or not.
      const shown = baseline === null ? null : value ?? (estimate === undefined ? null : scaled(baseline, 1 + estimate));
      others.push(row(op, backend, shown, shown === null ? null : ratioTo(shown, baseline)));
    }
  }
  const combined = session.combined();
  const setEstimate = decidesByEstimate(input.policy) ? (input.chosen?.estimate ?? null) : null;
  if (combined !== null && baseline !== null && setEstimate !== null) others.push(estimatedRow('combined_best', '', baseline, setEstimate));
  else if (combined !== null) others.push(row('combined_best', '', combined, ratioTo(combined, baseline)));

  // Python's sort(key=(has_total, total), reverse=True): stable, so equal keys keep their order.
  others.sort((a, b) => {
    if ((a.total === null) !== (b.total === null)) return a.total === null ? 1 : -1;
    return (b.total ?? 0) - (a.total ?? 0);
  });
  return [...rows, ...others];
}

export function opConfigEntries(input: ResultsInput): OpConfigEntry[] {
  const session = new SessionResults(input);
  const baseline = session.kindValue(OPERATOR_STAGES.baseline.kind);
  if (decidesByEstimate(input.policy)) return estimatedOpConfig(input, session, baseline);
  return Object.keys(input.ops).flatMap((op): OpConfigEntry[] => {
    const tried = session.backendValues(op);
    if (tried.length === 0) return [];
    const top = best(
      tried.map((b) => b.value),
      input.objective,
    );
    const ratio = top === null ? null : ratioTo(top, baseline);
    return [{ op_name: op, backend: ratio !== null && ratio > 1 ? 'flagos' : 'native', vendor: null, performance_ratio: ratio }];
  });
}

/**
 * noise-aware: exactly the chosen set's operators are `flagos`, each with the ratio of its
 * chosen backend; every other tried operator is `native` with its best row's ratio.
 */
function estimatedOpConfig(input: ResultsInput, session: SessionResults, baseline: Measurement | null): OpConfigEntry[] {
  const chosen = input.chosen?.opBackends ?? {};
  return Object.keys(input.ops).flatMap((op): OpConfigEntry[] => {
    const rows = session.estimatedBackendRows(op, baseline);
    if (rows.length === 0) return [];
    const pick = chosen[op];
    if (pick !== undefined) {
      const ratio = rows.find((r) => r.backend === pick)?.ratio ?? null;
      return [{ op_name: op, backend: 'flagos', vendor: null, performance_ratio: ratio }];
    }
    const ratio = rows.reduce<number | null>((acc, r) => (r.ratio !== null && (acc === null || r.ratio > acc) ? r.ratio : acc), null);
    return [{ op_name: op, backend: 'native', vendor: null, performance_ratio: ratio }];
  });
}

// ---- Python-compatible text ----

/** IEEE-754 double as mantissa * 2^exponent, exactly. */
function decompose(x: number): { mantissa: bigint; exponent: number } {
  const view = new DataView(new ArrayBuffer(8));
  view.setFloat64(0, x);
  const hi = view.getUint32(0);
  const fraction = (BigInt(hi & 0xfffff) << 32n) | BigInt(view.getUint32(4));
  const biased = (hi >>> 20) & 0x7ff;
  return biased === 0
    ? { mantissa: fraction, exponent: -1074 }
    : { mantissa: fraction | (1n << 52n), exponent: biased - 1075 };
}

/**
 * Python's `f"{x:.{digits}f}"`: the exact binary value rounded half-to-even. Number#toFixed
 * rounds exact ties away from zero (0.125 -> "0.13", Python "0.12") and switches to
 * exponent notation from 1e21.
 */
export function formatFixed(x: number, digits: number): string {
  if (Number.isNaN(x)) return 'nan';
  if (!Number.isFinite(x)) return x > 0 ? 'inf' : '-inf';
  const { mantissa, exponent } = decompose(Math.abs(x));
  const scaled = mantissa * 10n ** BigInt(digits);
  let units: bigint;
  if (exponent >= 0) {
    units = scaled << BigInt(exponent);
  } else {
    const divisor = 1n << BigInt(-exponent);
    units = scaled / divisor;
    const twiceRemainder = (scaled % divisor) * 2n;
    if (twiceRemainder > divisor || (twiceRemainder === divisor && units % 2n === 1n)) units += 1n;
  }
  const text = units.toString().padStart(digits + 1, '0');
  const body = digits === 0 ? text : `${text.slice(0, -digits)}.${text.slice(-digits)}`;
  return (x < 0 || Object.is(x, -0) ? '-' : '') + body;
}

/** Python's `repr(float)`: shortest round-trip digits, `1.0` for integral values, `1e-05` style exponents. */
export function pythonFloatRepr(x: number): string {
  if (Number.isNaN(x)) return 'NaN';
  if (!Number.isFinite(x)) return x > 0 ? 'Infinity' : '-Infinity';
  if (x === 0) return Object.is(x, -0) ? '-0.0' : '0.0';
  const sign = x < 0 ? '-' : '';
  const [significand = '', exp = '0'] = Math.abs(x).toExponential().split('e');
  const digits = significand.replace('.', '');
  const e = Number(exp);
  if (e < -4 || e >= 16) {
    const mantissa = digits.length > 1 ? `${digits[0]}.${digits.slice(1)}` : digits;
    return `${sign}${mantissa}e${e < 0 ? '-' : '+'}${String(Math.abs(e)).padStart(2, '0')}`;
  }
  if (e < 0) return `${sign}0.${'0'.repeat(-e - 1)}${digits}`;
  if (digits.length <= e + 1) return `${sign}${digits}${'0'.repeat(e + 1 - digits.length)}.0`;
  return `${sign}${digits.slice(0, e + 1)}.${digits.slice(e + 1)}`;
}

export type PyJson = null | boolean | number | string | readonly PyJson[] | { readonly [key: string]: PyJson };

/** `json.dumps(ensure_ascii=True)` string escaping: everything outside printable ASCII as \uXXXX. */
function pyJsonString(s: string): string {
  return JSON.stringify(s).replace(/[^\x20-\x7e]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** `json.dump(value, indent=2, ensure_ascii=True)`; every number is written as a Python float. */
export function pythonJson(value: PyJson, depth = 0): string {
  if (value === null) return 'null';
  if (typeof value === 'boolean') return value ? 'true' : 'false';
  if (typeof value === 'number') return pythonFloatRepr(value);
  if (typeof value === 'string') return pyJsonString(value);
  const inner = '  '.repeat(depth + 1);
  const outer = '  '.repeat(depth);
  const items = Array.isArray(value)
    ? (value as readonly PyJson[]).map((v) => inner + pythonJson(v, depth + 1))
    : Object.entries(value).map(([k, v]) => `${inner}${pyJsonString(k)}: ${pythonJson(v, depth + 1)}`);
  const [open, close] = Array.isArray(value) ? ['[', ']'] : ['{', '}'];
  return items.length === 0 ? open + close : `${open}\n${items.join(',\n')}\n${outer}${close}`;
}

export const HISTORY_HEADER = [
  'op',
  'backend',
  'total_throughput(tokens/s)',
  'output_throughput(tokens/s)',
  'performance_ratio',
] as const;

/** Python csv.writer's QUOTE_MINIMAL. */
function csvField(field: string): string {
  return /[",\r\n]/.test(field) ? `"${field.replace(/"/g, '""')}"` : field;
}

/** The whole file, `\r\n` line ends as Python's csv.writer writes them. */
export function formatHistoryCsv(rows: readonly HistoryRow[]): string {
  const lines = [
    [...HISTORY_HEADER],
    ...rows.map((r) => [
      r.op,
      r.backend,
      r.total === null ? '' : formatFixed(r.total, 2),
      r.output !== null && r.output > 0 ? formatFixed(r.output, 2) : '',
      r.ratio === null ? '' : formatFixed(r.ratio, 4),
    ]),
  ];
  return lines.map((fields) => `${fields.map(csvField).join(',')}\r\n`).join('');
}

/** As the reference's json.dump writes it: no trailing newline. */
export function formatOpConfigJson(entries: readonly OpConfigEntry[]): string {
  return pythonJson(entries);
}
