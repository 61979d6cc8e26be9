/**
 * Command lines of the serving benchmark. Pure.
 * Flags: vllm-project/vllm:vllm/benchmarks/serve.py@009e6d4 (`add_cli_args`) and
 * vllm/entrypoints/openai/cli_args.py (`--host`, `--port`).
 *
 * Precedence as for latency: what a case sets (lengths, load, prompt count, the result file, the
 * server address) is autotune's, so a user's own spelling of those flags is taken out of the
 * pass-through arguments and replaced once.
 */
import { AutotuneError } from '../../../errors.js';
import type { ServeCase } from '../../../tuner/serve-cases.js';

/** The flag of `--flag`, `--flag=v`; vLLM's parser reads `_` as `-`. */
function canonicalFlag(arg: string): string {
  if (!arg.startsWith('--')) return arg;
  const eq = arg.indexOf('=');
  return (eq === -1 ? arg : arg.slice(0, eq)).replace(/_/g, '-');
}

/** Flags that take no value. */
const SWITCHES = new Set(['--save-result', '--ignore-eos', '--disable-tqdm', '--append-result', '--save-detailed']);

/** Removes `owned` flags (with their value unless a switch); returns what stays, in order. */
function without(args: readonly string[], owned: ReadonlySet<string>): string[] {
  const rest: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i] as string;
    const flag = canonicalFlag(arg);
    if (!owned.has(flag)) {
      rest.push(arg);
      continue;
    }
    if (!SWITCHES.has(flag) && !arg.includes('=')) i++;
  }
  return rest;
}

const BENCH_OWNED = new Set([
  '--base-url',
  '--host',
  '--port',
  '--dataset-name',
  '--input-len',
  '--output-len',
  '--random-input-len',
  '--random-output-len',
  '--random-range-ratio',
  '--num-prompts',
  '--max-concurrency',
  '--request-rate',
  '--ignore-eos',
  '--save-result',
  '--result-dir',
  '--result-filename',
  '--percentile-metrics',
  '--metric-percentiles',
  '--disable-tqdm',
  '--seed',
]);

export interface BenchServeRun {
  readonly baseUrl: string;
  readonly case: ServeCase;
  readonly resultDir: string;
  readonly resultFilename: string;
  /** Percentiles to report, beyond 50/90/99 (what the SLOs name). */
  readonly percentiles: readonly string[];
  /** Seeds dataset sampling (vLLM's `--seed`), so the prompts of a run are reproducible. */
  readonly seed: number;
}

/**
 * `bench serve` argv after the executable: the user's pass-through arguments, then the case on
 * the random dataset with exact lengths (range ratio 0) and ignore_eos, so every request
 * produces exactly the output length, and the full percentile set in the result file.
 */
export function buildBenchServeArgv(userArgs: readonly string[], run: BenchServeRun): string[] {
  const c = run.case;
  const percentiles = [...new Set(['50', '90', '99', ...run.percentiles])].sort((a, b) => Number(a) - Number(b));
  const rest = without(userArgs, BENCH_OWNED);
  return [
    'bench',
    'serve',
    ...rest,
    '--base-url',
    run.baseUrl,
    '--dataset-name',
    'random',
    '--random-input-len',
    String(c.inputLen),
    '--random-output-len',
    String(c.outputLen),
    '--random-range-ratio',
    '0',
    '--num-prompts',
    String(c.prompts),
    ...(c.load.kind === 'concurrency' ? ['--max-concurrency', String(c.load.concurrency)] : ['--request-rate', String(c.load.rate)]),
    '--ignore-eos',
    '--seed',
    String(run.seed),
    '--percentile-metrics',
    'ttft,tpot,itl,e2el',
    '--metric-percentiles',
    percentiles.join(','),
    '--save-result',
    '--result-dir',
    run.resultDir,
    '--result-filename',
    run.resultFilename,
    '--disable-tqdm',
  ];
}

const SERVE_OWNED = new Set(['--host', '--port']);

/**
 * `serve MODEL <engine args> --host 127.0.0.1 --port P`: the server listens on loopback only,
 * on the port autotune picked. The model is the first positional argument or `--model`.
 */
export function buildServeArgv(model: string, engineArgs: readonly string[], port: number): string[] {
  if (model === '') throw new AutotuneError('E_USAGE', 'vllm serve needs a model');
  if (!Number.isSafeInteger(port) || port < 1 || port > 65535) throw new AutotuneError('E_USAGE', `not a port: ${port}`);
  return ['serve', model, ...without(engineArgs, SERVE_OWNED), '--host', '127.0.0.1', '--port', String(port)];
}

/** `--model X`, `--model=X`, or a first positional argument of the user's serve arguments; null when none. */
export function splitServeModel(args: readonly string[]): { readonly model: string | null; readonly engineArgs: string[] } {
  const first = args[0];
  if (first !== undefined && !first.startsWith('-')) return { model: first, engineArgs: args.slice(1) };
  const engineArgs: string[] = [];
  let model: string | null = null;
  for (let i = 0; i < args.length; i++) {
    const arg = args[i] as string;
    if (canonicalFlag(arg) === '--model') {
      if (arg.includes('=')) model = arg.slice(arg.indexOf('=') + 1);
      else model = args[++i] ?? null;
      continue;
    }
    engineArgs.push(arg);
  }
  return { model, engineArgs };
}

/** `--max-model-len` of the engine arguments (vLLM's human-readable `32k`/`32K` included), or null. */
export function maxModelLenArg(engineArgs: readonly string[]): number | null {
  let text: string | null = null;
  for (let i = 0; i < engineArgs.length; i++) {
    const arg = engineArgs[i] as string;
    if (canonicalFlag(arg) !== '--max-model-len') continue;
    text = arg.includes('=') ? arg.slice(arg.indexOf('=') + 1) : (engineArgs[i + 1] ?? null);
  }
  if (text === null) return null;
  const m = /^(\d+)([kKmM]?)$/.exec(text);
  if (m === null) throw new AutotuneError('E_USAGE', `--max-model-len needs a whole number, got '${text}'`);
  const unit: Readonly<Record<string, number>> = { '': 1, k: 1000, K: 1024, m: 1e6, M: 1024 ** 2 };
  return Number(m[1]) * (unit[m[2] as string] ?? 1);
}
