/**
 * What a `vllm serve` log says about the server: startup complete, and the memory lines users
 * report next to every result. Pure. Formats (vllm-project/vllm, v1 worker and kv_cache_utils):
 *
 *     Model loading took 15.2690 GiB and 4.337616 seconds     (newer: "took 15.27 GiB memory and ...")
 *     Available KV cache memory: 104.73 GiB
 *     GPU KV cache size: 762,640 tokens
 *     Maximum concurrency for 40,960 tokens per request: 18.62x
 *     Starting vLLM API server 0 on http://127.0.0.1:8000     (older: "Starting vLLM API server on ...")
 *     INFO:     Application startup complete.                  (uvicorn)
 *
 * A tensor-parallel server prints the memory lines once per worker; the first of each is kept
 * (they agree across ranks).
 */
import { splitLogLines } from '../../log-text.js';

export interface ServerMemory {
  readonly modelMemoryGiB: number | null;
  readonly kvCacheMemoryGiB: number | null;
  readonly kvCacheTokens: number | null;
  /** `Maximum concurrency for N tokens per request: Xx`. */
  readonly maxConcurrency: { readonly tokensPerRequest: number; readonly factor: number } | null;
}

const MODEL_LOADING = /Model loading took (\d+(?:\.\d+)?) GiB/;
const KV_MEMORY = /Available KV cache memory: (-?\d+(?:\.\d+)?) GiB/;
const KV_TOKENS = /GPU KV cache size: ([\d,]+) tokens/;
const MAX_CONCURRENCY = /Maximum concurrency for ([\d,]+) tokens per request: (\d+(?:\.\d+)?)x/;
const STARTUP_COMPLETE = /Application startup complete\./;
const API_SERVER = /Starting vLLM API server (?:\d+ )?on (\S+)/;

const count = (text: string): number => Number(text.replace(/,/g, ''));

export function parseServerMemory(log: string): ServerMemory {
  let modelMemoryGiB: number | null = null;
  let kvCacheMemoryGiB: number | null = null;
  let kvCacheTokens: number | null = null;
  let maxConcurrency: ServerMemory['maxConcurrency'] = null;
  for (const line of splitLogLines(log)) {
    if (!/GiB|tokens/.test(line)) continue;
    const model = MODEL_LOADING.exec(line);
    if (model !== null && modelMemoryGiB === null) modelMemoryGiB = Number(model[1]);
    const kv = KV_MEMORY.exec(line);
    if (kv !== null && kvCacheMemoryGiB === null) kvCacheMemoryGiB = Number(kv[1]);
    const tokens = KV_TOKENS.exec(line);
    if (tokens !== null && kvCacheTokens === null) kvCacheTokens = count(tokens[1] as string);
    const conc = MAX_CONCURRENCY.exec(line);
    if (conc !== null && maxConcurrency === null) maxConcurrency = { tokensPerRequest: count(conc[1] as string), factor: Number(conc[2]) };
  }
  return { modelMemoryGiB, kvCacheMemoryGiB, kvCacheTokens, maxConcurrency };
}

/** The HTTP server is up: uvicorn's line, printed after the engine started. */
export function logShowsStartupComplete(log: string): boolean {
  return STARTUP_COMPLETE.test(log);
}

/** The address vLLM says it listens on, or null. */
export function apiServerAddress(log: string): string | null {
  for (const line of splitLogLines(log)) {
    const m = API_SERVER.exec(line);
    if (m !== null) return m[1] as string;
  }
  return null;
}

/** `max_model_len` as the engine resolved it (`Maximum concurrency for N tokens per request`), or null. */
export function maxModelLenFromLog(log: string): number | null {
  return parseServerMemory(log).maxConcurrency?.tokensPerRequest ?? null;
}
