/**
 * Reads the benchmark's result from its console log and from its --output-json file. Pure.
 * Formats: vllm-bench-throughput.md §3 (current and old `Throughput:` lines) and §1
 * (`Total Token throughput (tok/s):` of `bench serve`, which the reference autotuner also parses).
 */
import type { Throughput } from '../../../tuner/types.js';
import { splitLogLines } from '../../log-text.js';

const NUM = String.raw`(\d+(?:\.\d+)?)`;

/** Current `R requests/s, T total tokens/s, O output tokens/s` and pre-2024-10 `R requests/s, T tokens/s`. */
const THROUGHPUT_LINE = new RegExp(
  String.raw`Throughput:\s*${NUM}\s*requests/s,\s*${NUM}\s*(?:total\s+)?tokens/s(?:,\s*${NUM}\s*output\s+tokens/s)?`,
);
/** `bench serve`'s summary; newer builds spell it with a lower-case t. */
const TOTAL_TOKEN_LINE = new RegExp(String.raw`Total [Tt]oken throughput \(tok/s\):\s*${NUM}`);

function parseLine(line: string): Throughput | null {
  const m = THROUGHPUT_LINE.exec(line);
  if (m !== null) {
    return {
      requestsPerSec: Number(m[1]),
      totalTokensPerSec: Number(m[2]),
      outputTokensPerSec: m[3] === undefined ? null : Number(m[3]),
    };
  }
  const legacy = TOTAL_TOKEN_LINE.exec(line);
  if (legacy !== null) {
    return { requestsPerSec: null, totalTokensPerSec: Number(legacy[1]), outputTokensPerSec: null };
  }
  return null;
}

/** The last result printed in the log, or null when the benchmark never printed one. */
export function parseThroughput(log: string): Throughput | null {
  let last: Throughput | null = null;
  for (const line of splitLogLines(log)) {
    // Cheap filter first: a multi-MB log is mostly lines without the word.
    if (!/hroughput/.test(line)) continue;
    last = parseLine(line) ?? last;
  }
  return last;
}

export interface OutputJsonResult {
  readonly requestsPerSec: number;
  readonly totalTokensPerSec: number;
}

function finiteField(record: Record<string, unknown>, key: string): number | null {
  const value = record[key];
  return typeof value === 'number' && Number.isFinite(value) ? value : null;
}

/** vLLM's --output-json file (§4). It has no output-tokens figure. Anything malformed is null. */
export function parseOutputJson(text: string): OutputJsonResult | null {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch {
    return null;
  }
  if (typeof data !== 'object' || data === null || Array.isArray(data)) return null;
  const record = data as Record<string, unknown>;
  const requestsPerSec = finiteField(record, 'requests_per_second');
  const totalTokensPerSec = finiteField(record, 'tokens_per_second');
  if (requestsPerSec === null || totalTokensPerSec === null) return null;
  return { requestsPerSec, totalTokensPerSec };
}

/**
 * The JSON carries unrounded requests and total figures, the console rounds to 2 decimals;
 * the output figure exists only in the console line.
 */
export function mergeResults(json: OutputJsonResult | null, text: Throughput | null): Throughput | null {
  if (json === null) return text;
  return {
    requestsPerSec: json.requestsPerSec,
    totalTokensPerSec: json.totalTokensPerSec,
    outputTokensPerSec: text?.outputTokensPerSec ?? null,
  };
}
