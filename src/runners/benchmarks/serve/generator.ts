/**
 * The built-in load generator: streams completions from an OpenAI-compatible server and times
 * every request, for machines without vLLM's benchmark extras and for per-request detail.
 *
 * One keep-alive agent; requests to /v1/completions or /v1/chat/completions with temperature 0,
 * ignore_eos and max_tokens = the case's output length, so each produces exactly that many
 * tokens; prompts of exactly the case's input length in "token-ish" words (a word of the list
 * below is one token in common tokenizers, with its leading space). Load: at most C requests
 * in flight, or arrivals at a rate (Poisson, exponential gaps from a seeded generator, so a run
 * is reproducible). Per request: TTFT = first content chunk, ITL = gaps between later chunks,
 * TPOT = (E2EL − TTFT) / (tokens − 1); a non-200 answer, a stream cut before `[DONE]`, or a
 * request slower than the timeout is a failed request, counted.
 */
import { setMaxListeners } from 'node:events';
import { Agent, request as httpRequest, type IncomingMessage } from 'node:http';
import { performance } from 'node:perf_hooks';
import { StringDecoder } from 'node:string_decoder';
import { AutotuneError } from '../../../errors.js';
import type { ServeCase } from '../../../tuner/serve-cases.js';
import { summarizeRequests, type RequestRecord, type ServeSummary } from '../../../tuner/serve-metrics.js';
import { httpGet } from './server.js';
import { SseParser } from './sse.js';

export type Endpoint = 'completions' | 'chat';

export interface GeneratorOptions {
  readonly baseUrl: string;
  readonly model: string;
  readonly endpoint: Endpoint;
  readonly case: ServeCase;
  readonly seed: number;
  /** Per request, from send to the last byte. */
  readonly requestTimeoutMs: number;
  readonly signal?: AbortSignal;
}

export interface GeneratorResult {
  readonly summary: ServeSummary;
  readonly requests: readonly RequestRecord[];
  /** The run stopped on request before every request ended. */
  readonly interrupted: boolean;
}

/** Common English words that are one token each (with their leading space) in GPT-2/Llama/Qwen vocabularies. */
const WORDS = ['the', 'of', 'and', 'to', 'in', 'is', 'that', 'for', 'it', 'as', 'was', 'with', 'be', 'by', 'on', 'not', 'he', 'this', 'are', 'or', 'his', 'from', 'at', 'which', 'but', 'have', 'an', 'had', 'they', 'you', 'were', 'their', 'one', 'all', 'we', 'can', 'her', 'has', 'there', 'been', 'if', 'more', 'when', 'will', 'would', 'who', 'so', 'no'];

/** mulberry32: a small seeded generator, uniform in [0, 1). */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A prompt of exactly `tokens` words; differs per request so prefix caching cannot skip the prefill. */
export function syntheticPrompt(tokens: number, seed: number, index: number): string {
  const random = seededRandom((seed * 1_000_003 + index) >>> 0);
  return Array.from({ length: tokens }, () => WORDS[Math.floor(random() * WORDS.length)] as string).join(' ');
}

/** Gaps between arrivals of a Poisson process at `rate` requests/s, in ms. */
export function poissonGapsMs(rate: number, count: number, seed: number): number[] {
  const random = seededRandom(seed ^ 0x5bd1e995);
  return Array.from({ length: count }, () => (-Math.log(1 - random()) / rate) * 1000);
}

/** The model the server serves first (`GET /v1/models`), as vLLM's bench does when --model is not given. */
export async function detectModel(baseUrl: string, timeoutMs = 10_000): Promise<string> {
  const answer = await httpGet(`${baseUrl}/v1/models`, timeoutMs);
  if (answer === null || answer.status !== 200) throw new AutotuneError('E_USAGE', `no model list at ${baseUrl}/v1/models (${answer === null ? 'no answer' : `HTTP ${answer.status}`}); is the server running?`);
  let data: unknown;
  try {
    data = JSON.parse(answer.body);
  } catch {
    data = null;
  }
  const list = typeof data === 'object' && data !== null ? (data as { data?: unknown }).data : undefined;
  const first: unknown = Array.isArray(list) ? list[0] : undefined;
  const id = typeof first === 'object' && first !== null ? (first as { id?: unknown }).id : undefined;
  if (typeof id !== 'string' || id === '') throw new AutotuneError('E_USAGE', `${baseUrl}/v1/models lists no model`);
  return id;
}

interface Chunk {
  readonly text: string;
  readonly completionTokens: number | null;
}

/** The content and usage of one streamed chunk; null when it is not JSON of the expected shape. */
export function readChunk(data: string, endpoint: Endpoint): Chunk | null {
  let value: unknown;
  try {
    value = JSON.parse(data);
  } catch {
    return null;
  }
  if (typeof value !== 'object' || value === null) return null;
  const v = value as { choices?: unknown; usage?: unknown };
  let text = '';
  if (Array.isArray(v.choices) && v.choices.length > 0) {
    const choice: unknown = v.choices[0];
    if (typeof choice === 'object' && choice !== null) {
      if (endpoint === 'chat') {
        const delta = (choice as { delta?: unknown }).delta;
        const content = typeof delta === 'object' && delta !== null ? (delta as { content?: unknown }).content : undefined;
        text = typeof content === 'string' ? content : '';
      } else {
        const t = (choice as { text?: unknown }).text;
        text = typeof t === 'string' ? t : '';
      }
    }
  }
  const usage = v.usage;
  const tokens = typeof usage === 'object' && usage !== null ? (usage as { completion_tokens?: unknown }).completion_tokens : undefined;
  return { text, completionTokens: typeof tokens === 'number' && Number.isSafeInteger(tokens) ? tokens : null };
}

function requestBody(o: GeneratorOptions, prompt: string): string {
  const c = o.case;
  const common = { model: o.model, temperature: 0, max_tokens: c.outputLen, ignore_eos: true, stream: true, stream_options: { include_usage: true } };
  return JSON.stringify(o.endpoint === 'chat' ? { ...common, messages: [{ role: 'user', content: prompt }], max_completion_tokens: c.outputLen } : { ...common, prompt });
}

const failed = (inputTokens: number, error: string): RequestRecord => ({ ok: false, error, inputTokens, outputTokens: 0, ttftMs: null, tpotMs: null, itlMs: [], e2elMs: null });

function oneRequest(o: GeneratorOptions, agent: Agent, index: number): Promise<RequestRecord> {
  const prompt = syntheticPrompt(o.case.inputLen, o.seed, index);
  const body = requestBody(o, prompt);
  const url = new URL(o.endpoint === 'chat' ? '/v1/chat/completions' : '/v1/completions', o.baseUrl);
  const inputTokens = o.case.inputLen;
  return new Promise((resolve) => {
    const start = performance.now();
    let settled = false;
    const finish = (r: RequestRecord): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      o.signal?.removeEventListener('abort', onAbort);
      resolve(r);
    };
    const req = httpRequest(url, { method: 'POST', agent, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } }, (res: IncomingMessage) => {
      if (res.statusCode !== 200) {
        res.resume();
        finish(failed(inputTokens, `http ${res.statusCode ?? 0}`));
        return;
      }
      const parser = new SseParser();
      const decoder = new StringDecoder('utf8');
      let first: number | null = null;
      let last = start;
      const itl: number[] = [];
      let chunks = 0;
      let usageTokens: number | null = null;
      let sawDone = false;
      const take = (events: readonly string[]): void => {
        for (const data of events) {
          if (data === '[DONE]') {
            sawDone = true;
            continue;
          }
          const chunk = readChunk(data, o.endpoint);
          if (chunk === null) continue;
          if (chunk.completionTokens !== null) usageTokens = chunk.completionTokens;
          if (chunk.text === '') continue;
          const t = performance.now();
          if (first === null) first = t;
          else itl.push(t - last);
          last = t;
          chunks++;
        }
      };
      res.on('data', (b: Buffer) => take(parser.push(decoder.write(b))));
      res.on('end', () => {
        take(parser.push(decoder.end()));
        take(parser.end());
        if (!sawDone || first === null) {
          finish(failed(inputTokens, sawDone ? 'no token received' : 'stream ended before [DONE]'));
          return;
        }
        const outputTokens = usageTokens ?? chunks;
        const ttftMs = first - start;
        const e2elMs = last - start;
        finish({ ok: true, error: null, inputTokens, outputTokens, ttftMs, tpotMs: outputTokens > 1 ? (e2elMs - ttftMs) / (outputTokens - 1) : null, itlMs: itl, e2elMs });
      });
      res.on('error', (e) => finish(failed(inputTokens, `stream error: ${e.message}`)));
    });
    const timer = setTimeout(() => {
      finish(failed(inputTokens, `timeout after ${o.requestTimeoutMs} ms`));
      req.destroy();
    }, o.requestTimeoutMs);
    req.on('error', (e: NodeJS.ErrnoException) => finish(failed(inputTokens, e.code ?? e.message)));
    function onAbort(): void {
      finish(failed(inputTokens, 'interrupted'));
      req.destroy();
    }
    o.signal?.addEventListener('abort', onAbort, { once: true });
    req.end(body);
  });
}

/** Runs the case's `prompts` requests and summarises them. */
export async function runGenerator(o: GeneratorOptions): Promise<GeneratorResult> {
  const c = o.case;
  const concurrency = c.load.kind === 'concurrency' ? c.load.concurrency : Number.POSITIVE_INFINITY;
  const agent = new Agent({ keepAlive: true, maxSockets: Number.isFinite(concurrency) ? concurrency : 256 });
  // Every request in flight listens for the abort, so more than Node's default of 10 is the
  // case's concurrency, not a leak; the run's own listeners come on top.
  if (o.signal !== undefined) setMaxListeners(Math.min(c.prompts, concurrency) + 10, o.signal);
  const records: RequestRecord[] = new Array<RequestRecord>(c.prompts);
  const gaps = c.load.kind === 'rate' ? poissonGapsMs(c.load.rate, c.prompts, o.seed) : null;
  const start = performance.now();
  let lastEnd = start;
  try {
    await new Promise<void>((resolve) => {
      let next = 0;
      let inFlight = 0;
      let ended = 0;
      if (c.prompts === 0) resolve();
      const launchOne = (): void => {
        const i = next++;
        inFlight++;
        void oneRequest(o, agent, i).then((r) => {
          records[i] = r;
          lastEnd = performance.now();
          inFlight--;
          ended++;
          if (ended === c.prompts || (o.signal?.aborted === true && inFlight === 0)) resolve();
          else if (gaps === null) fill();
        });
      };
      const fill = (): void => {
        while (next < c.prompts && inFlight < concurrency && o.signal?.aborted !== true) launchOne();
        if (o.signal?.aborted === true && inFlight === 0) resolve();
      };
      if (gaps === null) {
        fill();
        return;
      }
      const arrive = (): void => {
        if (next >= c.prompts || o.signal?.aborted === true) {
          if (inFlight === 0) resolve();
          return;
        }
        launchOne();
        setTimeout(arrive, gaps[next] ?? 0);
      };
      setTimeout(arrive, gaps[0] ?? 0);
    });
  } finally {
    agent.destroy();
  }
  const done = records.filter((r): r is RequestRecord => r !== undefined);
  const interrupted = o.signal?.aborted === true;
  return { summary: summarizeRequests(done, (lastEnd - start) / 1000), requests: done, interrupted };
}
