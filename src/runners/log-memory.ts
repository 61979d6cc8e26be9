/**
 * The memory lines vLLM's engine prints while it starts, read from any log that holds them
 * (`vllm bench throughput`/`latency` in-process, `vllm serve`). Pure. Formats by release
 * (vllm-project/vllm: v1 gpu_model_runner/gpu_worker/kv_cache_utils, v0 model_runner/worker):
 *
 *     Model loading took 15.2690 GiB and 4.337616 seconds       (v1; newer: "took 15.27 GiB memory and 4.33 seconds")
 *     Loading model weights took 14.9888 GB                     (v0, up to ~0.6; the figure is GiB all the same)
 *     Available KV cache memory: 104.73 GiB                     (v1; negative before "No available memory for the cache blocks")
 *     ... the rest of the memory reserved for KV Cache is 54.89GiB.   (v0 memory profile, ~0.7-0.9)
 *     GPU KV cache size: 762,640 tokens
 *     Maximum concurrency for 40,960 tokens per request: 18.62x (v0 writes the count without commas)
 *     Graph capturing finished in 8 secs, took 0.31 GiB
 *     Graph capturing finished in 12 secs.                      (v0 before ~0.7: no memory figure)
 *
 * A tensor-parallel engine prints them once per worker; the first of each is kept (the ranks agree).
 */
import { CUDA_GRAPH_CAPTURE_S, CUDA_GRAPH_MEMORY_GIB, KV_CACHE_GIB, KV_CACHE_TOKENS, MAX_CONCURRENCY, MODEL_MEMORY_GIB } from '../tuner/metrics.js';
import { splitLogLines } from './log-text.js';

export interface LogMemory {
  readonly modelMemoryGiB: number | null;
  readonly kvCacheMemoryGiB: number | null;
  readonly kvCacheTokens: number | null;
  /** `Maximum concurrency for N tokens per request: Xx`. */
  readonly maxConcurrency: { readonly tokensPerRequest: number; readonly factor: number } | null;
  readonly graphCaptureS: number | null;
  readonly graphMemoryGiB: number | null;
}

const NUM = String.raw`(-?\d+(?:\.\d+)?)`;
const MODEL_LOADING = new RegExp(String.raw`(?:Model loading took|Loading model weights took) ${NUM} Gi?B`);
const KV_MEMORY = new RegExp(String.raw`(?:Available KV cache memory:|memory reserved for KV Cache is) ?${NUM} ?GiB`);
const KV_TOKENS = /GPU KV cache size: ([\d,]+) tokens/;
const MAX_CONCURRENCY_LINE = new RegExp(String.raw`Maximum concurrency for ([\d,]+) tokens per request: ${NUM}x`);
const GRAPH_CAPTURE = new RegExp(String.raw`Graph capturing finished in ${NUM} secs?(?:, took ${NUM} GiB)?`);
/** Cheap filter first: a multi-MB log is mostly lines without any of these words. */
const ANY = /GiB|GB|tokens|Graph capturing/;

const count = (text: string): number => Number(text.replace(/,/g, ''));

export function parseLogMemory(log: string): LogMemory {
  let modelMemoryGiB: number | null = null;
  let kvCacheMemoryGiB: number | null = null;
  let kvCacheTokens: number | null = null;
  let maxConcurrency: LogMemory['maxConcurrency'] = null;
  let graphCaptureS: number | null = null;
  let graphMemoryGiB: number | null = null;
  for (const line of splitLogLines(log)) {
    if (!ANY.test(line)) continue;
    const model = MODEL_LOADING.exec(line);
    if (model !== null && modelMemoryGiB === null) modelMemoryGiB = Number(model[1]);
    const kv = KV_MEMORY.exec(line);
    if (kv !== null && kvCacheMemoryGiB === null) kvCacheMemoryGiB = Number(kv[1]);
    const tokens = KV_TOKENS.exec(line);
    if (tokens !== null && kvCacheTokens === null) kvCacheTokens = count(tokens[1] as string);
    const conc = MAX_CONCURRENCY_LINE.exec(line);
    if (conc !== null && maxConcurrency === null) maxConcurrency = { tokensPerRequest: count(conc[1] as string), factor: Number(conc[2]) };
    const graph = GRAPH_CAPTURE.exec(line);
    if (graph !== null && graphCaptureS === null) {
      graphCaptureS = Number(graph[1]);
      graphMemoryGiB = graph[2] === undefined ? null : Number(graph[2]);
    }
  }
  return { modelMemoryGiB, kvCacheMemoryGiB, kvCacheTokens, maxConcurrency, graphCaptureS, graphMemoryGiB };
}

/** The figures the log had, as named metrics (src/tuner/metrics.ts); what it lacked is absent. */
export function memoryMetrics(m: LogMemory): Record<string, number> {
  const out: Record<string, number> = {};
  const put = (name: string, value: number | null | undefined): void => {
    if (value !== null && value !== undefined && Number.isFinite(value)) out[name] = value;
  };
  put(MODEL_MEMORY_GIB, m.modelMemoryGiB);
  put(KV_CACHE_GIB, m.kvCacheMemoryGiB);
  put(KV_CACHE_TOKENS, m.kvCacheTokens);
  put(MAX_CONCURRENCY, m.maxConcurrency?.factor);
  put(CUDA_GRAPH_CAPTURE_S, m.graphCaptureS);
  put(CUDA_GRAPH_MEMORY_GIB, m.graphMemoryGiB);
  return out;
}
