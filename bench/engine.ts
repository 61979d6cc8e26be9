/**
 * Engine-study benchmark: the tiers policy, in process against the simulator's engine model,
 * on the three engine scenarios and on variants of them (knees, memory ceilings, weights, tp
 * efficiency and speculative gains perturbed), over several seeds.
 *   node dist/bench/engine.js [--split heldout|tuning] [--seeds N] [--variants N] [--first K]
 *
 * The split is declared here and never mixed:
 * - tuning: variants drawn from index 1 on (and the named scenarios, reported in both splits).
 *   The search's rules were chosen by looking at these (up to about index 180), at the
 *   aggregate of variants 101 on, and at variants 5001 on.
 * - heldout (the default, the one the targets judge): variants drawn from index 1001 on. No rule
 *   of the search was chosen by looking at them.
 * The earlier held-out split (variants 201 on) is retired: one of its variants (engine-moe~217)
 * missed the regret target and was looked at before the search was changed (unordered axes
 * such as speculative-config are now tried at every value), so it no longer judges the search.
 * `--first K` draws the variants from index K on instead (a fresh set).
 * Prints, per scenario, the invocations against the full grid's and the regret of the chosen
 * point against the ground-truth optimum over the product of every tier's axes (output tokens/s
 * per GPU). Exits 1 when a target is missed: worst regret over 2%, or a mean invocation count
 * above half the full grid's.
 */
import { benchArgs, runMain, UsageError } from './args.js';
import { fromThroughput } from '../src/tuner/metrics.js';
import { objectiveFor } from '../src/tuner/objective.js';
import type { PolicyContext } from '../src/tuner/policy.js';
import { tiersPolicy } from '../src/tuner/policies/tiers.js';
import { gridSize, type EngineSpace, type Tier } from '../src/tuner/spaces/engine.js';
import { KV_CACHE_SHORTAGE, type Observation } from '../src/tuner/types.js';
import { engineOptimum, engineTruth, type GridPoint } from '../simulator/engine.js';
import { simulate } from '../simulator/model.js';
import { uniform } from '../simulator/prng.js';
import { loadScenario, type Scenario } from '../simulator/scenario.js';

const USAGE = 'node dist/bench/engine.js [--split heldout|tuning] [--seeds N] [--variants N] [--first K]';
const TARGET_WORST_REGRET = 0.02;
/** The first variant of the held-out split: no rule of the search was chosen on it or on the ones after it (up to 5000). */
const HELD_OUT_FIRST = 1001;
const TARGET_GRID_RATIO = 0.5;
const NUM_RUNS = 2;
/** GPUs the session may use: tp=8 is rejected before running, as tp=3 is by the attention heads. */
const GPUS = 4;
const NGRAM = '{"method": "ngram", "num_speculative_tokens": 6}';
const SUFFIX = '{"method": "suffix", "num_speculative_tokens": 32}';

/** The two tiers of the published sweep: batching and parallelism, then speculation and memory on the winner. */
const TIERS: readonly Tier[] = [
  {
    name: 'batching',
    axes: [
      { name: 'tensor-parallel-size', values: [1, 2, 3, 4, 8] },
      { name: 'max-num-seqs', values: [128, 256, 512, 1024, 2048] },
      { name: 'max-num-batched-tokens', values: [4096, 8192, 16384, 32768, 65536] },
    ],
    fixed: {},
    independent: false,
  },
  {
    name: 'speculative',
    axes: [
      { name: 'speculative-config', values: [null, NGRAM, SUFFIX] },
      { name: 'gpu-memory-utilization', values: [0.9, 0.95] },
    ],
    fixed: {},
    independent: false,
  },
];

/** vLLM's own failure messages reach the policy classified as the runner classifies them. */
const OFF = { USE_FLAGGEMS: '0', VLLM_FL_OOT_ENABLED: '0' };

function observe(s: Scenario, trialKey: string, kind: Observation['kind'], args: readonly string[], ordinal: number, step: number): Observation {
  const sim = simulate(s, { env: OFF, config: null, trialOrdinal: ordinal, step, runKey: `bench:${step}:${ordinal}:${trialKey}`, args });
  const outcome = sim.outcome === 'ok' ? 'ok' : sim.outcome === 'kv_cache' || sim.outcome === 'oom' ? 'oom' : sim.outcome === 'hang' ? 'timeout' : 'engine_failure';
  const failure = sim.outcome === 'ok' ? null : sim.outcome === 'kv_cache' ? `${KV_CACHE_SHORTAGE}: ValueError` : `${sim.outcome}`;
  return { trialKey, kind, outcome, metrics: sim.throughput === null ? null : fromThroughput(sim.throughput), executedOps: null, durationMs: 0, failure };
}

interface Session {
  readonly invocations: number;
  readonly chosen: GridPoint;
}

/** The study's space, checked against the scenario's model as its config.json would describe it. */
function spaceOf(s: Scenario): EngineSpace {
  const e = s.engine;
  if (e === null) throw new Error(`${s.name} has no engine section`);
  return {
    tiers: TIERS,
    search: 'coordinate',
    operators: false,
    limits: { numHeads: e.attentionHeads, gpus: GPUS, maxModelLen: s.latency.maxModelLen, inputLen: null, outputLen: null },
    base: {},
    retry: [],
  };
}

function runStudy(s: Scenario, seed: number): Session {
  const space = spaceOf(s);
  const ctx: PolicyContext = { numRuns: NUM_RUNS, objective: objectiveFor('output'), minGain: 0.005, budget: null, seed, discovery: { explicitOps: null, configOps: null }, engine: space };
  const cursor = tiersPolicy.start(ctx);
  const ordinals = new Map<string, number>();
  let invocations = 0;
  for (let step = cursor.next(); ; ) {
    if (step.type === 'fail') throw new Error(`${s.name} seed ${seed}: ${step.message}`);
    if (step.type === 'done') {
      const args = step.result.engine?.args ?? [];
      const chosen: Record<string, string | number> = {};
      for (let i = 0; i < args.length; i += 2) chosen[(args[i] ?? '').slice(2)] = args[i + 1] ?? '';
      return { invocations, chosen };
    }
    const ordinal = ordinals.get(step.trial.key) ?? 0;
    ordinals.set(step.trial.key, ordinal + 1);
    step = cursor.next(observe(s, step.trial.key, step.kind, step.trial.extraArgs, ordinal, invocations));
    invocations += 1;
  }
}

/** The product of every tier's axes, the points the session may not run (tp over the GPUs) left out. */
function truthAxes(): Record<string, ReadonlyArray<string | number | null>> {
  const axes: Record<string, ReadonlyArray<string | number | null>> = {};
  for (const tier of TIERS) for (const a of tier.axes) axes[a.name] = a.values.filter((v) => typeof v !== 'boolean' && !(a.name === 'tensor-parallel-size' && typeof v === 'number' && v > GPUS)) as (string | number | null)[];
  return axes;
}

/**
 * A held-out variant: every knob that places the optimum and the memory ceiling moved by a
 * seeded factor (knees and peaks 0.5x-2x, GPU memory 0.6x-1.1x, weights 0.8x-1.25x, tp
 * efficiency and speculative gains +-10%).
 */
function variant(s: Scenario, k: number): Scenario {
  const e = s.engine;
  if (e === null) throw new Error(`${s.name} has no engine section`);
  const u = (what: string): number => uniform(`bench-engine|${s.name}|${k}|${what}`);
  const scale = (what: string, lo: number, hi: number): number => lo * (hi / lo) ** u(what);
  const speculative = Object.fromEntries(Object.entries(e.speculative).map(([m, g]) => [m, { ...g, gain: g.gain * scale(`spec-${m}`, 0.9, 1.1) }]));
  const tpEfficiency = Object.fromEntries(Object.entries(e.tpEfficiency).map(([tp, eff]) => [tp, tp === '1' ? 1 : Math.min(1, eff * scale(`tp-${tp}`, 0.9, 1.1))]));
  return {
    ...s,
    name: `${s.name}~${k}`,
    seed: s.seed + 1000 * k,
    engine: {
      ...e,
      seqKnee: e.seqKnee * scale('seq-knee', 0.5, 2),
      tokensKnee: e.tokensKnee * scale('tokens-knee', 0.5, 2),
      tokensPeak: e.tokensPeak * scale('tokens-peak', 0.5, 2),
      gpuMemoryGiB: e.gpuMemoryGiB * scale('memory', 0.6, 1.1),
      weightsGiB: e.weightsGiB * scale('weights', 0.8, 1.25),
      preemptionPenalty: e.preemptionPenalty * scale('preemption', 0.5, 2),
      tpEfficiency,
      speculative,
    },
  };
}

interface Row {
  readonly name: string;
  readonly invocations: number;
  readonly grid: number;
  readonly meanRegret: number;
  readonly worstRegret: number;
}

function measure(s: Scenario, seeds: number): Row | null {
  const optimum = engineOptimum(s, truthAxes()).best;
  // A variant whose own baseline configuration cannot run (weights past the memory) has no gains to speak of.
  if (!Number.isFinite(optimum.perGpu) || optimum.perGpu <= 0) return null;
  const regrets: number[] = [];
  let invocations = 0;
  for (let seed = 1; seed <= seeds; seed++) {
    const run = runStudy({ ...s, seed: s.seed + seed }, seed);
    invocations += run.invocations;
    regrets.push(1 - engineTruth(s, run.chosen).perGpu / optimum.perGpu);
  }
  return {
    name: s.name,
    invocations: invocations / seeds,
    grid: gridSize(spaceOf(s)) * NUM_RUNS,
    meanRegret: regrets.reduce((a, b) => a + b, 0) / regrets.length,
    worstRegret: Math.max(...regrets),
  };
}

const pct = (x: number): string => `${(x * 100).toFixed(2)}%`;

function print(title: string, rows: readonly Row[]): boolean {
  console.log(`\n${title}`);
  console.log('scenario                 invocations  full grid  ratio  mean regret  worst regret');
  let ok = true;
  for (const r of rows) {
    const ratio = r.invocations / r.grid;
    const miss = r.worstRegret > TARGET_WORST_REGRET || ratio > TARGET_GRID_RATIO;
    ok &&= !miss;
    console.log(
      `${r.name.padEnd(24)} ${r.invocations.toFixed(1).padStart(11)}  ${String(r.grid).padStart(9)}  ${ratio.toFixed(2).padStart(5)}  ${pct(r.meanRegret).padStart(11)}  ${pct(r.worstRegret).padStart(12)}${miss ? '  MISSED' : ''}`,
    );
  }
  return ok;
}

function main(): void {
  const values = benchArgs(USAGE, { options: { split: { type: 'string', default: 'heldout' }, seeds: { type: 'string', default: '8' }, variants: { type: 'string', default: '6' }, first: { type: 'string' } } });
  if (values.split !== 'heldout' && values.split !== 'tuning') throw new UsageError(`--split must be heldout or tuning, not ${values.split}`);
  const seeds = Number(values.seeds);
  const variants = Number(values.variants);
  const first = Number(values.first ?? (values.split === 'heldout' ? HELD_OUT_FIRST : 1));
  for (const [name, n] of [['--seeds', seeds], ['--variants', variants], ['--first', first]] as const) if (!Number.isInteger(n) || n < (name === '--variants' ? 0 : 1)) throw new UsageError(`${name} must be a whole number${name === '--variants' ? '' : ' >= 1'}, not ${n}`);
  const named = ['engine-small-dense', 'engine-moe', 'engine-large-dense'].map((n) => loadScenario(n));
  const namedRows = named.map((s) => measure(s, seeds)).filter((r): r is Row => r !== null);
  // Variants are drawn until `variants` of each scenario can run their baseline (at most 3x as many tried).
  let skipped = 0;
  const heldOut = named.flatMap((s) => {
    const rows: Row[] = [];
    for (let k = first; rows.length < variants && k < first + 3 * variants; k++) {
      const row = measure(variant(s, k), seeds);
      if (row === null) skipped += 1;
      else rows.push(row);
    }
    return rows;
  });
  console.log(`tiers policy, coordinate search, ${NUM_RUNS} runs per point, ${seeds} seeds; targets: worst regret <= ${pct(TARGET_WORST_REGRET)}, invocations <= ${TARGET_GRID_RATIO}x the full grid`);
  const okNamed = print('engine scenarios', namedRows);
  const okHeld = print(`${values.first !== undefined ? `variants from ${first}` : values.split === 'heldout' ? 'held-out variants' : 'tuning variants'} (${variants} per scenario, from index ${first}; ${skipped} more drawn and left out: their baseline configuration cannot run)`, heldOut);
  const all = [...namedRows, ...heldOut];
  console.log(`\noverall: worst regret ${pct(Math.max(...all.map((r) => r.worstRegret)))}, mean ratio ${(all.reduce((a, r) => a + r.invocations / r.grid, 0) / all.length).toFixed(2)}`);
  if (!okNamed || !okHeld) {
    console.error('bench:engine: a target was missed');
    process.exitCode = 1;
  }
}

runMain(USAGE, main);
