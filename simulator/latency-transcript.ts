/**
 * What the simulated `vllm bench latency` prints: the engine start every benchmark shares
 * (transcript.ts), then `Warming up...`, tqdm bars for the warm-up and the measured
 * iterations (on stderr, as tqdm writes), the result block and the teardown noise, or the
 * way the run fails.
 */
import type { LatencyArgs, LatencyRun } from './latency.js';
import { latencyStats, resultLines } from './latency.js';
import { engineRuntimeFailure, PY, rootCauseLine, vllmCliFrames } from './tracebacks.js';
import { bar, clock, failEngine, startEngine, teardown, type Transcript, type TranscriptInput, type Writer } from './transcript.js';


export interface LatencyTranscriptInput extends TranscriptInput {
  readonly latency: LatencyArgs;
  /** Null when the engine never got to run a batch (its failure is in `result`). */
  readonly run: LatencyRun | null;
}

function benchFrames(line: number, code: string): string[] {
  return [
    ...vllmCliFrames(),
    `  File "${PY}/vllm/entrypoints/cli/benchmark/latency.py", line 21, in cmd`,
    '    main(args)',
    `  File "${PY}/vllm/benchmarks/latency.py", line ${line}, in main`,
    `    ${code}`,
  ];
}

/** `ValidationError` of ModelConfig: a --max-model-len above what the model allows fails before the engine starts. */
export function maxModelLenTooLarge(given: number, derived: number): string[] {
  return [
    ...benchFrames(77, 'engine_args = EngineArgs.from_cli_args(args)'),
    'pydantic_core._pydantic_core.ValidationError: 1 validation error for ModelConfig',
    `  Value error, User-specified max_model_len (${given}) is greater than the derived max_model_len (max_position_embeddings=${derived} ` +
      'or model_max_length=None in model\'s config.json). To allow overriding this maximum, set the env var VLLM_ALLOW_LONG_MAX_MODEL_LEN=1. ' +
      'VLLM_ALLOW_LONG_MAX_MODEL_LEN must be used with extreme caution. [type=value_error, input_value=ArgsKwargs((), {...}), input_type=ArgsKwargs]',
  ];
}

function rate(secondsPerIteration: number): string {
  if (secondsPerIteration <= 0) return '?it/s';
  return secondsPerIteration >= 1 ? `${secondsPerIteration.toFixed(2).padStart(5)}s/it` : `${(1 / secondsPerIteration).toFixed(2).padStart(5)}it/s`;
}

function barLine(desc: string, done: number, total: number, elapsedS: number): string {
  if (total === 0) return `${desc}: 0it [00:00, ?it/s]`;
  const pct = String(Math.round((100 * done) / total)).padStart(3);
  const perIt = done > 0 ? elapsedS / done : 0;
  const eta = done > 0 ? clock(perIt * (total - done)) : '?';
  return `${desc}: ${pct}%|${bar(done, total)}| ${done}/${total} [${clock(elapsedS)}<${eta}, ${done > 0 ? rate(perIt) : '?it/s'}]`;
}

/** Plays `times` through a tqdm bar; stops before iteration `failAt` (the one that fails) when given. */
function iterations(w: Writer, desc: string, times: readonly number[], paceMs: number, failAt: number | null = null): void {
  w.raw('stderr', `\r${barLine(desc, 0, times.length, 0)}`);
  let elapsed = 0;
  for (let k = 0; k < times.length; k++) {
    if (k === failAt) return;
    w.wait(paceMs);
    elapsed += times[k] as number;
    w.raw('stderr', `\r${barLine(desc, k + 1, times.length, elapsed)}`);
  }
  w.raw('stderr', '\n');
}

function dieInBatch(w: Writer, rootCause: string): Transcript {
  w.raw('stderr', '\n');
  failEngine(w, { engine: engineRuntimeFailure(rootCause, null).engine, client: [] }, 'core.py:790');
  for (const line of benchFrames(149, 'run_to_completion(do_profile=False)')) w.stderr(line);
  w.stderr('vllm.v1.engine.exceptions.EngineDeadError: EngineCore encountered an issue. See stack trace (above) for the root cause.');
  return { steps: w.steps, exitCode: 1, hangs: false };
}

export function buildLatencyTranscript(input: LatencyTranscriptInput): Transcript {
  const { w, ended } = startEngine({ ...input, benchmark: 'latency' });
  if (ended !== null) return ended;
  const { scenario: s, result: r, latency: a, run } = input;
  if (run?.outcome === 'too_long') {
    for (const line of benchFrames(84, 'assert llm.llm_engine.model_config.max_model_len >= (')) w.stderr(line);
    w.stderr('AssertionError: Please ensure that max_model_len is greater than the sum of input_len and output_len.');
    return { steps: w.steps, exitCode: 1, hangs: false };
  }
  const total = Math.max(1, a.warmup + a.measured);
  const paceMs = s.timing.runMs / total;
  w.print('Warming up...');
  if (r.outcome === 'hang') {
    w.raw('stderr', `\r${barLine('Warmup iterations', 0, a.warmup, 0)}`);
    w.wait(s.timing.runMs);
    w.raw('stderr', '\n');
    w.engine(
      'WARNING',
      'shm_broadcast.py:466',
      'No available shared memory broadcast block found in 60 seconds. This typically happens when some processes are ' +
        'hanging or doing some time-consuming work (e.g. compilation, weight/kv cache quantization).',
    );
    return { steps: w.steps, exitCode: 0, hangs: true };
  }
  // The first batch is where a faulting kernel or a batch too large for memory dies.
  const firstBatchFails = r.outcome === 'kernel_fault' || run?.outcome === 'oom';
  const rootCause = r.outcome === 'kernel_fault' ? rootCauseLine('kernel_fault', r.failure?.op ?? '') : rootCauseLine('oom', `batch:${a.batchSize}`);
  const warmupS = run?.warmupS ?? [];
  const measuredS = run?.measuredS ?? [];
  if (firstBatchFails && a.warmup > 0) {
    iterations(w, 'Warmup iterations', Array.from({ length: a.warmup }, () => 0), paceMs, 0);
    return dieInBatch(w, rootCause);
  }
  iterations(w, 'Warmup iterations', warmupS, paceMs);
  if (a.profile) return { steps: w.steps, exitCode: 0, hangs: false };
  if (firstBatchFails) {
    iterations(w, 'Bench iterations', Array.from({ length: a.measured }, () => 0), paceMs, 0);
    return dieInBatch(w, rootCause);
  }
  iterations(w, 'Bench iterations', measuredS, paceMs);
  if (measuredS.length === 0) {
    // np.percentile of an empty array.
    for (const line of benchFrames(165, 'percentiles = np.percentile(latencies, percentages)')) w.stderr(line);
    w.stderr('IndexError: index -1 is out of bounds for axis 0 with size 0');
    return { steps: w.steps, exitCode: 1, hangs: false };
  }
  if (r.outcome === 'ok') for (const line of resultLines(latencyStats(measuredS))) w.print(line);
  teardown(w, input.startedAt);
  return { steps: w.steps, exitCode: 0, hangs: false };
}
