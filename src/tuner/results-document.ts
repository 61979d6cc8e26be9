/**
 * The standard result documents of a session (configs/results.schema.json): one per point
 * (trial) that has a finished run, with what ran it, its parallelism, model and
 * dataset, and every metric with its unit and direction; the per-GPU cost figures are derived
 * from the point's mean output tokens/s. And the sweep analyser's one-row-per-point summary.
 * Pure: every number comes from the runs it is given.
 */
import { COST_METRICS, costMetrics, costOf, parallelismOf, pointGpus, type Parallelism } from './cost.js';
import { METRICS, OUTPUT_TOKENS_PER_S, type MetricInfo } from './metrics.js';
import { csvField } from './sweep-results.js';
import type { Observation, RunKind, TrialSpec } from './types.js';
import { lastFlagValue } from './vllm-flags.js';

/** configs/results.schema.json's version: raised with any incompatible change. */
const RESULTS_SCHEMA_VERSION = 1;

export interface PointRun extends Pick<Observation, 'trialKey' | 'kind' | 'outcome' | 'metrics'> {
  /** ISO 8601. */
  readonly startedAt: string;
}

export interface ResultsDocumentInput {
  readonly tool: { readonly name: string; readonly version: string };
  readonly session: {
    readonly id: string;
    readonly policy: string;
    readonly model: string | null;
    /** The pass-through vLLM arguments. */
    readonly args: readonly string[];
    readonly vllmBin: string;
  };
  /** Devices of each GPU group when the session ran on groups of one size; else null. */
  readonly slotDevices: number | null;
  /** In the order the session met them. */
  readonly trials: readonly TrialSpec[];
  /** Finished, non-interrupted runs in the order they were observed. */
  readonly runs: readonly PointRun[];
}

interface ResultMetric {
  readonly value: number;
  readonly unit: string;
  readonly higher_is_better: boolean;
  readonly label: string;
}

export interface ResultDocument {
  readonly schema_version: number;
  readonly description: string;
  /** ISO 8601: when the point's first measured run started. */
  readonly date: string;
  readonly tool: { readonly name: string; readonly version: string };
  readonly session: { readonly id: string; readonly policy: string };
  readonly point: { readonly key: string; readonly label: string; readonly stage: string; readonly kind: string };
  readonly command: {
    readonly executable: string;
    readonly benchmark: string;
    /** The session's pass-through arguments and the point's own after them. */
    readonly args: readonly string[];
    readonly workload: Readonly<Record<string, string | number>> | null;
    readonly env: Readonly<Record<string, string | null>>;
  };
  readonly parallelism: Parallelism & { readonly gpus: number };
  readonly model: string | null;
  readonly dataset: string | null;
  /**
   * The runs the figures are means over: the point's measured runs, or its warm-ups when a
   * policy judged it on those alone (a tier drops a clearly worse point after its warm-up).
   */
  readonly runs: { readonly kind: RunKind; readonly count: number; readonly ok: number };
  /** `ok` when one of those runs gave a result, else the last one's outcome. */
  readonly outcome: string;
  readonly metrics: Readonly<Record<string, ResultMetric>>;
}

const INFO: ReadonlyMap<string, MetricInfo> = new Map([...METRICS, ...COST_METRICS].map((m) => [m.name, m]));

function argsOf(input: ResultsDocumentInput, t: TrialSpec): string[] {
  return [...input.session.args, ...t.extraArgs];
}

function datasetOf(args: readonly string[]): string | null {
  return lastFlagValue(args, ['--dataset-path', '--dataset']) ?? lastFlagValue(args, ['--dataset-name']);
}

/** Each metric's mean over the runs that reported it, in the registry's order. */
function meanMetrics(runs: readonly PointRun[]): Record<string, number> {
  const sums = new Map<string, { sum: number; n: number }>();
  for (const r of runs) {
    for (const [name, value] of Object.entries(r.metrics ?? {})) {
      const s = sums.get(name) ?? { sum: 0, n: 0 };
      sums.set(name, { sum: s.sum + value, n: s.n + 1 });
    }
  }
  const out: Record<string, number> = {};
  for (const name of [...METRICS.map((m) => m.name), ...[...sums.keys()].sort()]) {
    const s = sums.get(name);
    if (s !== undefined && out[name] === undefined) out[name] = s.sum / s.n;
  }
  return out;
}

function described(values: Readonly<Record<string, number>>): Record<string, ResultMetric> {
  const out: Record<string, ResultMetric> = {};
  for (const [name, value] of Object.entries(values)) {
    const info = INFO.get(name);
    out[name] = { value, unit: info?.unit ?? '', higher_is_better: (info?.direction ?? 'maximize') === 'maximize', label: info?.label ?? name };
  }
  return out;
}

export function resultDocuments(input: ResultsDocumentInput): ResultDocument[] {
  const byTrial = new Map<string, PointRun[]>();
  for (const r of input.runs) byTrial.set(r.trialKey, [...(byTrial.get(r.trialKey) ?? []), r]);
  return input.trials.flatMap((t) => {
    const all = byTrial.get(t.key) ?? [];
    const kind: RunKind = all.some((r) => r.kind === 'measure') ? 'measure' : 'warmup';
    const runs = all.filter((r) => r.kind === kind);
    if (runs.length === 0) return [];
    const ok = runs.filter((r) => r.outcome === 'ok' && r.metrics !== null);
    const args = argsOf(input, t);
    const parallelism = parallelismOf(args);
    const gpus = pointGpus(parallelism, input.slotDevices);
    const means = meanMetrics(ok);
    const cost = costOf(means[OUTPUT_TOKENS_PER_S], gpus);
    const label = t.label ?? t.key;
    const first = runs[0] as PointRun;
    return [
      {
        schema_version: RESULTS_SCHEMA_VERSION,
        description: `${label} (stage ${t.round}) of autotune session ${input.session.id}`,
        date: first.startedAt,
        tool: input.tool,
        session: { id: input.session.id, policy: input.session.policy },
        point: { key: t.key, label, stage: t.round, kind: t.kind },
        command: { executable: input.session.vllmBin, benchmark: t.benchmark ?? 'throughput', args, workload: t.workload ?? null, env: t.env },
        parallelism: { ...parallelism, gpus },
        model: lastFlagValue(args, ['--model']) ?? input.session.model,
        dataset: datasetOf(args),
        runs: { kind, count: runs.length, ok: ok.length },
        outcome: ok.length > 0 ? 'ok' : (runs.at(-1) as PointRun).outcome,
        metrics: described({ ...means, ...(cost === null ? {} : costMetrics(cost)) }),
      },
    ];
  });
}

/** The sweep analyser's engine-argument columns and the flags vLLM reads them from. */
const ENGINE_COLUMNS: readonly (readonly [string, readonly string[]])[] = [
  ['mns', ['--max-num-seqs']],
  ['mnbt', ['--max-num-batched-tokens']],
  ['gmu', ['--gpu-memory-utilization']],
  ['bs', ['--block-size']],
  ['kvc', ['--kv-cache-dtype']],
  ['spec', ['--speculative-config']],
  ['quant', ['--quantization', '-q']],
];

export const SUMMARY_COLUMNS = [
  'experiment', 'model', 'tp', 'pp', 'dp',
  ...ENGINE_COLUMNS.map(([name]) => name),
  'output_tps_per_gpu', 'gpu_days_to_process_1b_tokens', 'gpus_for_1b_tokens_per_hour',
] as const;

/** `Qwen/Qwen3-8B`, `/models/Qwen3-8B/` -> `Qwen3-8B`, as the analyser names models. */
function modelName(model: string | null): string {
  if (model === null) return '';
  const parts = model.split('/').filter((p) => p !== '');
  return parts.at(-1) ?? model;
}

/**
 * One row per document: the stage as the experiment, the engine arguments as given (empty:
 * vLLM's default), the cost figures at full precision (empty for a point without a result).
 */
export function formatSummaryCsv(docs: readonly ResultDocument[]): string {
  const rows = docs.map((d) => {
    const figure = (name: string): string => {
      const m = d.metrics[name];
      return m === undefined ? '' : String(m.value);
    };
    return [
      d.point.stage,
      modelName(d.model),
      String(d.parallelism.tp),
      String(d.parallelism.pp),
      String(d.parallelism.dp),
      ...ENGINE_COLUMNS.map(([, flags]) => lastFlagValue(d.command.args, flags) ?? ''),
      ...COST_METRICS.map((m) => figure(m.name)),
    ];
  });
  return [[...SUMMARY_COLUMNS], ...rows].map((fields) => `${fields.map(csvField).join(',')}\r\n`).join('');
}
