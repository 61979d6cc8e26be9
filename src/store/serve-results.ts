/**
 * The results file of `autotune bench serve` (`serve_results.json` in its run directory):
 * written atomically once the benchmark ends, read back as the baseline of a later one.
 * A baseline comes from outside (any file the user names), so it is validated before use.
 */
import { readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { Ajv } from 'ajv';
import { AutotuneError } from '../errors.js';
import type { ServerMemory } from '../runners/benchmarks/serve/server-log.js';
import type { CaseFigures, CaseRunResult } from '../tuner/serve-report.js';
import type { CaseLoad } from '../tuner/serve-cases.js';
import { spreadOf, type Spread } from '../tuner/serve-figures.js';
import { atomicWriteFile } from './atomic-write.js';

export const SERVE_RESULTS_FILE = 'serve_results.json';
export const SERVE_RESULTS_FORMAT = 'autotune-bench-serve/1';

export interface StoredServeCase {
  readonly key: string;
  readonly inputLen: number;
  readonly outputLen: number;
  readonly load: CaseLoad;
  readonly prompts: number;
  readonly runs: readonly CaseRunResult[];
  readonly figures: CaseFigures;
}

export interface ServeResultsDoc {
  readonly format: typeof SERVE_RESULTS_FORMAT;
  readonly createdAt: string;
  /** The session that holds its runs in the database. */
  readonly session: string;
  readonly model: string;
  /** The server benchmarked; started by autotune or the user's own. */
  readonly baseUrl: string | null;
  readonly startedServer: boolean;
  readonly generator: string;
  readonly engineArgs: readonly string[];
  readonly slos: readonly string[];
  readonly memory: ServerMemory | null;
  readonly skipped: ReadonlyArray<{ readonly key: string; readonly reason: string }>;
  readonly cases: readonly StoredServeCase[];
  /** The baseline compared against, if any. */
  readonly baseline: string | null;
}

export function writeServeResults(runDir: string, doc: ServeResultsDoc): string {
  const path = join(runDir, SERVE_RESULTS_FILE);
  atomicWriteFile(path, `${JSON.stringify(doc, null, 2)}\n`);
  return path;
}

const numberOrNull = { type: ['number', 'null'] } as const;
const FIGURES = ['outputTokensPerSec', 'totalTokensPerSec', 'requestsPerSec', 'decodeTokensPerSec', 'ttftMeanMs', 'ttftP99Ms', 'tpotMeanMs', 'tpotP99Ms', 'e2elP99Ms'] as const;
const MEAN_OF = { type: 'object', properties: { meanMs: { type: 'number' } } } as const;

/** What a baseline must hold: each case's key and figures, and its runs when it has them; the rest is not read. */
const BASELINE_SCHEMA = {
  type: 'object',
  required: ['format', 'cases'],
  properties: {
    format: { const: SERVE_RESULTS_FORMAT },
    cases: {
      type: 'array',
      items: {
        type: 'object',
        required: ['key', 'figures'],
        properties: {
          key: { type: 'string' },
          figures: { type: 'object', required: [...FIGURES], properties: Object.fromEntries(FIGURES.map((f) => [f, numberOrNull])) },
          runs: {
            type: 'array',
            items: {
              type: 'object',
              required: ['warmup', 'outcome', 'summary'],
              properties: {
                warmup: { type: 'boolean' },
                outcome: { type: 'string' },
                summary: {
                  type: ['object', 'null'],
                  properties: { outputThroughput: numberOrNull, latency: { type: 'object', properties: { ttft: MEAN_OF, tpot: MEAN_OF } } },
                },
              },
            },
          },
        },
      },
    },
  },
} as const;

interface BaselineFileCase {
  readonly key: string;
  readonly figures: Pick<CaseFigures, (typeof FIGURES)[number]>;
  readonly runs?: ReadonlyArray<{
    readonly warmup: boolean;
    readonly outcome: string;
    readonly summary: { readonly outputThroughput?: number | null; readonly latency?: { readonly ttft?: { readonly meanMs?: number }; readonly tpot?: { readonly meanMs?: number } } } | null;
  }>;
}

/** A baseline case: output tokens/s, mean TPOT and mean TTFT over its measured runs. */
export interface BaselineCase {
  readonly outputTokensPerSec: Spread | null;
  readonly tpotMeanMs: Spread | null;
  readonly ttftMeanMs: Spread | null;
}

const validate = new Ajv({ allErrors: false }).compile<{ format: string; cases: BaselineFileCase[] }>(BASELINE_SCHEMA);

/** The runs' spread when the file lists its runs (every results file does), else the case's mean as one value. */
function baselineCase(c: BaselineFileCase): BaselineCase {
  const ok = (c.runs ?? []).filter((r) => !r.warmup && r.outcome === 'ok' && r.summary !== null);
  const values = (pick: (s: NonNullable<NonNullable<BaselineFileCase['runs']>[number]['summary']>) => number | null | undefined, mean: number | null): Spread | null => {
    const v = ok.flatMap((r) => {
      const x = r.summary === null ? undefined : pick(r.summary);
      return typeof x === 'number' ? [x] : [];
    });
    return spreadOf(v.length > 0 ? v : mean === null ? [] : [mean]);
  };
  return {
    outputTokensPerSec: values((s) => s.outputThroughput, c.figures.outputTokensPerSec),
    tpotMeanMs: values((s) => s.latency?.tpot?.meanMs, c.figures.tpotMeanMs),
    ttftMeanMs: values((s) => s.latency?.ttft?.meanMs, c.figures.ttftMeanMs),
  };
}

/** A baseline file, or the results file of a run directory; by case key. */
export function readServeBaseline(path: string): Map<string, BaselineCase> {
  let file = path;
  try {
    if (statSync(path).isDirectory()) file = join(path, SERVE_RESULTS_FILE);
  } catch {
    throw new AutotuneError('E_USAGE', `--baseline: no such file or directory: ${path}`);
  }
  let data: unknown;
  try {
    data = JSON.parse(readFileSync(file, 'utf8'));
  } catch (error) {
    throw new AutotuneError('E_USAGE', `--baseline: cannot read ${file}: ${error instanceof Error ? error.message : String(error)}`);
  }
  if (!validate(data)) {
    throw new AutotuneError('E_USAGE', `--baseline: ${file} is not a results file of autotune bench serve (${validate.errors?.[0]?.instancePath ?? ''} ${validate.errors?.[0]?.message ?? ''})`);
  }
  return new Map(data.cases.map((c) => [c.key, baselineCase(c)]));
}

/** `server.json` in the run directory while autotune's server runs: what a later invocation needs to reap it. */
export const SERVER_RECORD_FILE = 'server.json';

export interface ServerRecord {
  readonly pid: number;
  readonly runKey: string;
  /** The autotune process that owns the server; when it is gone, so should the server be. */
  readonly ownerPid: number;
}

export function writeServerRecord(runDir: string, record: ServerRecord): void {
  atomicWriteFile(join(runDir, SERVER_RECORD_FILE), `${JSON.stringify(record)}\n`);
}

export function removeServerRecord(runDir: string): void {
  rmSync(join(runDir, SERVER_RECORD_FILE), { force: true });
}

function isServerRecord(v: unknown): v is ServerRecord {
  if (typeof v !== 'object' || v === null) return false;
  const r = v as Record<string, unknown>;
  return Number.isSafeInteger(r['pid']) && Number.isSafeInteger(r['ownerPid']) && typeof r['runKey'] === 'string';
}

/** Server records left in the bench run directories under `outputDir` (malformed ones are skipped), with their run directory. */
export function leftServerRecords(outputDir: string): Array<{ readonly runDir: string; readonly record: ServerRecord }> {
  let entries: string[];
  try {
    entries = readdirSync(outputDir).filter((d) => d.startsWith('bench_serve_'));
  } catch {
    return [];
  }
  const out: Array<{ runDir: string; record: ServerRecord }> = [];
  for (const entry of entries) {
    const runDir = join(outputDir, entry);
    try {
      const data: unknown = JSON.parse(readFileSync(join(runDir, SERVER_RECORD_FILE), 'utf8'));
      if (isServerRecord(data)) out.push({ runDir, record: data });
    } catch {
      // no record: that run's server was stopped
    }
  }
  return out;
}
