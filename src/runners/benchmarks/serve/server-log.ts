/**
 * What a `vllm serve` log says about the server: startup complete, its address, and the memory
 * lines users report next to every result (read by ../../log-memory.ts). Pure. Formats:
 *
 *     Starting vLLM API server 0 on http://127.0.0.1:8000     (older: "Starting vLLM API server on ...")
 *     INFO:     Application startup complete.                  (uvicorn)
 */
import { parseLogMemory, type LogMemory } from '../../log-memory.js';
import { splitLogLines } from '../../log-text.js';

export type ServerMemory = LogMemory;

const STARTUP_COMPLETE = /Application startup complete\./;
const API_SERVER = /Starting vLLM API server (?:\d+ )?on (\S+)/;

export function parseServerMemory(log: string): ServerMemory {
  return parseLogMemory(log);
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
