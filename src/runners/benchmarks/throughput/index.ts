/** `vllm bench throughput`: release 0.1.0's benchmark, unchanged. */
import { fromThroughput } from '../../../tuner/metrics.js';
import { classifyRun } from '../../classify-failure.js';
import type { BenchmarkKind } from '../kind.js';
import { benchArgv } from './args.js';
import { mergeResults, parseOutputJson, parseThroughput } from './parse.js';

export const throughputBenchmark: BenchmarkKind = {
  name: 'throughput',
  argv: (r) => benchArgv(r.passthrough, r.trial, r.outputJsonPath),
  measure: (log, json) => fromThroughput(mergeResults(json === null ? null : parseOutputJson(json), parseThroughput(log))),
  classify: classifyRun,
};
