/**
 * Case matrices of the serving benchmark. Pure.
 *
 * A case is one load shape: prompts of `inputLen` tokens asking for `outputLen` tokens, sent
 * either with at most `concurrency` requests in flight or at `rate` requests/s (Poisson), and
 * `prompts` requests in all. `--cases 1024x1024@64,4096x1024@64/512,128x128r2.5` spells them;
 * a job file lists the same fields. The presets are the ISL/OSL pairs users already run.
 */
import { AutotuneError } from '../errors.js';

export type CaseLoad = { readonly kind: 'concurrency'; readonly concurrency: number } | { readonly kind: 'rate'; readonly rate: number };

export interface ServeCase {
  readonly inputLen: number;
  readonly outputLen: number;
  readonly load: CaseLoad;
  /** Requests per run. */
  readonly prompts: number;
}

/** Requests per run when a case does not say: enough for stable percentiles, a few rounds of the concurrency. */
export function defaultPrompts(load: CaseLoad): number {
  return load.kind === 'concurrency' ? Math.max(32, 4 * load.concurrency) : 200;
}

/** The default load of a preset pair. */
const PRESET_CONCURRENCY = 64;

type Pair = readonly [number, number];

/** Always run: micro-benchmark, short balanced, standard chat, prefill-heavy, decode-heavy. */
const CORE: readonly Pair[] = [
  [128, 128],
  [256, 256],
  [1024, 1024],
  [1024, 128],
  [128, 1024],
];

/** Run when max-model-len allows: long prefill and long decode up to 64k. */
const EXTENDED_ONLY: readonly Pair[] = [
  [4096, 256],
  [4096, 4096],
  [8192, 1024],
  [8192, 8192],
  [16384, 512],
  [256, 4096],
  [1024, 8192],
  [32768, 256],
  [256, 16384],
  [65536, 256],
  [256, 65536],
];

export const CASE_PRESETS = ['core', 'extended'] as const;
export type CasePreset = (typeof CASE_PRESETS)[number];

function presetCase([inputLen, outputLen]: Pair, concurrency: number): ServeCase {
  const load: CaseLoad = { kind: 'concurrency', concurrency };
  return { inputLen, outputLen, load, prompts: defaultPrompts(load) };
}

/** `core`, or `extended` (core plus the long pairs), all at one concurrency. */
export function presetCases(preset: CasePreset, concurrency = PRESET_CONCURRENCY): ServeCase[] {
  const pairs = preset === 'core' ? CORE : [...CORE, ...EXTENDED_ONLY];
  return pairs.map((pair) => presetCase(pair, concurrency));
}

function whole(text: string, what: string, spec: string): number {
  if (!/^\d+$/.test(text)) throw new AutotuneError('E_USAGE', `--cases: ${what} in '${spec}' must be a whole number, got '${text}'`);
  const value = Number(text);
  if (!Number.isSafeInteger(value) || value < 1) throw new AutotuneError('E_USAGE', `--cases: ${what} in '${spec}' must be at least 1`);
  return value;
}

/** vLLM's `1k`/`4k`/`64k` shorthand is common in case names; k = 1024 here, as in the presets. */
function length(text: string, what: string, spec: string): number {
  const m = /^(\d+)([kK]?)$/.exec(text);
  if (m === null) throw new AutotuneError('E_USAGE', `--cases: ${what} in '${spec}' must be a whole number, got '${text}'`);
  return whole(m[1] as string, what, spec) * (m[2] === '' ? 1 : 1024);
}

const CASE = /^([0-9kK]+)x([0-9kK]+)(?:@(\d+)|r(\d+(?:\.\d+)?))?(?:\/(\d+))?$/;

/** One `IxO@C[/P]` or `IxOr<rate>[/P]` item; a bare `IxO` takes `defaultConcurrency`. */
export function parseCase(spec: string, defaultConcurrency = PRESET_CONCURRENCY): ServeCase {
  const m = CASE.exec(spec.trim());
  if (m === null) {
    throw new AutotuneError('E_USAGE', `--cases: '${spec}' is not INPUTxOUTPUT[@CONCURRENCY|rRATE][/PROMPTS] (e.g. 1024x128@64, 512x512r4/400)`);
  }
  const inputLen = length(m[1] as string, 'the input length', spec);
  const outputLen = length(m[2] as string, 'the output length', spec);
  let load: CaseLoad;
  if (m[4] !== undefined) {
    const rate = Number(m[4]);
    if (!(rate > 0)) throw new AutotuneError('E_USAGE', `--cases: the request rate in '${spec}' must be above 0`);
    load = { kind: 'rate', rate };
  } else {
    load = { kind: 'concurrency', concurrency: m[3] === undefined ? defaultConcurrency : whole(m[3], 'the concurrency', spec) };
  }
  const prompts = m[5] === undefined ? defaultPrompts(load) : whole(m[5], 'the prompt count', spec);
  return { inputLen, outputLen, load, prompts };
}

/** `--cases` value: a comma list of cases and preset names (`core`, `extended`). Duplicates are refused. */
export function parseCases(text: string): ServeCase[] {
  const items = text.split(',').map((s) => s.trim()).filter((s) => s !== '');
  if (items.length === 0) throw new AutotuneError('E_USAGE', '--cases needs at least one case');
  const cases: ServeCase[] = [];
  for (const item of items) {
    if ((CASE_PRESETS as readonly string[]).includes(item)) cases.push(...presetCases(item as CasePreset));
    else cases.push(parseCase(item));
  }
  return dedupe(cases);
}

/** A job file's `cases:` entry, already JSON/YAML-decoded: a string as on the command line, or an object. */
export function caseFromJob(entry: unknown, index: number): ServeCase {
  if (typeof entry === 'string') return parseCase(entry);
  const where = `cases[${index}]`;
  if (typeof entry !== 'object' || entry === null || Array.isArray(entry)) {
    throw new AutotuneError('E_CONFIG', `${where} must be a string such as 1024x128@64 or an object with input_len and output_len`);
  }
  const record = entry as Readonly<Record<string, unknown>>;
  const allowed = ['input_len', 'output_len', 'concurrency', 'rate', 'prompts'];
  const unknown = Object.keys(record).find((k) => !allowed.includes(k));
  if (unknown !== undefined) throw new AutotuneError('E_CONFIG', `${where}: unknown field '${unknown}' (known: ${allowed.join(', ')})`);
  const count = (key: string, required: boolean): number | null => {
    const value = record[key];
    if (value === undefined && !required) return null;
    if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 1) {
      throw new AutotuneError('E_CONFIG', `${where}.${key} must be a whole number >= 1`);
    }
    return value;
  };
  const inputLen = count('input_len', true) as number;
  const outputLen = count('output_len', true) as number;
  const concurrency = count('concurrency', false);
  const rate = record['rate'];
  if (concurrency !== null && rate !== undefined) throw new AutotuneError('E_CONFIG', `${where}: give concurrency or rate, not both`);
  let load: CaseLoad;
  if (rate !== undefined) {
    if (typeof rate !== 'number' || !(rate > 0) || !Number.isFinite(rate)) throw new AutotuneError('E_CONFIG', `${where}.rate must be a number above 0`);
    load = { kind: 'rate', rate };
  } else {
    load = { kind: 'concurrency', concurrency: concurrency ?? PRESET_CONCURRENCY };
  }
  return { inputLen, outputLen, load, prompts: count('prompts', false) ?? defaultPrompts(load) };
}

/** Stable identity of a case, used in file names and as a database key: `1024x128@64/256`, `512x512r2.5/200`. */
export function caseKey(c: ServeCase): string {
  const load = c.load.kind === 'concurrency' ? `@${c.load.concurrency}` : `r${c.load.rate}`;
  return `${c.inputLen}x${c.outputLen}${load}/${c.prompts}`;
}

function dedupe(cases: readonly ServeCase[]): ServeCase[] {
  const seen = new Set<string>();
  const out: ServeCase[] = [];
  for (const c of cases) {
    const key = caseKey(c);
    if (seen.has(key)) throw new AutotuneError('E_USAGE', `--cases: ${key} is listed twice`);
    seen.add(key);
    out.push(c);
  }
  return out;
}

export interface SkippedCase {
  readonly case: ServeCase;
  readonly reason: string;
}

export interface CasePlan {
  readonly run: readonly ServeCase[];
  readonly skipped: readonly SkippedCase[];
}

/** Cases whose prompt plus output cannot fit one sequence of the server are skipped with the reason; null = unknown limit. */
export function planCases(cases: readonly ServeCase[], maxModelLen: number | null): CasePlan {
  const run: ServeCase[] = [];
  const skipped: SkippedCase[] = [];
  for (const c of cases) {
    const need = c.inputLen + c.outputLen;
    if (maxModelLen !== null && need > maxModelLen) {
      skipped.push({ case: c, reason: `input + output = ${need} tokens exceeds max-model-len ${maxModelLen}` });
    } else {
      run.push(c);
    }
  }
  return { run, skipped };
}

export interface CaseRun {
  readonly case: ServeCase;
  /** 0-based over all runs of the case, warm-ups included. */
  readonly index: number;
  /** Warm-ups are run and stored but never measured. */
  readonly warmup: boolean;
}

/** The runs of each case in order: `warmups` discarded ones, then `measured` ones. */
export function caseRuns(cases: readonly ServeCase[], warmups: number, measured: number): CaseRun[] {
  if (!Number.isSafeInteger(warmups) || warmups < 0) throw new AutotuneError('E_USAGE', `warm-up runs must be a whole number >= 0, got ${warmups}`);
  if (!Number.isSafeInteger(measured) || measured < 1) throw new AutotuneError('E_USAGE', `measured runs must be a whole number >= 1, got ${measured}`);
  return cases.flatMap((c) => Array.from({ length: warmups + measured }, (_, index) => ({ case: c, index, warmup: index < warmups })));
}

/** `--num-runs N` as the reference reads it: all but the last are warm-ups; the serving tools users run keep 1 warm-up. */
export function splitNumRuns(numRuns: number): { readonly warmups: number; readonly measured: number } {
  if (!Number.isSafeInteger(numRuns) || numRuns < 1) throw new AutotuneError('E_USAGE', `--num-runs must be a whole number >= 1, got ${numRuns}`);
  return numRuns === 1 ? { warmups: 0, measured: 1 } : { warmups: 1, measured: numRuns - 1 };
}
