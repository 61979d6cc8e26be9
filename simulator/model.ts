/**
 * The simulated benchmark: from a scenario and one invocation's environment to its outcome and
 * throughput. Pure and deterministic: every random draw is keyed on (scenario seed,
 * configuration signature, trial key, trial ordinal), never on the session or step, so a
 * re-run of the same logical run reproduces the same number, while two trials that happen to
 * share a configuration (a one-op combination and that op's own trial) draw independent noise.
 */
import type { AttentionBackend, Backend } from '../src/tuner/types.js';
import type { Metric } from './effects.js';
import { baselineOf, trueLogEffect, type TrueLogEffect } from './effects.js';
import { readEngineArgs } from './engine-args.js';
import { planEngine, pointKey, visibleGpus, type EngineFailure, type EnginePlan } from './engine.js';
import { executedOps, resolvePlugin, signatureOf, type ActiveConfiguration, type PluginEnv, type PluginError } from './plugin.js';
import { standardNormal, uniform } from './prng.js';
import type { FailureKind, OpKind, Scenario } from './scenario.js';

export { bestAchievable, type Optimum } from './optimum.js';

/** `kv_cache`: the engine left no room (or too little) for the KV cache. */
export type SimOutcome = 'ok' | FailureKind | 'config_error' | 'kv_cache';

export interface SimInput {
  readonly env: PluginEnv;
  /** Parsed VLLM_FL_CONFIG file, or null when unset or missing. */
  readonly config: unknown;
  /** How many times this configuration ran before (0 = first, cold). */
  readonly trialOrdinal: number;
  /** Position in the session; drives drift and the level shift. */
  readonly step: number;
  /**
   * Whether this run enables an operator backend that no earlier successful run of the session
   * enabled: what a first run pays for under per-operator cache semantics. Undefined when the
   * caller does not track it; the configuration's ordinal then decides, as with per-configuration caches.
   */
  readonly newOperators?: boolean;
  /** The invocation's identity (AUTOTUNE_RUN_KEY); deliberately no input to any draw. */
  readonly runKey: string;
  /** The benchmark's arguments (after `bench throughput`); read only by scenarios with an engine section. */
  readonly args?: readonly string[];
  /** Speed of the GPUs the run is on (devices.ts); absent: 1. */
  readonly deviceSpeed?: number;
}

export interface SimThroughput {
  readonly requestsPerSec: number;
  readonly totalTokensPerSec: number;
  readonly outputTokensPerSec: number;
}

export interface SimFailure {
  readonly kind: Exclude<SimOutcome, 'ok'>;
  /** The op whose backend failed, or the op the plugin could not dispatch. */
  readonly op: string | null;
  readonly backend: Backend | null;
  /** Set when the plugin itself refused the configuration. */
  readonly plugin: PluginError | null;
  /** Set when the engine arguments fail (engine.ts), whatever the ops. */
  readonly engine: EngineFailure | null;
}

/** Log-space terms of a successful run: throughput = baseline * exp(sum of all terms). */
export interface LogBreakdown extends TrueLogEffect {
  readonly cold: number;
  readonly drift: number;
  readonly shift: number;
  readonly noise: number;
  readonly outlier: number;
  readonly fast: number;
  /** Engine arguments relative to the scenario's baseline configuration; 0 without an engine section. */
  readonly engine: number;
  /** ln of the device group's speed. */
  readonly device: number;
}

export interface SimResult {
  readonly outcome: SimOutcome;
  /** As printed: rounded to 2 decimals. Null unless the outcome is ok. */
  readonly throughput: SimThroughput | null;
  readonly active: Readonly<Record<string, Backend>>;
  /** Op names for the enable-oplist file (written whenever FlagGems is on and the engine started). */
  readonly executedOps: readonly string[];
  readonly flaggemsOn: boolean;
  readonly attention: AttentionBackend | null;
  readonly signature: string;
  readonly failure: SimFailure | null;
  readonly breakdown: LogBreakdown | null;
  /** The engine's memory plan and arguments; null for scenarios without an engine section. */
  readonly engine: EnginePlan | null;
}

/** Failures surface in this order as the engine starts, profiles, generates and ends. */
const FAILURE_PHASE: Readonly<Record<FailureKind, number>> = {
  engine_crash: 0,
  oom: 1,
  kernel_fault: 2,
  hang: 3,
  no_result: 4,
};

function firstFailure(s: Scenario, c: ActiveConfiguration): SimFailure | null {
  let found: SimFailure | null = null;
  for (const [op, backend] of Object.entries(c.active)) {
    const kind = s.ops[op]?.fails[backend];
    if (kind !== undefined && (found === null || FAILURE_PHASE[kind] < FAILURE_PHASE[found.kind as FailureKind])) {
      found = { kind, op, backend, plugin: null, engine: null };
    }
  }
  return found;
}

function driftAt(s: Scenario, step: number): number {
  const steps = Math.max(0, Math.floor(step));
  let walk = 0;
  if (s.drift.randomWalk > 0) {
    for (let i = 1; i <= steps; i++) walk += standardNormal(`${s.seed}|drift|${i}`);
  }
  return s.drift.perStep * steps + s.drift.randomWalk * walk;
}

/** Noise in units of its scale: standard normal, or Student-t with `df` degrees of freedom (heavy tails). */
function noiseDraw(key: string, df: number | null): number {
  const z = standardNormal(key);
  if (df === null) return z;
  let chi2 = 0;
  for (let i = 1; i <= df; i++) chi2 += standardNormal(`${key}|chi|${i}`) ** 2;
  return z / Math.sqrt(chi2 / df);
}

/** Log cold penalty of a run under the scenario's cache semantics (see Scenario.cold). */
function coldAt(s: Scenario, input: SimInput): number {
  if (s.cold.per === 'operator' && input.newOperators !== undefined) {
    return input.newOperators || input.step === 0 ? Math.log1p(-s.cold.penalty) : 0;
  }
  return Math.log1p(-s.cold.penalty * s.cold.decay ** Math.max(0, input.trialOrdinal));
}

const round2 = (x: number): number => Math.round(x * 100) / 100;

/** The trial key inside an AUTOTUNE_RUN_KEY (`<session>:<step>:<ordinal>:<trialKey>`), or ''. */
function trialKeyOf(runKey: string): string {
  return /^[^:]*:\d+:\d+:(.*)$/s.exec(runKey)?.[1] ?? '';
}

export function simulate(s: Scenario, input: SimInput): SimResult {
  const resolution = resolvePlugin(s, input.env, input.config);
  const signature = signatureOf(resolution);
  if (!resolution.ok) {
    const { error } = resolution;
    const failure: SimFailure = {
      kind: error.kind === 'both_lists' ? 'config_error' : 'engine_crash',
      op: 'op' in error ? error.op : null,
      backend: null,
      plugin: error,
      engine: null,
    };
    return {
      outcome: failure.kind,
      throughput: null,
      active: {},
      executedOps: [],
      flaggemsOn: resolution.flaggemsOn,
      attention: null,
      signature,
      failure,
      breakdown: null,
      engine: null,
    };
  }
  const c = resolution.config;
  const engine = enginePlanOf(s, input);
  const common = {
    active: c.active,
    executedOps: executedOps(s, c),
    flaggemsOn: c.flaggemsOn,
    attention: c.attention,
    signature: withEngine(signature, engine),
    engine,
  };
  const engineFailure = engine?.failure ?? null;
  const early = engineFailure !== null && (engineFailure.stage === 'config' || engineFailure.stage === 'devices');
  const failure = early ? null : firstFailure(s, c);
  if (failure !== null) return { ...common, outcome: failure.kind, throughput: null, failure, breakdown: null };
  if (engineFailure !== null) {
    const outcome = engineOutcome(engineFailure);
    return { ...common, outcome, throughput: null, failure: { kind: outcome, op: null, backend: null, plugin: null, engine: engineFailure }, breakdown: null };
  }

  const key = `${s.seed}|${common.signature}|${trialKeyOf(input.runKey)}|${input.trialOrdinal}`;
  const anyFlagos = Object.values(c.active).includes('flagos');
  const sigma = s.noise.cv + (anyFlagos ? s.noise.flaggemsExtraCv : 0);
  const isOutlier = uniform(`${key}|outlier`) < s.noise.outlierProbability;
  const isFast = uniform(`${key}|fast`) < s.noise.fastProbability;
  const breakdown: LogBreakdown = {
    ...trueLogEffect(s, c),
    cold: coldAt(s, input),
    drift: driftAt(s, input.step),
    shift: s.levelShift !== null && input.step >= s.levelShift.atStep ? Math.log1p(s.levelShift.effect) : 0,
    noise: sigma * noiseDraw(`${key}|noise`, s.noise.tailDf),
    outlier: isOutlier ? Math.log1p(s.noise.outlierEffect * (0.5 + 0.5 * uniform(`${key}|outlier`, 1))) : 0,
    fast: isFast ? Math.log1p(s.noise.fastEffect * (0.5 + 0.5 * uniform(`${key}|fast`, 1))) : 0,
    engine: engine?.logEffect ?? 0,
    device: Math.log(input.deviceSpeed ?? 1),
  };
  const factor = Math.exp(Object.values(breakdown).reduce((a, b) => a + b, 0));
  const throughput: SimThroughput = {
    requestsPerSec: round2(s.baseline.requestsPerSec * factor),
    totalTokensPerSec: round2(s.baseline.totalTokensPerSec * factor),
    outputTokensPerSec: round2(s.baseline.outputTokensPerSec * factor),
  };
  return { ...common, outcome: 'ok', throughput, failure: null, breakdown };
}

/** The engine plan of a scenario with an engine section; arguments argparse would reject count as none. */
function enginePlanOf(s: Scenario, input: Pick<SimInput, 'env' | 'args'>): EnginePlan | null {
  if (s.engine === null) return null;
  const read = readEngineArgs(input.args ?? []);
  // argparse rejects such a command line before any engine exists (the bin's commandLineStatus).
  if ('problem' in read) return null;
  return planEngine(s, s.engine, read.args, visibleGpus(s.engine, input.env['CUDA_VISIBLE_DEVICES']));
}

const withEngine = (signature: string, engine: EnginePlan | null): string =>
  engine === null ? signature : `${signature}|engine:${pointKey(engine.point)}`;

/** A run's configuration signature: the plugin's, plus the engine point where the scenario has an engine. */
export function runSignature(s: Scenario, input: Pick<SimInput, 'env' | 'config' | 'args'>): string {
  return withEngine(signatureOf(resolvePlugin(s, input.env, input.config)), enginePlanOf(s, input));
}

function engineOutcome(f: EngineFailure): Exclude<SimOutcome, 'ok'> {
  switch (f.stage) {
    case 'config':
    case 'devices':
    case 'generate':
      return 'config_error';
    case 'kv_cache':
      return 'kv_cache';
    case 'load':
    case 'profile':
    case 'graphs':
      return 'oom';
  }
}

/**
 * The plugin inputs of running exactly `opBackends`, the way autotune's combined trial sets
 * them: FlagGems on with a whitelist of the flagos ops, OOT registration for the OOT ops.
 */
function pluginInputsFor(
  s: Scenario,
  opBackends: Readonly<Record<string, Backend>>,
  attention: AttentionBackend | null,
): { env: PluginEnv; config: Record<string, unknown> } {
  const ops = Object.keys(opBackends).sort();
  const flagos = ops.filter((op) => opBackends[op] === 'flagos');
  const oot = ops.filter((op) => s.ops[op]?.kind === 'oot');
  const env: Record<string, string | undefined> = {
    USE_FLAGGEMS: flagos.length > 0 ? '1' : '0',
    VLLM_FL_FLAGOS_WHITELIST: flagos.length > 0 ? flagos.join(',') : undefined,
    VLLM_FL_OOT_ENABLED: oot.length > 0 ? '1' : '0',
    VLLM_FL_OOT_WHITELIST: oot.length > 0 ? oot.join(',') : undefined,
    VLLM_FL_CONFIG: 'simulated.yaml',
    VLLM_ATTENTION_BACKEND: attention ?? undefined,
  };
  return { env, config: { op_backends: Object.fromEntries(ops.map((op) => [op, [opBackends[op]]])) } };
}

/** Noise-free, warm, drift-free throughput of running exactly `opBackends`; 0 when that configuration fails. */
export function trueThroughput(
  s: Scenario,
  opBackends: Readonly<Record<string, Backend>>,
  attention: AttentionBackend | null,
  metric: Metric,
): number {
  const { env, config } = pluginInputsFor(s, opBackends, attention);
  const resolution = resolvePlugin(s, env, config);
  if (!resolution.ok || firstFailure(s, resolution.config) !== null) return 0;
  const e = trueLogEffect(s, resolution.config);
  return baselineOf(s, metric) * Math.exp(e.ops + e.interactions + e.overhead);
}

export interface OpTruth {
  readonly kind: OpKind;
  readonly executed: boolean;
  /** Relative effect of the op alone on each backend it has (interactions and overhead excluded). */
  readonly effects: Readonly<Partial<Record<Backend, number>>>;
  readonly fails: Readonly<Partial<Record<Backend, FailureKind>>>;
}

/** Per op, per backend, the true effect under `attention` (the scenario's default when omitted). */
export function groundTruthEffects(s: Scenario, attention: AttentionBackend = s.defaultAttention): Record<string, OpTruth> {
  const out: Record<string, OpTruth> = {};
  for (const [name, op] of Object.entries(s.ops)) {
    const effects: Partial<Record<Backend, number>> = {};
    for (const [backend, values] of Object.entries(op.effects) as Array<[Backend, Record<AttentionBackend, number>]>) {
      effects[backend] = values[attention];
    }
    out[name] = { kind: op.kind, executed: op.executed, effects, fails: op.fails };
  }
  return out;
}
