/**
 * How a `vllm bench latency` invocation ended. Pure. The shared rules of classify-failure.ts
 * hold (engine start, OOM, KV cache, kernel faults, NCCL, plugin, bad arguments, timeouts);
 * this adds what only the latency benchmark does:
 * - `Please ensure that max_model_len is greater than the sum of input_len and output_len.`
 *   (an AssertionError raised after the engine started) is a point that does not fit;
 * - an empty measurement (`--num-iters 0`) ends in numpy's IndexError or prints `nan`;
 * - the result to look for is the `Avg latency:` line, not `Throughput:`.
 */
import { classifyRun, type Classification, type RunEnd } from '../../classify-failure.js';
import { splitLogLines } from '../../log-text.js';

const MAX_MODEL_LEN_ASSERT = /Please ensure that max_model_len is greater than the sum of input_len and output_len/;
const EMPTY_MEASUREMENT = /Avg latency:\s*nan\s*seconds|index -1 is out of bounds for axis 0 with size 0/;

/** `end.hasResult` means: an `Avg latency:` line or a valid --output-json file was found. */
export function classifyLatencyRun(end: RunEnd): Classification {
  const shared = classifyRun(end);
  if (shared.outcome === 'ok' || shared.outcome === 'interrupted' || shared.outcome === 'spawn_error') return shared;
  const lines = splitLogLines(end.log);
  if (lines.some((l) => MAX_MODEL_LEN_ASSERT.test(l))) {
    return { outcome: 'nonzero_exit', failure: 'input + output exceed max_model_len: raise --max-model-len or drop the point' };
  }
  if (lines.some((l) => EMPTY_MEASUREMENT.test(l))) {
    return { outcome: 'no_result', failure: 'no measured iteration (--num-iters must be at least 1)' };
  }
  if (shared.outcome === 'no_result') {
    return { outcome: 'no_result', failure: 'exited with code 0 without printing an Avg latency line' };
  }
  return shared;
}
