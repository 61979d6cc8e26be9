/**
 * A benchmark kind: how one trial becomes a command line, how its output becomes named
 * metrics, and how a failed run is classified. Runners execute any kind the same way; a new
 * benchmark is a folder next to throughput/ and latency/ plus an entry in index.ts.
 */
import type { Measurement } from '../../tuner/metrics.js';
import type { RunRequest } from '../../tuner/ports.js';
import type { Classification, RunEnd } from '../classify-failure.js';

export interface BenchmarkKind {
  readonly name: string;
  /** The arguments after the vllm executable. */
  argv(request: RunRequest): string[];
  /** Named metrics from the console log and the --output-json text (null when there is no file); null: no result. */
  measure(log: string, outputJson: string | null, request: RunRequest): Measurement | null;
  /** `end.hasResult` is whether `measure` found a result. */
  classify(end: RunEnd): Classification;
}
