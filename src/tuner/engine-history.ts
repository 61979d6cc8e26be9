/**
 * An engine study's history.csv: one row per engine point measured so far, in the order first
 * tried, with its vLLM arguments, tier, how its last run ended, its measured runs, every
 * metric's mean over its measured runs (memory figures included), its cost per GPU and its
 * ratio to the point it was compared with (its tier's starting point; per GPU for throughput,
 * as the study compares). The operator table of
 * the reference format has no place for a point, so an engine study writes this one. Pure.
 */
import { costOf, parallelismOf } from './cost.js';
import { METRICS, OUTPUT_TOKENS_PER_S, type Measurement } from './metrics.js';
import { scoreOf, type Objective } from './objective.js';
import { trialValue, type ResultRun } from './results.js';
import { csvField } from './sweep-results.js';
import { ENGINE_KIND } from './spaces/engine.js';
import type { TrialSpec } from './types.js';

export interface EngineHistoryInput {
  readonly objective: Objective;
  /** In the order first tried. */
  readonly trials: readonly Pick<TrialSpec, 'key' | 'kind' | 'round' | 'label' | 'extraArgs' | 'baseline'>[];
  /** Finished, non-interrupted runs in the order they were observed. */
  readonly runs: readonly ResultRun[];
  /** The session's own vLLM arguments: a point's GPUs count its parallel sizes over both. */
  readonly passthrough: readonly string[];
}

const num = (v: number | null | undefined): string => (v === null || v === undefined ? '' : String(v));

export function formatEngineHistoryCsv(input: EngineHistoryInput): string {
  const runsOf = new Map<string, ResultRun[]>();
  for (const run of input.runs) runsOf.set(run.trialKey, [...(runsOf.get(run.trialKey) ?? []), run]);
  const points = input.trials.filter((t) => t.kind === ENGINE_KIND.kind && runsOf.has(t.key));
  const values = new Map(points.map((t) => [t.key, trialValue('tiers', runsOf.get(t.key) ?? [])]));
  const seen = new Set([...values.values()].flatMap((m) => Object.keys(m ?? {})));
  const metrics = METRICS.map((m) => m.name).filter((name) => seen.has(name));
  const header = ['point', 'args', 'tier', 'outcome', 'measured_runs', ...metrics, 'gpus', 'output_tokens_per_s_per_gpu', 'gpu_days_to_process_1b_tokens', 'ratio_vs_baseline'];
  const gpusOf = (t: Pick<TrialSpec, 'extraArgs'>): number => {
    const p = parallelismOf([...input.passthrough, ...t.extraArgs]);
    return p.tp * p.pp * p.dp;
  };
  // Throughput is compared per GPU, as the study compares it; other objectives as they are.
  const perGpu = (m: Measurement | null, gpus: number): number | null => {
    const score = m === null ? null : scoreOf(input.objective, m);
    return score === null ? null : input.objective.direction === 'maximize' ? score / gpus : score;
  };
  const rows = points.map((t) => {
    const runs = runsOf.get(t.key) ?? [];
    const value = values.get(t.key) ?? null;
    const gpus = gpusOf(t);
    const cost = costOf(value?.[OUTPUT_TOKENS_PER_S], gpus);
    const baseTrial = t.baseline === undefined ? t : (points.find((x) => x.key === t.baseline) ?? null);
    const score = perGpu(value, gpus);
    const baseScore = baseTrial === null ? null : perGpu(values.get(baseTrial.key) ?? null, gpusOf(baseTrial));
    const ratio = score !== null && baseScore !== null && baseScore > 0 ? score / baseScore : null;
    return [
      t.label ?? t.key,
      t.extraArgs.join(' '),
      t.round,
      runs.at(-1)?.outcome ?? '',
      String(runs.filter((r) => r.kind === 'measure' && r.outcome === 'ok').length),
      ...metrics.map((name) => num(value?.[name])),
      String(gpus),
      num(cost?.outputTpsPerGpu),
      num(cost?.gpuDaysPer1B),
      num(ratio),
    ];
  });
  return [header, ...rows].map((fields) => `${fields.map(csvField).join(',')}\r\n`).join('');
}
