/** `vllm bench throughput`: release 0.1.0's benchmark, with the engine's memory lines beside its result. */
import { fromThroughput } from '../../../tuner/metrics.js';
import { classifyRun } from '../../classify-failure.js';
import { memoryMetrics, parseLogMemory } from '../../log-memory.js';
import type { BenchmarkKind } from '../kind.js';
import { benchArgv } from './args.js';
import { mergeResults, parseOutputJson, parseThroughput } from './parse.js';

export const throughputBenchmark: BenchmarkKind = {
  name: 'throughput',
  argv: (r) => benchArgv(r.passthrough, r.trial, r.outputJsonPath),
  measure(log, json) {
    const result = fromThroughput(mergeResults(json === null ? null : parseOutputJson(json), parseThroughput(log)));
    // Memory figures only beside a result: a run without one has no measurement.
    return result === null ? null : { ...result, ...memoryMetrics(parseLogMemory(log)) };
  },
  classify: classifyRun,
};
