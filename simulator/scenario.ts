/**
 * Scenario files: the ground truth a simulated `vllm bench throughput` plays back. Loads a
 * YAML file, validates it with ajv, checks what a schema cannot, and fills in defaults.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ErrorObject, ValidateFunction } from 'ajv';
import type { AttentionBackend, Backend } from '../src/tuner/types.js';
import { normaliseEngine, type EngineModel, type RawEngine } from './engine.js';
import { DISPATCH_OP_NAMES, OOT_OP_NAMES } from './plugin-registry.js';
import { SCENARIO_SCHEMA } from './scenario-schema.js';

export type FailureKind = 'oom' | 'engine_crash' | 'hang' | 'no_result' | 'kernel_fault';
export type ColdSemantics = 'configuration' | 'operator';
export type ResultFormat = 'new' | 'old' | 'serve_legacy';
/** gems: a plain FlagGems op; oot: a plugin CustomOp (gated by VLLM_FL_OOT_*); dispatch: always dispatched. */
export type OpKind = 'gems' | 'oot' | 'dispatch';
/** How the op shows up in the enable-oplist log; `none` runs it without ever logging it. */
export type OplistStyle = 'gems' | 'hopper_mm' | 'fused' | 'dispatch' | 'none';

export interface OpSpec {
  readonly kind: OpKind;
  /** Whether enabling FlagGems wholesale reaches it; a whitelist naming it always does. */
  readonly executed: boolean;
  /** Relative effect of each backend the op has, per attention backend (flagos and vendor ignore it). */
  readonly effects: Readonly<Partial<Record<Backend, Readonly<Record<AttentionBackend, number>>>>>;
  readonly fails: Readonly<Partial<Record<Backend, FailureKind>>>;
  readonly oplist: OplistStyle;
  /** Module of the `flag_gems.ops.<module>.<op>` oplist line. */
  readonly module: string;
}

export interface Interaction {
  readonly ops: readonly string[];
  /** Relative effect added when every listed op is active, on any backend. */
  readonly effect: number;
}

/**
 * How `vllm bench latency` times one batch of B prompts of I tokens generating O tokens:
 * prefill of B·I tokens, then O − 1 decode steps whose cost grows with the batch and with the
 * KV cache each step reads. Op effects scale the whole batch (a +1 % throughput effect is 1 %
 * less time).
 */
export interface LatencyModel {
  /** Prefill time per 1000 prompt tokens in the batch. */
  readonly prefillMsPerKToken: number;
  /** One decode step of a batch of one. */
  readonly decodeStepMs: number;
  /** Added to every decode step per sequence in the batch. */
  readonly decodeMsPerSequence: number;
  /** Added to every decode step per 1000 tokens of context read (all sequences together). */
  readonly decodeMsPerKContext: number;
  /** A batch holding more than B·(I+O) tokens runs out of GPU memory in its first iteration. */
  readonly oomTokens: number;
  /** What the engine derives when `--max-model-len` is not given. */
  readonly maxModelLen: number;
}

/**
 * How the simulated `vllm serve` behaves: its start-up (readiness delay, the memory it reports)
 * and failures that do not follow from an op (a share of HTTP 500s). Token timing reuses the
 * latency model: TTFT is the prefill of the prompt, each later token one decode step of the
 * sequences in flight at that moment.
 */
export interface ServeModel {
  /** Engine start before the HTTP server binds. */
  readonly readyDelayMs: number;
  readonly modelMemoryGiB: number;
  readonly kvCacheMemoryGiB: number;
  /** Share of completion requests answered with HTTP 500 (seeded per request). */
  readonly http500Share: number;
  /** A configuration whose op faults while generating (kernel_fault) dies after this many requests. */
  readonly crashAfterRequests: number;
  /**
   * Operators whose FlagGems kernel changes the prefill alone: the time to the first token is
   * multiplied by the factor while the op runs on flagos (a configuration can be faster overall
   * and still break a TTFT limit).
   */
  readonly prefillFactors: Readonly<Record<string, number>>;
}

export interface Scenario {
  readonly name: string;
  readonly description: string;
  readonly seed: number;
  /** The file it came from, or `inline`. */
  readonly origin: string;
  readonly model: string;
  readonly baseline: {
    readonly requestsPerSec: number;
    readonly totalTokensPerSec: number;
    readonly outputTokensPerSec: number;
    readonly numRequests: number;
  };
  readonly noise: {
    /** Warm run-to-run coefficient of variation (log-normal sigma). */
    readonly cv: number;
    /** Added to `cv` whenever any op runs on flagos. */
    readonly flaggemsExtraCv: number;
    readonly outlierProbability: number;
    /** Relative effect of a full outlier; each outlier draws between half and all of it. */
    readonly outlierEffect: number;
    /** Student-t degrees of freedom of the noise (heavy tails, `cv` its scale); null for normal noise. */
    readonly tailDf: number | null;
    /** Share of runs that come out fast (one-sided, e.g. a lucky clock), and by how much at most. */
    readonly fastProbability: number;
    readonly fastEffect: number;
  };
  /** Relative effect of FlagGems being loaded (USE_FLAGGEMS on), whatever it enables. */
  readonly flaggemsOverhead: number;
  /**
   * Which caches a first run fills. `configuration`: the first run of every configuration is
   * `penalty` slower and run k pays penalty * decay^k. `operator`: kernel caches persist on disk
   * per operator, so only a run that enables an operator backend no earlier run had (or the
   * session's first run) pays `penalty`; once every backend ran (round 1c), new subsets are warm.
   */
  readonly cold: { readonly penalty: number; readonly decay: number; readonly per: ColdSemantics };
  /** The whole node's level changes by `effect` from session step `atStep` on (a driver update, a neighbour job); null for none. */
  readonly levelShift: { readonly atStep: number; readonly effect: number } | null;
  /** Log-space drift per session step, linear plus a seeded random walk. */
  readonly drift: { readonly perStep: number; readonly randomWalk: number };
  readonly format: ResultFormat;
  readonly timing: { readonly startupMs: number; readonly runMs: number };
  readonly latency: LatencyModel;
  readonly serve: ServeModel;
  /** Engine-argument effects (engine.ts); null: the engine arguments change nothing, as in scenarios written before them. */
  readonly engine: EngineModel | null;
  /** What vLLM picks when VLLM_ATTENTION_BACKEND is unset or unknown. */
  readonly defaultAttention: AttentionBackend;
  /** The platform config's flagos_blacklist, in force only when VLLM_FL_CONFIG is unset. */
  readonly platformBlacklist: readonly string[];
  readonly ops: Readonly<Record<string, OpSpec>>;
  readonly interactions: readonly Interaction[];
}

type PerAttention = Readonly<Record<AttentionBackend, number>>;

interface RawOp {
  flagos?: number;
  vendor?: number;
  reference?: number | PerAttention;
  kind?: OpKind;
  executed?: boolean;
  fails?: Partial<Record<Backend, FailureKind>>;
  oplist?: OplistStyle;
  module?: string;
}

interface RawScenario {
  name: string;
  description: string;
  seed: number;
  model?: string;
  baseline: { requestsPerSec: number; totalTokensPerSec: number; outputTokensPerSec: number; numRequests?: number };
  noise: { cv: number; flaggemsExtraCv?: number; outlierProbability?: number; outlierEffect?: number; tailDf?: number; fastProbability?: number; fastEffect?: number };
  flaggemsOverhead?: number;
  cold?: { penalty?: number; decay?: number; per?: ColdSemantics };
  levelShift?: { atStep: number; effect: number };
  drift?: { perStep?: number; randomWalk?: number };
  format?: ResultFormat;
  timing?: { startupMs?: number; runMs?: number };
  latency?: Partial<LatencyModel>;
  serve?: Partial<ServeModel>;
  engine?: RawEngine;
  defaultAttention?: AttentionBackend;
  platformBlacklist?: string[];
  ops: Record<string, number | RawOp>;
  interactions?: Array<{ ops: string[]; effect: number }>;
}

/** An 8 B dense model in bf16 on one H100: ~27 µs per prefill token, ~6.5 ms per decode step. */
const LATENCY_DEFAULTS: LatencyModel = {
  prefillMsPerKToken: 27,
  decodeStepMs: 6.5,
  decodeMsPerSequence: 0.02,
  decodeMsPerKContext: 0.04,
  oomTokens: 4_000_000,
  maxModelLen: 131072,
};

const SERVE_DEFAULTS: ServeModel = {
  readyDelayMs: 3000,
  modelMemoryGiB: 15.27,
  kvCacheMemoryGiB: 104.73,
  http500Share: 0,
  crashAfterRequests: 5,
  prefillFactors: {},
};

/** bestAchievable brute-forces every backend choice of the ops that take part in an interaction. */
const MAX_INTERACTION_COMBINATIONS = 1 << 16;

// ajv and yaml cost ~40 ms each to import; the simulated `vllm` usually needs neither.
const requireLazily = createRequire(import.meta.url);
let validator: ValidateFunction<RawScenario> | null = null;

function validate(raw: unknown): raw is RawScenario {
  if (validator === null) {
    const Ajv = (requireLazily('ajv') as typeof import('ajv')).default;
    validator = new Ajv({ allErrors: true, strict: true, allowUnionTypes: true }).compile<RawScenario>(SCENARIO_SCHEMA);
  }
  return validator(raw);
}

export function parseYaml(text: string): unknown {
  return (requireLazily('yaml') as typeof import('yaml')).parse(text);
}

function describeAjvError(e: ErrorObject): string {
  const where = e.instancePath === '' ? '(top level)' : e.instancePath;
  const extra = e.keyword === 'additionalProperties' ? ` '${String(e.params['additionalProperty'])}'` : '';
  return `${where} ${e.message ?? e.keyword}${extra}`;
}

/** Validates and normalises an already parsed scenario; throws a one-line Error naming `origin`. */
export function parseScenario(raw: unknown, origin = 'inline'): Scenario {
  if (!validate(raw)) {
    const errors = (validator?.errors ?? []).slice(0, 3).map(describeAjvError);
    throw new Error(`Invalid scenario ${origin}: ${errors.join('; ')}`);
  }
  const fail = (message: string): never => {
    throw new Error(`Invalid scenario ${origin}: ${message}`);
  };
  const ops: Record<string, OpSpec> = {};
  for (const [name, value] of Object.entries(raw.ops)) ops[name] = normaliseOp(name, value, fail);
  const interactions = (raw.interactions ?? []).map((i) => {
    for (const op of i.ops) if (ops[op] === undefined) fail(`/interactions names unknown op '${op}'`);
    return { ops: [...i.ops].sort(), effect: i.effect };
  });
  let combinations = 1;
  for (const op of new Set(interactions.flatMap((i) => i.ops))) {
    combinations *= 1 + Object.keys(ops[op]?.effects ?? {}).length;
  }
  if (combinations > MAX_INTERACTION_COMBINATIONS) {
    fail(`/interactions involve too many ops (${combinations} backend combinations, at most ${MAX_INTERACTION_COMBINATIONS})`);
  }
  return {
    name: raw.name,
    description: raw.description,
    seed: raw.seed,
    origin,
    model: raw.model ?? 'meta-llama/Llama-3.1-8B-Instruct',
    baseline: { ...raw.baseline, numRequests: raw.baseline.numRequests ?? 1000 },
    noise: {
      cv: raw.noise.cv,
      flaggemsExtraCv: raw.noise.flaggemsExtraCv ?? 0,
      outlierProbability: raw.noise.outlierProbability ?? 0,
      outlierEffect: raw.noise.outlierEffect ?? -0.2,
      tailDf: raw.noise.tailDf ?? null,
      fastProbability: raw.noise.fastProbability ?? 0,
      fastEffect: raw.noise.fastEffect ?? 0.02,
    },
    flaggemsOverhead: raw.flaggemsOverhead ?? 0,
    cold: { penalty: raw.cold?.penalty ?? 0, decay: raw.cold?.decay ?? 0.3, per: raw.cold?.per ?? 'configuration' },
    levelShift: raw.levelShift ?? null,
    drift: { perStep: raw.drift?.perStep ?? 0, randomWalk: raw.drift?.randomWalk ?? 0 },
    format: raw.format ?? 'new',
    timing: { startupMs: raw.timing?.startupMs ?? 1000, runMs: raw.timing?.runMs ?? 500 },
    latency: { ...LATENCY_DEFAULTS, ...raw.latency },
    serve: { ...SERVE_DEFAULTS, ...raw.serve },
    engine: raw.engine === undefined ? null : normaliseEngine(raw.engine),
    defaultAttention: raw.defaultAttention ?? 'FLASH_ATTN',
    platformBlacklist: raw.platformBlacklist ?? [],
    ops,
    interactions,
  };
}

function perAttention(value: number | PerAttention): PerAttention {
  return typeof value === 'number' ? { FLASH_ATTN: value, FLASHINFER: value } : value;
}

function normaliseOp(name: string, value: number | RawOp, fail: (m: string) => never): OpSpec {
  const raw: RawOp = typeof value === 'number' ? { flagos: value } : value;
  const kind = raw.kind ?? (OOT_OP_NAMES.has(name) ? 'oot' : DISPATCH_OP_NAMES.has(name) ? 'dispatch' : 'gems');
  const effects: Partial<Record<Backend, PerAttention>> = {};
  if (raw.flagos !== undefined) effects.flagos = perAttention(raw.flagos);
  if (raw.vendor !== undefined) effects.vendor = perAttention(raw.vendor);
  if (raw.reference !== undefined) effects.reference = perAttention(raw.reference);
  const where = `/ops/${name}`;
  if (Object.keys(effects).length === 0) fail(`${where} has no backend (flagos, vendor or reference)`);
  if (kind === 'gems' && (effects.vendor !== undefined || effects.reference !== undefined)) {
    fail(`${where} is a plain FlagGems op; only plugin dispatch ops (kind oot or dispatch) have vendor/reference backends`);
  }
  if (kind === 'oot' && effects.vendor === undefined && effects.reference === undefined) {
    fail(`${where} is a plugin op, so it needs a vendor or reference backend (the plugin always registers one)`);
  }
  // A non-OOT dispatch op always runs some impl; with FlagGems off that is vendor, the baseline itself.
  if (kind === 'dispatch' && raw.vendor !== 0) fail(`${where} is a dispatch op, so its vendor effect must be 0 (it is the baseline)`);
  for (const backend of Object.keys(raw.fails ?? {}) as Backend[]) {
    if (effects[backend] === undefined) fail(`${where}/fails names backend '${backend}' that the op does not have`);
  }
  return {
    kind,
    executed: raw.executed ?? true,
    effects,
    fails: raw.fails ?? {},
    oplist: raw.oplist ?? (kind === 'gems' ? 'gems' : 'dispatch'),
    module: raw.module ?? name.replace(/_+$/, ''),
  };
}

function scenariosDir(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 5; i++) {
    const candidate = join(dir, 'configs', 'scenarios');
    if (existsSync(candidate)) return candidate;
    dir = dirname(dir);
  }
  throw new Error('Cannot find configs/scenarios above the simulator');
}

/** Names of the shipped scenarios, sorted. */
export function listScenarios(): string[] {
  return readdirSync(scenariosDir())
    .filter((f) => f.endsWith('.yaml'))
    .map((f) => f.slice(0, -'.yaml'.length))
    .sort();
}

/** A bare name means configs/scenarios/<name>.yaml; anything with a slash or a .yaml/.yml suffix is a path. */
export function resolveScenarioPath(nameOrPath: string): string {
  if (nameOrPath.includes('/') || /\.ya?ml$/.test(nameOrPath)) return resolve(nameOrPath);
  const path = join(scenariosDir(), `${nameOrPath}.yaml`);
  if (!existsSync(path)) {
    throw new Error(`Unknown scenario '${nameOrPath}' (known: ${listScenarios().join(', ')})`);
  }
  return path;
}

export function parseScenarioText(text: string, origin: string): Scenario {
  let raw: unknown;
  try {
    raw = parseYaml(text);
  } catch (error) {
    const first = (error instanceof Error ? error.message : String(error)).split('\n')[0];
    throw new Error(`Invalid scenario ${origin}: not YAML: ${first}`);
  }
  return parseScenario(raw, origin);
}

export function readScenarioFile(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (error) {
    throw new Error(`Cannot read scenario ${path}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`);
  }
}

export function loadScenario(nameOrPath: string): Scenario {
  const path = resolveScenarioPath(nameOrPath);
  return parseScenarioText(readScenarioFile(path), path);
}
