/**
 * The tuner options a session is created with, as stored in its database row, so that a
 * resumed session runs with exactly the same ones.
 */
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { sessionOptionsValidator } from '../config/schema.js';
import { AutotuneError } from '../errors.js';
import type { JsonObject } from '../store/records.js';
import type { DiscoveryInput, PolicyContext } from '../tuner/policy.js';
import { metricObjective, type Objective } from '../tuner/objective.js';
import { isValidName } from '../tuner/spaces/operators.js';
import type { Backend, Metric, PolicyName, TrialSpec } from '../tuner/types.js';
import { type BenchKind, type RunOptions, type Workload } from './args.js';
import type { ServeStudy } from '../tuner/serve-study.js';
import { serveObjective, serveStudyFrom } from './serve-study-options.js';
import type { RunnerName } from '../runners/names.js';
import { DEFAULT_SLURM_OPTIONS, type SlurmOptions } from '../runners/slurm/options.js';
import type { EngineSpace } from '../tuner/spaces/engine.js';
import { engineRequestOf, resolveEngineSpace } from './engine-options.js';

/** Version of the stored options (configs/job.schema.json `$defs/sessionOptions`). */
export const SESSION_OPTIONS_VERSION = 1;

export interface SessionOptions {
  readonly version: number;
  readonly numRuns: number;
  readonly metric: Metric;
  readonly minGain: number;
  readonly budget: number | null;
  readonly seed: number;
  readonly timeoutSec: number;
  readonly vllmBin: string;
  /** Interpreter of the plugin and version probes; absent in sessions created before it was stored (python3). */
  readonly python?: string;
  readonly csvName: string;
  readonly policy: PolicyName;
  readonly discovery: DiscoveryInput;
  readonly bench: BenchKind;
  readonly objective: Objective;
  readonly workload: Workload | null;
  /** A serving session's case matrix, SLOs and load generator; absent for other benchmarks. */
  readonly serve?: ServeStudy;
  /** The trials of a sweep's grid, fixed when the session is created; absent for tuning sessions. */
  readonly trials?: readonly TrialSpec[];
  /** Where its runs execute; absent (local) in sessions created before the SLURM runner. */
  readonly runner?: RunnerName;
  /** Present with `runner: slurm`: every setting, defaults filled in. */
  readonly slurm?: SlurmOptions;
  /** An engine study's space (policy tiers); absent otherwise. */
  readonly engine?: EngineSpace;
  /** One trial slot per group (CUDA_VISIBLE_DEVICES values); absent: one slot. Fixed for the session: replay follows it. */
  readonly gpuGroups?: readonly string[];
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

function configError(path: string, what: string): AutotuneError {
  return new AutotuneError('E_CONFIG', `VLLM_FL_CONFIG ${path}: ${what}; nothing was started`);
}

/**
 * An operator's backends: a list or a `|`-separated string, each `backend` or `backend:variant`;
 * none (`op:` alone) means the operator's known backends.
 */
function configBackends(path: string, op: string, value: unknown): Backend[] {
  const list: unknown[] | null = value === null ? [] : Array.isArray(value) ? value : typeof value === 'string' ? value.split('|') : null;
  if (list === null || !list.every((b): b is string => typeof b === 'string')) {
    throw configError(path, `op_backends.${op} must be a list of backends (${BACKENDS.join(', ')}), got ${JSON.stringify(value)}`);
  }
  return list.map((b) => {
    const name = b.trim().split(':')[0] ?? '';
    const backend = BACKENDS.find((known) => known === name);
    if (backend === undefined) throw configError(path, `op_backends.${op} has the unknown backend ${JSON.stringify(b)} (known: ${BACKENDS.join(', ')})`);
    return backend;
  });
}

/**
 * op_backends of a VLLM_FL_CONFIG file whose `action` is `auto_tune`; null when the variable
 * is unset or empty, or the file's action is something else (a config for serving, which
 * discovery does not use). A file that is missing, unreadable or malformed, an operator name
 * that is not an identifier and an unknown backend are errors: each of them would otherwise
 * silently widen the session to full discovery or tune something else than asked.
 */
export function autoTuneConfigOps(env: NodeJS.ProcessEnv): Record<string, Backend[]> | null {
  const path = env['VLLM_FL_CONFIG']?.trim();
  if (path === undefined || path === '') return null;
  let doc: unknown;
  try {
    doc = parse(readFileSync(path, 'utf8'));
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw configError(path, code === 'ENOENT' ? 'no such file' : `cannot be read: ${(error as Error).message.split('\n')[0]}`);
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) throw configError(path, 'is not a YAML mapping');
  const record = doc as Record<string, unknown>;
  if (String(record['action'] ?? '').trim().toLowerCase() !== 'auto_tune') return null;
  const raw = record['op_backends'];
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw configError(path, 'action auto_tune needs an op_backends mapping of operator: [backends]');
  const ops: Record<string, Backend[]> = {};
  for (const [op, value] of Object.entries(raw as Record<string, unknown>)) {
    if (!isValidName(op)) throw configError(path, `${JSON.stringify(op)} is not an operator name (letters, digits, _ and ., not starting with a digit or .)`);
    ops[op] = configBackends(path, op, value);
  }
  if (Object.keys(ops).length === 0) throw configError(path, 'op_backends names no operator');
  return ops;
}

/** The config is checked even when `--ops` makes it unused: a broken one is a mistake worth a word before hours of runs. */
function configOpsFor(run: RunOptions, env: NodeJS.ProcessEnv): Record<string, Backend[]> | null {
  const ops = autoTuneConfigOps(env);
  return run.ops === null ? ops : null;
}

export function sessionOptionsFrom(run: RunOptions, sessionId: string, env: NodeJS.ProcessEnv): SessionOptions {
  const serve = run.bench === 'serve' ? serveStudyFrom(run) : null;
  const request = engineRequestOf(run);
  const engine = request === null ? null : resolveEngineSpace(request, run.passthrough, env);
  return {
    version: SESSION_OPTIONS_VERSION,
    numRuns: run.numRuns,
    metric: run.metric,
    minGain: run.minGain,
    budget: run.budget,
    seed: run.seed ?? seedFromId(sessionId),
    timeoutSec: run.timeoutSec,
    vllmBin: run.vllmBin,
    python: run.python,
    csvName: run.csvName,
    policy: engine === null ? run.policy : 'tiers',
    discovery: {
      explicitOps: run.ops,
      configOps: configOpsFor(run, env),
      ...(run.backends === null ? {} : { backends: run.backends }),
    },
    bench: run.bench,
    objective: serve === null ? run.objective : serveObjective(run.objective, serve),
    workload: run.workload,
    ...(serve === null ? {} : { serve }),
    ...(run.runner === 'local' ? {} : { runner: run.runner, slurm: { ...DEFAULT_SLURM_OPTIONS, ...run.slurm } }),
    ...(engine === null ? {} : { engine }),
    ...(run.gpuGroups === null ? {} : { gpuGroups: run.gpuGroups }),
  };
}

/**
 * Stored options, checked against the schema. Rows written before the options had a version
 * (and before bench, objective and workload were stored) read as version 1 with today's
 * defaults, so their sessions resume as they started.
 */
export function readSessionOptions(o: JsonObject): SessionOptions {
  const version = o['version'] ?? SESSION_OPTIONS_VERSION;
  if (typeof version === 'number' && version > SESSION_OPTIONS_VERSION) {
    throw new AutotuneError('E_DB_TOO_NEW', `this session was created by a newer autotune (options version ${version} > ${SESSION_OPTIONS_VERSION}); upgrade autotune`);
  }
  const validate = sessionOptionsValidator();
  if (!validate(o)) {
    const e = validate.errors?.[0];
    const where = e === undefined || e.instancePath === '' ? '' : ` at ${e.instancePath.slice(1).replace(/\//g, '.')}`;
    throw new AutotuneError('E_DB', `stored session options are damaged${where}: ${e?.message ?? 'invalid'}`);
  }
  // Checked by the schema just above.
  const stored = o as unknown as Omit<SessionOptions, 'version' | 'bench' | 'objective' | 'workload'> & Partial<SessionOptions>;
  return {
    ...stored,
    version: SESSION_OPTIONS_VERSION,
    bench: stored.bench ?? 'throughput',
    objective: stored.objective ?? metricObjective(stored.metric),
    workload: stored.workload ?? null,
  };
}

export function policyContext(o: SessionOptions): PolicyContext {
  return { numRuns: o.numRuns, objective: o.objective, minGain: o.minGain, budget: o.budget, seed: o.seed, discovery: o.discovery, ...(o.trials === undefined ? {} : { trials: o.trials }), ...(o.engine === undefined ? {} : { engine: o.engine }) };
}
