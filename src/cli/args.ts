/**
 * Splits a tuning command line into autotune's own options and the `vllm bench throughput`
 * arguments, which are passed on verbatim and in order. Pure.
 */
import { AutotuneError } from '../errors.js';
import type { Metric, PolicyName } from '../tuner/types.js';

export interface RunOptions {
  readonly passthrough: string[];
  readonly ops: string[] | null;
  readonly numRuns: number;
  readonly csvName: string;
  readonly background: boolean;
  readonly timeoutSec: number;
  readonly vllmBin: string;
  readonly policy: PolicyName;
  readonly metric: Metric;
  readonly minGain: number;
  readonly budget: number | null;
  readonly seed: number | null;
  readonly db: string | null;
  readonly outputDir: string;
  readonly quiet: boolean;
}

export const DEFAULT_TIMEOUT_SEC = 7200;

type Parser = (value: string, flag: string) => Partial<Record<keyof RunOptions, unknown>>;

function integer(value: string, flag: string, min: number): number {
  const n = Number(value);
  if (!/^\s*-?\d+\s*$/.test(value) || !Number.isSafeInteger(n) || n < min) {
    throw new AutotuneError('E_USAGE', `Expected \`${flag}\` to be an integer >= ${min}, got \`${value}\``);
  }
  return n;
}

function positiveNumber(value: string, flag: string): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n) || n <= 0) {
    throw new AutotuneError('E_USAGE', `Expected \`${flag}\` to be a number > 0, got \`${value}\``);
  }
  return n;
}

function oneOf<T extends string>(value: string, flag: string, allowed: readonly T[]): T {
  const found = allowed.find((a) => a === value);
  if (found === undefined) {
    throw new AutotuneError('E_USAGE', `Expected \`${flag}\` to be one of ${allowed.join(', ')}, got \`${value}\``);
  }
  return found;
}

/** The reference's rule: "true" or "1", any case, means true. */
export function parseBool(value: string): boolean {
  return ['1', 'true'].includes(value.trim().toLowerCase());
}

const VALUE_FLAGS: Record<string, Parser> = {
  '--ops': (v) => ({
    ops: (() => {
      const ops = v.split(',').map((s) => s.trim()).filter((s) => s !== '');
      return ops.length > 0 ? ops : null;
    })(),
  }),
  '--num-runs': (v, f) => ({ numRuns: integer(v, f, 1) }),
  '--csv-path': (v, f) => {
    const base = v.split(/[\\/]/).pop() ?? '';
    if (base === '' || base === '.' || base === '..') throw new AutotuneError('E_USAGE', `Expected \`${f}\` to name a file, got \`${v}\``);
    return { csvName: base };
  },
  '--background': (v) => ({ background: parseBool(v) }),
  '--timeout': (v, f) => ({ timeoutSec: positiveNumber(v, f) }),
  '--vllm-bin': (v, f) => {
    if (v.trim() === '') throw new AutotuneError('E_USAGE', `Expected \`${f}\` to be a path, got an empty string`);
    return { vllmBin: v };
  },
  '--policy': (v, f) => ({ policy: oneOf(v, f, ['noise-aware', 'reference'] as const) }),
  '--metric': (v, f) => ({ metric: oneOf(v, f, ['total', 'output', 'requests'] as const) }),
  '--min-gain': (v, f) => {
    const n = Number(v);
    if (v.trim() === '' || !Number.isFinite(n) || n < 0 || n >= 1) {
      throw new AutotuneError('E_USAGE', `Expected \`${f}\` to be a fraction in [0, 1) such as 0.005, got \`${v}\``);
    }
    return { minGain: n };
  },
  '--budget': (v, f) => ({ budget: integer(v, f, 1) }),
  '--seed': (v, f) => ({ seed: integer(v, f, 0) }),
  '--db': (v) => ({ db: v }),
  '--output-dir': (v) => ({ outputDir: v }),
};

const SWITCHES: Record<string, Partial<Record<keyof RunOptions, unknown>>> = {
  '--quiet': { quiet: true },
};

export function defaultRunOptions(): RunOptions {
  return {
    passthrough: [],
    ops: null,
    numRuns: 2,
    csvName: 'history.csv',
    background: false,
    timeoutSec: DEFAULT_TIMEOUT_SEC,
    vllmBin: 'vllm',
    policy: 'noise-aware',
    metric: 'total',
    minGain: 0.005,
    budget: null,
    seed: null,
    db: null,
    outputDir: 'autotune_logs',
    quiet: false,
  };
}

/**
 * `--flag value` and `--flag=value` are autotune's when the flag is; everything else, and
 * everything after a literal `--`, goes to vLLM untouched.
 */
export function parseRunArgs(argv: readonly string[]): RunOptions {
  const parsed: Record<string, unknown> = { ...defaultRunOptions() };
  const passthrough: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    if (arg === '--') {
      passthrough.push(...argv.slice(i + 1));
      break;
    }
    const eq = arg.indexOf('=');
    const name = arg.startsWith('--') && eq > 0 ? arg.slice(0, eq) : arg;
    const sw = SWITCHES[name];
    if (sw !== undefined && name === arg) {
      Object.assign(parsed, sw);
      continue;
    }
    const parser = VALUE_FLAGS[name];
    if (parser === undefined) {
      passthrough.push(arg);
      continue;
    }
    let value: string;
    if (name !== arg) {
      value = arg.slice(eq + 1);
    } else if (name === '--background' && (i + 1 >= argv.length || (argv[i + 1] as string).startsWith('--'))) {
      value = 'true';
    } else {
      const next = argv[i + 1];
      if (next === undefined) throw new AutotuneError('E_USAGE', `\`${name}\` needs a value`);
      value = next;
      i += 1;
    }
    Object.assign(parsed, parser(value, name));
  }
  if (passthrough.length === 0) {
    throw new AutotuneError(
      'E_USAGE',
      'no `vllm bench throughput` arguments given; pass them after the autotune options, e.g. `autotune --model /models/X --dataset-name random --input-len 512 --output-len 128`',
    );
  }
  parsed['passthrough'] = passthrough;
  return parsed as unknown as RunOptions;
}
