/**
 * Command lines of `vllm bench latency` for one grid point. Pure.
 * Flags and defaults: vllm-project/vllm:vllm/benchmarks/latency.py@00cae07 (`add_cli_args`).
 *
 * Precedence: the grid point and the iteration counts are autotune's, so a user's own
 * `--batch-size`, `--input-len`, `--output-len`, `--num-iters-warmup`, `--num-iters` and
 * `--output-json` are taken out of the pass-through arguments (every spelling vLLM accepts:
 * `--flag v`, `--flag=v`, underscores for dashes) and replaced by the point's values, once each.
 * `splitLatencyArgs` hands the removed values back so that a caller can use them as the
 * default axis or iteration count when none was given for the grid.
 */
import { AutotuneError } from '../../../errors.js';

export interface LatencyPoint {
  readonly batchSize: number;
  readonly inputLen: number;
  readonly outputLen: number;
}

export interface LatencyIterations {
  /** `--num-iters-warmup`: timed, then discarded by vLLM itself. */
  readonly warmup: number;
  /** `--num-iters`: the measured iterations (at least 1: vLLM's percentiles fail on none). */
  readonly measured: number;
}

/** vLLM's own defaults for the flags autotune owns. */
export const VLLM_LATENCY_DEFAULTS = {
  batchSize: 8,
  inputLen: 32,
  outputLen: 128,
  warmup: 10,
  measured: 30,
} as const;

/** The values a user passed for flags that autotune sets per point; null when absent. */
export interface GivenLatencyArgs {
  readonly batchSize: number | null;
  readonly inputLen: number | null;
  readonly outputLen: number | null;
  readonly warmup: number | null;
  readonly measured: number | null;
  readonly outputJson: string | null;
  /** `--n` (sequences per prompt), left in the pass-through arguments; it multiplies the work. */
  readonly n: number | null;
  /** `--max-model-len`, left in the pass-through arguments; it bounds input + output. */
  readonly maxModelLen: number | null;
  /** `-tp` / `--tensor-parallel-size` and `-pp` / `--pipeline-parallel-size`, left in place. */
  readonly tensorParallel: number | null;
  readonly pipelineParallel: number | null;
}

export interface SplitLatencyArgs {
  /** The user's arguments without the owned flags, in their order. */
  readonly rest: readonly string[];
  readonly given: GivenLatencyArgs;
}

type OwnedField = 'batchSize' | 'inputLen' | 'outputLen' | 'warmup' | 'measured' | 'outputJson';

/** Canonical flag name -> field; these are removed from the pass-through arguments. */
const OWNED: ReadonlyMap<string, OwnedField> = new Map([
  ['--batch-size', 'batchSize'],
  ['--input-len', 'inputLen'],
  ['--output-len', 'outputLen'],
  ['--num-iters-warmup', 'warmup'],
  ['--num-iters', 'measured'],
  ['--output-json', 'outputJson'],
]);

type ReadField = 'n' | 'maxModelLen' | 'tensorParallel' | 'pipelineParallel';

/** Flags that are read but stay in the pass-through arguments. */
const READ: ReadonlyMap<string, ReadField> = new Map([
  ['--n', 'n'],
  ['--max-model-len', 'maxModelLen'],
  ['--tensor-parallel-size', 'tensorParallel'],
  ['-tp', 'tensorParallel'],
  ['--pipeline-parallel-size', 'pipelineParallel'],
  ['-pp', 'pipelineParallel'],
]);

/**
 * `--profile` makes vLLM profile one batch after the warm-up and return without measuring;
 * `--use-beam-search` times beam search, whose work the MFU model does not describe.
 */
const REJECTED: ReadonlyMap<string, string> = new Map([
  ['--profile', '--profile makes vllm bench latency profile one batch and print no latency; profile outside the sweep'],
  ['--use-beam-search', '--use-beam-search is not supported by latency sweeps (its work is not a fixed batch of B x O tokens)'],
]);

/** The flag of `--flag`, `--flag=v` or `-tp=2`; vLLM's FlexibleArgumentParser reads `--max_model_len` as `--max-model-len`. */
function canonicalFlag(arg: string): string {
  if (!arg.startsWith('-')) return arg;
  const eq = arg.indexOf('=');
  const name = eq === -1 ? arg : arg.slice(0, eq);
  return arg.startsWith('--') ? name.replace(/_/g, '-') : name;
}

/**
 * vLLM's integer flags; `--max-model-len` also takes vLLM's human-readable sizes
 * (`32k` = 32000, `32K` = 32768, `1m`, `1M`).
 */
function parseCount(flag: string, text: string, humanReadable: boolean): number {
  const m = humanReadable ? /^(\d+(?:\.\d+)?)([kKmMgG]?)$/.exec(text) : /^(\d+)()$/.exec(text);
  const unit = m?.[2] ?? '';
  const multiplier: Readonly<Record<string, number>> = { '': 1, k: 1e3, m: 1e6, g: 1e9, K: 1024, M: 1024 ** 2, G: 1024 ** 3 };
  const value = m === null ? Number.NaN : Number(m[1]) * (multiplier[unit] ?? Number.NaN);
  if (!Number.isSafeInteger(value)) {
    throw new AutotuneError('E_USAGE', `${flag} needs a whole number, got '${text}'`);
  }
  return value;
}

/** A grid axis's value when the study gives none: the user's own flag, else vLLM's default. */
export function latencyAxisDefaults(given: GivenLatencyArgs): { batchSize: number; inputLen: number; outputLen: number } {
  return {
    batchSize: given.batchSize ?? VLLM_LATENCY_DEFAULTS.batchSize,
    inputLen: given.inputLen ?? VLLM_LATENCY_DEFAULTS.inputLen,
    outputLen: given.outputLen ?? VLLM_LATENCY_DEFAULTS.outputLen,
  };
}

/** Splits the user's `vllm bench latency` arguments into pass-through ones and the values autotune owns. */
export function splitLatencyArgs(userArgs: readonly string[]): SplitLatencyArgs {
  const rest: string[] = [];
  const owned: Partial<Record<OwnedField, string>> = {};
  const read: Partial<Record<ReadField, number>> = {};
  for (let i = 0; i < userArgs.length; i++) {
    const arg = userArgs[i] as string;
    const flag = canonicalFlag(arg);
    const rejected = REJECTED.get(flag);
    if (rejected !== undefined) throw new AutotuneError('E_USAGE', rejected);
    const ownedField = OWNED.get(flag);
    const readField = READ.get(flag);
    if (ownedField === undefined && readField === undefined) {
      rest.push(arg);
      continue;
    }
    const eq = arg.indexOf('=');
    let value: string;
    if (eq !== -1) {
      value = arg.slice(eq + 1);
    } else {
      const next = userArgs[i + 1];
      if (next === undefined) throw new AutotuneError('E_USAGE', `${flag} needs a value`);
      value = next;
      i++;
    }
    // argparse keeps the last occurrence, so do we.
    if (ownedField !== undefined) {
      owned[ownedField] = value;
    } else if (readField !== undefined) {
      read[readField] = parseCount(flag, value, readField === 'maxModelLen');
      rest.push(...(eq !== -1 ? [arg] : [arg, value]));
    }
  }
  const count = (field: Exclude<OwnedField, 'outputJson'>, flag: string): number | null => {
    const text = owned[field];
    return text === undefined ? null : parseCount(flag, text, false);
  };
  return {
    rest,
    given: {
      batchSize: count('batchSize', '--batch-size'),
      inputLen: count('inputLen', '--input-len'),
      outputLen: count('outputLen', '--output-len'),
      warmup: count('warmup', '--num-iters-warmup'),
      measured: count('measured', '--num-iters'),
      outputJson: owned.outputJson ?? null,
      n: read.n ?? null,
      maxModelLen: read.maxModelLen ?? null,
      tensorParallel: read.tensorParallel ?? null,
      pipelineParallel: read.pipelineParallel ?? null,
    },
  };
}

function checkPositive(name: string, value: number, minimum: number): void {
  if (!Number.isSafeInteger(value) || value < minimum) {
    throw new AutotuneError('E_USAGE', `${name} must be a whole number >= ${minimum}, got ${String(value)}`);
  }
}

/**
 * The argv (after the executable) of one measurement: `bench latency`, the pass-through
 * arguments (`rest` of splitLatencyArgs), then the point, the iterations and the result file.
 */
export function buildLatencyArgv(
  rest: readonly string[],
  point: LatencyPoint,
  iterations: LatencyIterations,
  outputJsonPath: string,
): string[] {
  checkPositive('batch size', point.batchSize, 1);
  checkPositive('input length', point.inputLen, 1);
  checkPositive('output length', point.outputLen, 1);
  checkPositive('warm-up iterations', iterations.warmup, 0);
  checkPositive('measured iterations', iterations.measured, 1);
  const leftover = rest.find((arg) => OWNED.has(canonicalFlag(arg)));
  if (leftover !== undefined) {
    throw new AutotuneError('E_USAGE', `${canonicalFlag(leftover)} is set per point; pass the output of splitLatencyArgs`);
  }
  return [
    'bench',
    'latency',
    ...rest,
    '--batch-size',
    String(point.batchSize),
    '--input-len',
    String(point.inputLen),
    '--output-len',
    String(point.outputLen),
    '--num-iters-warmup',
    String(iterations.warmup),
    '--num-iters',
    String(iterations.measured),
    '--output-json',
    outputJsonPath,
  ];
}
