/** A tiny seeded benchmark world for policy tests: per-op effects, noise, failures. */
import { fromThroughput } from '../../../src/tuner/metrics.js';
import { objectiveFor } from '../../../src/tuner/objective.js';
import type { DoneStep, FailStep, Policy, PolicyContext, RunStep, Step } from '../../../src/tuner/policy.js';
import type { Observation, RunOutcome } from '../../../src/tuner/types.js';
import { seededRandom } from '../../../src/tuner/policies/noise/schedule.js';

/**
 * The plugin's dispatch ops, which discovery proposes on top of the oplist (platformDispatchOps),
 * as they behave on a typical machine (cf. configs/scenarios/typical.yaml): the vendor backend
 * is the default path (neutral), flagos and the reference backends are slower. None helps, so
 * the worlds below keep their winners and losers where each test puts them.
 */
export const DISPATCH_EFFECTS: Readonly<Record<string, number>> = {
  'attention_backend=flagos': -0.02,
  'attention_backend=vendor': 0,
  'attention_backend=reference@FLASH_ATTN': -0.05,
  'attention_backend=reference@FLASHINFER': -0.03,
  'rms_norm=flagos': -0.004,
  'rms_norm=vendor': 0,
  'rms_norm=reference@FLASH_ATTN': -0.03,
  'rms_norm=reference@FLASHINFER': -0.025,
  'rotary_embedding=flagos': -0.003,
  'rotary_embedding=vendor': 0,
  'rotary_embedding=reference@FLASH_ATTN': -0.01,
  'rotary_embedding=reference@FLASHINFER': -0.008,
  'silu_and_mul=flagos': -0.005,
  'silu_and_mul=vendor': 0,
  'silu_and_mul=reference@FLASH_ATTN': -0.02,
  'silu_and_mul=reference@FLASHINFER': -0.02,
};

export interface FakeWorld {
  /**
   * Relative effect per `op=backend` (e.g. `rms_norm=flagos`), or `op=reference@ATTENTION` for
   * one attention backend; these override DISPATCH_EFFECTS; absent from both = 0.
   */
  readonly effects?: Readonly<Record<string, number>>;
  /** Extra effect when all listed `op=backend` entries are on together. */
  readonly interactions?: readonly { readonly members: readonly string[]; readonly effect: number }[];
  readonly sigma?: number;
  readonly executedOps?: readonly string[] | null;
  /** Trial keys that always fail, with their outcome. */
  readonly failing?: Readonly<Record<string, Exclude<RunOutcome, 'ok' | 'interrupted'>>>;
  /** `op=backend` entries that make every run enabling them fail, with their outcome. */
  readonly failingOps?: Readonly<Record<string, Exclude<RunOutcome, 'ok' | 'interrupted'>>>;
  /** Explicit values per run, consumed in order (overrides the model). null = failed run. */
  readonly script?: readonly (number | null)[];
  /** Runs off by `effect` (a stall when negative): the `run`-th run (0 = the first) of each trial of `prefix` (a trial's round prefix, such as combined_best) is moved by `effect`. */
  readonly offRuns?: readonly { readonly prefix: string; readonly run: number; readonly effect: number }[];
  readonly seed?: number;
}

export function context(over: Partial<PolicyContext> = {}): PolicyContext {
  return {
    numRuns: 2,
    objective: objectiveFor('total'),
    minGain: 0.005,
    budget: null,
    seed: 1,
    discovery: { explicitOps: null, configOps: null },
    ...over,
  };
}

function normal(random: () => number): number {
  return Math.sqrt(-2 * Math.log(random() + 1e-12)) * Math.cos(2 * Math.PI * random());
}

export function observe(world: FakeWorld, step: RunStep, index: number, random: () => number, ordinal = 0): Observation {
  const key = step.trial.key;
  const failing =
    world.failing?.[key] ??
    Object.entries(step.trial.opBackends)
      .map(([op, b]) => world.failingOps?.[`${op}=${b}`])
      .find((o) => o !== undefined);
  const scripted = world.script?.[index];
  let value: number | null;
  if (scripted !== undefined) value = scripted;
  else if (failing !== undefined) value = null;
  else {
    const on = Object.entries(step.trial.opBackends).map(([op, b]) => `${op}=${b}`);
    const attention = step.trial.attention;
    const effectOf = (k: string): number => {
      const specific = attention === null ? undefined : `${k}@${attention}`;
      const table = { ...DISPATCH_EFFECTS, ...world.effects };
      return (specific === undefined ? undefined : table[specific]) ?? table[k] ?? 0;
    };
    let effect = on.reduce((acc, k) => acc + effectOf(k), 0);
    for (const i of world.interactions ?? []) if (i.members.every((m) => on.includes(m))) effect += i.effect;
    for (const s of world.offRuns ?? []) if (step.trial.prefix === s.prefix && ordinal === s.run) effect += s.effect;
    value = 1000 * (1 + effect) * Math.exp((world.sigma ?? 0.003) * normal(random));
  }
  return {
    trialKey: key,
    kind: step.kind,
    outcome: value === null ? (failing ?? 'engine_failure') : 'ok',
    metrics: fromThroughput(value === null ? null : { requestsPerSec: value / 100, totalTokensPerSec: value, outputTokensPerSec: value / 2 }),
    executedOps: step.trial.recordOplist ? (world.executedOps ?? ['rms_norm', 'mul', 'mm']) : null,
    durationMs: 1000,
  };
}

export interface Drive {
  readonly runs: RunStep[];
  readonly end: DoneStep | FailStep;
  readonly steps: Step[];
}

export function drive(policy: Policy, ctx: PolicyContext, world: FakeWorld, limit = 10_000): Drive {
  const random = seededRandom(world.seed ?? 7);
  const cursor = policy.start(ctx);
  const runs: RunStep[] = [];
  const steps: Step[] = [];
  const ordinals = new Map<string, number>();
  let step = cursor.next();
  while (step.type === 'run') {
    steps.push(step);
    runs.push(step);
    if (runs.length > limit) throw new Error('policy did not finish');
    const ordinal = ordinals.get(step.trial.key) ?? 0;
    ordinals.set(step.trial.key, ordinal + 1);
    step = cursor.next(observe(world, step, runs.length - 1, random, ordinal));
  }
  steps.push(step);
  return { runs, end: step, steps };
}
