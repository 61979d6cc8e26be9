/** Benchmark kinds by name; a trial names its own (`TrialSpec.benchmark`, default throughput). */
import { AutotuneError } from '../../errors.js';
import type { TrialSpec } from '../../tuner/types.js';
import type { BenchmarkKind } from './kind.js';
import { latencyBenchmark } from './latency/index.js';
import { throughputBenchmark } from './throughput/index.js';

export type { BenchmarkKind } from './kind.js';

export const BENCHMARKS: Readonly<Record<string, BenchmarkKind>> = {
  throughput: throughputBenchmark,
  latency: latencyBenchmark,
};

export function benchmarkOf(trial: Pick<TrialSpec, 'benchmark' | 'key'>): BenchmarkKind {
  const kind = BENCHMARKS[trial.benchmark ?? 'throughput'];
  if (kind === undefined) throw new AutotuneError('E_CONFIG', `trial ${trial.key} asks for an unknown benchmark kind '${trial.benchmark ?? ''}'`);
  return kind;
}
