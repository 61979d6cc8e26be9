/**
 * The tuner options a session is created with, as stored in its database row, so that a
 * resumed session runs with exactly the same ones.
 */
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { AutotuneError } from '../errors.js';
import type { JsonObject } from '../store/records.js';
import type { DiscoveryInput, PolicyContext } from '../tuner/policy.js';
import type { Backend, Metric, PolicyName } from '../tuner/types.js';
import type { RunOptions } from './args.js';

export interface SessionOptions {
  readonly numRuns: number;
  readonly metric: Metric;
  readonly minGain: number;
  readonly budget: number | null;
  readonly seed: number;
  readonly timeoutSec: number;
  readonly vllmBin: string;
  readonly csvName: string;
  readonly policy: PolicyName;
  readonly discovery: DiscoveryInput;
}

/** Environment variables that shape a measurement; recorded at start and reapplied on resume. */
const RELEVANT_ENV = /^(VLLM_|FLAGGEMS_|USE_FLAGGEMS$|GEMS_|CUDA_|HIP_|ROCR_|ASCEND_|NCCL_|TRITON_|PYTORCH_|HF_|OMP_NUM_THREADS$)/;

export function relevantEnv(env: NodeJS.ProcessEnv): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(env)) if (v !== undefined && RELEVANT_ENV.test(k)) out[k] = v;
  return out;
}

/** A 31-bit seed from the session id, so sessions differ but a session never changes its own. */
export function seedFromId(id: string): number {
  let h = 2166136261;
  for (let i = 0; i < id.length; i++) h = Math.imul(h ^ id.charCodeAt(i), 16777619);
  return (h >>> 0) & 0x7fffffff;
}

const BACKENDS: readonly Backend[] = ['flagos', 'vendor', 'reference'];

/**
 * op_backends of a VLLM_FL_CONFIG file whose `action` is `auto_tune`; null when the variable
 * is unset, the file is missing or its action is something else (as the reference does).
 */
export function autoTuneConfigOps(env: NodeJS.ProcessEnv): Record<string, Backend[]> | null {
  const path = env['VLLM_FL_CONFIG']?.trim();
  if (path === undefined || path === '') return null;
  let doc: unknown;
  try {
    doc = parse(readFileSync(path, 'utf8'));
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return null;
    throw new AutotuneError('E_CONFIG', `VLLM_FL_CONFIG ${path} cannot be read: ${(error as Error).message.split('\n')[0]}`);
  }
  if (typeof doc !== 'object' || doc === null) return null;
  const record = doc as Record<string, unknown>;
  if (String(record['action'] ?? '').trim().toLowerCase() !== 'auto_tune') return null;
  const raw = record['op_backends'];
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return null;
  const ops: Record<string, Backend[]> = {};
  for (const [op, value] of Object.entries(raw as Record<string, unknown>)) {
    const list = Array.isArray(value) ? value.map(String) : typeof value === 'string' ? value.split('|') : [];
    ops[op] = list.map((b) => b.trim().split(':')[0] ?? '').filter((b): b is Backend => (BACKENDS as readonly string[]).includes(b));
  }
  return ops;
}

export function sessionOptionsFrom(run: RunOptions, sessionId: string, env: NodeJS.ProcessEnv): SessionOptions {
  return {
    numRuns: run.numRuns,
    metric: run.metric,
    minGain: run.minGain,
    budget: run.budget,
    seed: run.seed ?? seedFromId(sessionId),
    timeoutSec: run.timeoutSec,
    vllmBin: run.vllmBin,
    csvName: run.csvName,
    policy: run.policy,
    discovery: { explicitOps: run.ops, configOps: run.ops === null ? autoTuneConfigOps(env) : null },
  };
}

function field<T>(o: JsonObject, key: string, check: (v: unknown) => v is T): T {
  const v = o[key];
  if (!check(v)) throw new AutotuneError('E_DB', `stored session options are damaged: \`${key}\` is ${JSON.stringify(v)}`);
  return v;
}

const isNumber = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);
const isString = (v: unknown): v is string => typeof v === 'string';
const isNullableNumber = (v: unknown): v is number | null => v === null || isNumber(v);
const isObject = (v: unknown): v is JsonObject => typeof v === 'object' && v !== null && !Array.isArray(v);

export function readSessionOptions(o: JsonObject): SessionOptions {
  const discovery = field(o, 'discovery', isObject);
  return {
    numRuns: field(o, 'numRuns', isNumber),
    metric: field(o, 'metric', (v): v is Metric => v === 'total' || v === 'output' || v === 'requests'),
    minGain: field(o, 'minGain', isNumber),
    budget: field(o, 'budget', isNullableNumber),
    seed: field(o, 'seed', isNumber),
    timeoutSec: field(o, 'timeoutSec', isNumber),
    vllmBin: field(o, 'vllmBin', isString),
    csvName: field(o, 'csvName', isString),
    policy: field(o, 'policy', (v): v is PolicyName => v === 'reference' || v === 'noise-aware'),
    discovery: discovery as unknown as DiscoveryInput,
  };
}

export function policyContext(o: SessionOptions): PolicyContext {
  return { numRuns: o.numRuns, metric: o.metric, minGain: o.minGain, budget: o.budget, seed: o.seed, discovery: o.discovery };
}
