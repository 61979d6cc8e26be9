/**
 * The simulator's record of its own invocations ($VLLM_SIM_STATE_DIR/invocations.jsonl): one
 * line when a run starts and one when it ends, for tests to check exactly what the tuner ran.
 * The same file counts earlier runs when no AUTOTUNE_RUN_KEY says where a run stands.
 */
import { appendFileSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { PluginEnv } from './plugin.js';

/** The variables the plugin and the runner contract care about; absent ones are logged as null. */
const LOGGED_ENV = [
  'USE_FLAGGEMS',
  'VLLM_FL_FLAGOS_WHITELIST',
  'VLLM_FL_FLAGOS_BLACKLIST',
  'VLLM_FL_OOT_ENABLED',
  'VLLM_FL_OOT_WHITELIST',
  'VLLM_FL_CONFIG',
  'VLLM_FL_PREFER',
  'VLLM_FL_PER_OP',
  'VLLM_FL_OOT_BLACKLIST',
  'VLLM_FL_OP_CONFIG',
  'VLLM_FL_FLAGOS_BLACKLIST_APPEND',
  'VLLM_FL_STRICT',
  'GEMS_VENDOR',
  'FLAGGEMS_CACHE_DIR',
  'TRITON_CACHE_DIR',
  'CUDA_VISIBLE_DEVICES',
  'HF_HOME',
  'VLLM_ATTENTION_BACKEND',
  'FLAGGEMS_ENABLE_OPLIST_PATH',
  'AUTOTUNE_RUN_KEY',
] as const;

export interface RunKey {
  readonly session: string;
  readonly step: number;
  readonly trialOrdinal: number;
  /** May itself contain ':'. */
  readonly trialKey: string;
}

/** `<session>:<step>:<trialOrdinal>:<trialKey>`, or null when the value has another shape. */
export function parseRunKey(value: string | undefined): RunKey | null {
  const m = /^([^:]*):(\d+):(\d+):(.*)$/s.exec(value ?? '');
  if (m === null) return null;
  return { session: m[1] as string, step: Number(m[2]), trialOrdinal: Number(m[3]), trialKey: m[4] as string };
}

function loggedEnv(env: PluginEnv): Record<string, string | null> {
  return Object.fromEntries(LOGGED_ENV.map((name) => [name, env[name] ?? null]));
}

function logPath(stateDir: string): string {
  return join(stateDir, 'invocations.jsonl');
}

/** A line cut short by a run killed mid-write is skipped, not fatal. */
function parseLine(line: string): { event?: unknown; signature?: unknown } | null {
  try {
    return JSON.parse(line) as { event?: unknown; signature?: unknown };
  } catch {
    return null;
  }
}

/** Position of a new run: how many runs came before it, and how many of those had its signature. */
export function positionFromLog(stateDir: string, signature: string): { step: number; trialOrdinal: number } {
  let text = '';
  try {
    text = readFileSync(logPath(stateDir), 'utf8');
  } catch {
    return { step: 0, trialOrdinal: 0 };
  }
  let step = 0;
  let trialOrdinal = 0;
  for (const line of text.split('\n')) {
    const event = parseLine(line);
    // Runs that never got past the command line have no signature and do not count.
    if (event?.event !== 'start' || typeof event.signature !== 'string') continue;
    step++;
    if (event.signature === signature) trialOrdinal++;
  }
  return { step, trialOrdinal };
}

export interface InvocationRecorder {
  start(fields: Readonly<Record<string, unknown>>): void;
  end(fields: Readonly<Record<string, unknown>>): void;
}

/** Writes start/end lines stamped with the pid and run key; does nothing without a state dir. */
export function invocationRecorder(stateDir: string | null, env: PluginEnv): InvocationRecorder {
  const common = { pid: process.pid, runKey: env['AUTOTUNE_RUN_KEY'] ?? null };
  const append = (event: string, fields: Readonly<Record<string, unknown>>): void => {
    if (stateDir === null) return;
    mkdirSync(stateDir, { recursive: true });
    appendFileSync(logPath(stateDir), `${JSON.stringify({ event, ...common, ...fields })}\n`);
  };
  return {
    start: (fields) => append('start', { time: new Date().toISOString(), env: loggedEnv(env), ...fields }),
    end: (fields) => append('end', fields),
  };
}
