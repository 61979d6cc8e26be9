/**
 * The engine arguments the simulated benchmarks read from their command line, with argparse's
 * own rejections (exit 2) for values it cannot convert. Defaults that depend on the hardware
 * (max-num-seqs, max-num-batched-tokens) stay null here: the scenario's engine says what they are.
 */
import { argFlag, argValue } from './argv.js';

export type KvCacheDtype = 'auto' | 'fp8' | 'fp8_e4m3' | 'fp8_e5m2';
const KV_CACHE_DTYPES: readonly KvCacheDtype[] = ['auto', 'fp8', 'fp8_e4m3', 'fp8_e5m2'];
const BLOCK_SIZES = [1, 8, 16, 32, 64, 128] as const;

export interface Speculative {
  /** `method` of the config, `draft_model` when it names a draft `model` instead. */
  readonly method: string;
  readonly numSpeculativeTokens: number;
}

export interface EngineArgs {
  readonly tp: number;
  readonly pp: number;
  readonly dp: number;
  readonly maxNumSeqs: number | null;
  readonly maxNumBatchedTokens: number | null;
  readonly gpuMemoryUtilization: number;
  readonly speculative: Speculative | null;
  readonly kvCacheDtype: KvCacheDtype;
  readonly blockSize: number;
  readonly maxModelLen: number | null;
  /** null: the engine's default (V1 always chunks prefills). */
  readonly chunkedPrefill: boolean | null;
  /** --input-len/--output-len when given: the benchmark's own request shape. */
  readonly inputLen: number | null;
  readonly outputLen: number | null;
}

const SHORT: Readonly<Record<string, string>> = { '-tp': '--tensor-parallel-size', '-pp': '--pipeline-parallel-size', '-dp': '--data-parallel-size' };

/** Short aliases rewritten to their long names, so one lookup serves both spellings. */
function canonicalArgs(args: readonly string[]): string[] {
  return args.map((arg) => {
    const eq = arg.indexOf('=');
    const flag = eq === -1 ? arg : arg.slice(0, eq);
    const long = SHORT[flag];
    return long === undefined ? arg : eq === -1 ? long : `${long}${arg.slice(eq)}`;
  });
}

type Read<T> = { value: T } | { problem: string };

function intArg(args: readonly string[], name: string): Read<number | null> {
  const raw = argValue(args, name);
  if (raw === null) return { value: null };
  if (!/^-?\d+$/.test(raw)) return { problem: `argument ${name}: invalid int value: '${raw}'` };
  return { value: Number(raw) };
}

function floatArg(args: readonly string[], name: string): Read<number | null> {
  const raw = argValue(args, name);
  if (raw === null) return { value: null };
  const value = Number(raw);
  if (raw.trim() === '' || !Number.isFinite(value)) return { problem: `argument ${name}: invalid float value: '${raw}'` };
  return { value };
}

function speculativeArg(args: readonly string[]): Read<Speculative | null> {
  const raw = argValue(args, '--speculative-config');
  if (raw === null) return { value: null };
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    return { problem: `argument --speculative-config: invalid loads value: '${raw}'` };
  }
  if (parsed === null) return { value: null };
  if (typeof parsed !== 'object' || Array.isArray(parsed)) return { problem: `argument --speculative-config: invalid loads value: '${raw}'` };
  const o = parsed as Record<string, unknown>;
  const method = typeof o['method'] === 'string' ? o['method'] : 'draft_model';
  const k = o['num_speculative_tokens'];
  return { value: { method, numSpeculativeTokens: typeof k === 'number' && Number.isInteger(k) && k > 0 ? k : 1 } };
}

/** The engine arguments of a benchmark command line, or argparse's complaint about one of them. */
export function readEngineArgs(argv: readonly string[]): { args: EngineArgs } | { problem: string } {
  const args = canonicalArgs(argv);
  const ints = {
    tp: intArg(args, '--tensor-parallel-size'),
    pp: intArg(args, '--pipeline-parallel-size'),
    dp: intArg(args, '--data-parallel-size'),
    maxNumSeqs: intArg(args, '--max-num-seqs'),
    maxNumBatchedTokens: intArg(args, '--max-num-batched-tokens'),
    blockSize: intArg(args, '--block-size'),
    maxModelLen: intArg(args, '--max-model-len'),
    inputLen: intArg(args, '--input-len'),
    outputLen: intArg(args, '--output-len'),
  };
  const values: Partial<Record<keyof typeof ints, number | null>> = {};
  for (const [key, read] of Object.entries(ints) as Array<[keyof typeof ints, Read<number | null>]>) {
    if ('problem' in read) return read;
    values[key] = read.value;
  }
  const gmu = floatArg(args, '--gpu-memory-utilization');
  if ('problem' in gmu) return gmu;
  const spec = speculativeArg(args);
  if ('problem' in spec) return spec;
  const kv = argValue(args, '--kv-cache-dtype') ?? 'auto';
  if (!(KV_CACHE_DTYPES as readonly string[]).includes(kv)) {
    const list = KV_CACHE_DTYPES.map((c) => `'${c}'`).join(', ');
    return { problem: `argument --kv-cache-dtype: invalid choice: '${kv}' (choose from ${list})` };
  }
  const blockSize = values.blockSize ?? 16;
  if (!(BLOCK_SIZES as readonly number[]).includes(blockSize)) {
    return { problem: `argument --block-size: invalid choice: ${blockSize} (choose from ${BLOCK_SIZES.join(', ')})` };
  }
  const chunked = argFlag(args, '--no-enable-chunked-prefill') ? false : chunkedPrefillValue(args);
  return {
    args: {
      tp: values.tp ?? 1,
      pp: values.pp ?? 1,
      dp: values.dp ?? 1,
      maxNumSeqs: values.maxNumSeqs ?? null,
      maxNumBatchedTokens: values.maxNumBatchedTokens ?? null,
      gpuMemoryUtilization: gmu.value ?? 0.9,
      speculative: spec.value,
      kvCacheDtype: kv as KvCacheDtype,
      blockSize,
      maxModelLen: values.maxModelLen ?? null,
      chunkedPrefill: chunked,
      inputLen: values.inputLen ?? null,
      outputLen: values.outputLen ?? null,
    },
  };
}

/** `--enable-chunked-prefill` is a bare flag, or takes an explicit True/False as older releases did. */
function chunkedPrefillValue(args: readonly string[]): boolean | null {
  const i = args.lastIndexOf('--enable-chunked-prefill');
  const inline = args.find((a) => a.startsWith('--enable-chunked-prefill='));
  const raw = inline !== undefined ? inline.slice('--enable-chunked-prefill='.length) : i === -1 ? null : (args[i + 1] ?? '');
  if (raw === null) return null;
  if (/^(false|0)$/i.test(raw)) return false;
  return true;
}
