/**
 * Held-out scenarios for the decision benchmark, generated from fixed seeds so no policy
 * change is ever fitted to them. Two sets:
 * - the family: classes like the shipped scenarios (typical, noisy, drifting, old output
 *   format, nothing helps, low-noise realistic), two scenarios each;
 * - the hard set: what breaks a simple noise model (heavy tails, one-sided stalls with rare
 *   fast runs, a level shift mid-session, 60 and 150 executed operators, pairwise
 *   interactions of both signs, a catastrophic operator, crashing operators).
 * Effects follow what real GPUs show (statistics guide, section 4): most operators within
 * noise, a few gain 0.4-3%, a few lose 1-3%, rare ones lose 10-30%.
 *   node dist/bench/scenario-generator.js DIR    writes them as scenario files
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { standardNormal, uniform } from '../simulator/prng.js';
import { parseScenario, type Scenario } from '../simulator/scenario.js';

export type HeldOutSet = 'family' | 'hard';

interface ClassSpec {
  readonly name: string;
  readonly set: HeldOutSet;
  readonly ops: number;
  readonly cv: readonly [number, number];
  readonly winners: readonly [number, number];
  readonly gain: readonly [number, number];
  readonly harmful: number;
  readonly bigLoser: boolean;
  readonly extra: (r: Draw) => Record<string, unknown>;
  readonly opsExtra?: (r: Draw, names: readonly string[]) => Record<string, unknown>;
}

/** Seeded draws for one generated scenario. */
class Draw {
  private i = 0;
  constructor(private readonly key: string) {}
  u(): number {
    return uniform(this.key, ++this.i);
  }
  n(): number {
    return standardNormal(`${this.key}|${++this.i}`);
  }
  range([a, b]: readonly [number, number]): number {
    return a + (b - a) * this.u();
  }
  int(a: number, b: number): number {
    return a + Math.floor(this.u() * (b - a + 1));
  }
}

/** Plain FlagGems op names, as aten spells them; padded with numbered ones past the list. */
const GEMS_NAMES = [
  'mul', 'silu', 'softmax', 'exp', 'mm', 'add', 'addmm', 'bmm', 'sub', 'cat', 'clone', 'embedding', 'cos', 'sin',
  'zeros', 'ones', 'full', 'index_select', 'gather', 'masked_fill_', 'rsqrt', 'reciprocal', 'argmax', 'cumsum',
  'sort', 'gelu', 'layer_norm', 'log_softmax', 'sigmoid', 'tanh', 'neg', 'abs', 'maximum', 'minimum', 'mean',
  'sum', 'amax', 'max', 'min', 'prod', 'var_mean', 'isinf', 'isnan', 'where_self', 'topk', 'repeat', 'tile',
  'flip', 'triu', 'pad', 'stack', 'hstack', 'vstack', 'linspace', 'arange', 'randn', 'rand', 'multinomial',
  'erf', 'log', 'sqrt', 'pow_tensor', 'div_mode', 'remainder', 'floor_divide', 'bitwise_and', 'bitwise_or',
  'logical_and', 'logical_or', 'logical_not', 'eq', 'ne', 'lt', 'le', 'gt', 'ge', 'all', 'any', 'nonzero_static',
  'scatter_add', 'index_add', 'index_put', 'masked_select', 'diag', 'outer', 'vdot', 'dot', 'mv', 'baddbmm',
  'conv1d', 'group_norm', 'batch_norm', 'dropout', 'upsample_nearest2d', 'kron', 'lerp', 'polar', 'angle',
];
const DISPATCH = {
  rms_norm: { flagos: 0, vendor: 0.0005, reference: -0.03 },
  silu_and_mul: { flagos: 0, vendor: 0, reference: -0.02 },
  rotary_embedding: { flagos: 0, vendor: 0.001, reference: -0.01 },
  attention_backend: { flagos: -0.02, vendor: 0, reference: -0.04 },
};

function opNames(count: number): string[] {
  const out = GEMS_NAMES.slice(0, count);
  for (let i = out.length; i < count; i++) out.push(`fused_kernel_${String(i).padStart(3, '0')}`);
  return out;
}

const round5 = (x: number): number => Math.round(x * 1e5) / 1e5;

const none = (): Record<string, unknown> => ({});
const FAMILY: readonly ClassSpec[] = [
  { name: 'typical', set: 'family', ops: 40, cv: [0.002, 0.004], winners: [2, 4], gain: [0.005, 0.012], harmful: 1, bigLoser: true, extra: none },
  { name: 'noisy', set: 'family', ops: 24, cv: [0.012, 0.02], winners: [2, 3], gain: [0.008, 0.025], harmful: 1, bigLoser: false, extra: none },
  {
    name: 'drifting',
    set: 'family',
    ops: 24,
    cv: [0.003, 0.005],
    winners: [2, 3],
    gain: [0.005, 0.015],
    harmful: 1,
    bigLoser: true,
    extra: (r) => ({ drift: { perStep: round5(-0.0002 - 0.0003 * r.u()), randomWalk: round5(0.0008 + 0.0008 * r.u()) } }),
  },
  { name: 'old-format', set: 'family', ops: 20, cv: [0.004, 0.008], winners: [1, 3], gain: [0.006, 0.02], harmful: 1, bigLoser: false, extra: () => ({ format: 'old' }) },
  { name: 'nothing-helps', set: 'family', ops: 20, cv: [0.003, 0.006], winners: [0, 0], gain: [0, 0], harmful: 2, bigLoser: true, extra: none },
  { name: 'low-noise', set: 'family', ops: 30, cv: [0.003, 0.007], winners: [2, 4], gain: [0.004, 0.015], harmful: 1, bigLoser: false, extra: none },
];
const HARD: readonly ClassSpec[] = [
  { name: 'heavy-tail', set: 'hard', ops: 30, cv: [0.003, 0.005], winners: [2, 4], gain: [0.005, 0.02], harmful: 2, bigLoser: true, extra: () => ({ noiseExtra: { tailDf: 2 } }) },
  {
    name: 'stalls',
    set: 'hard',
    ops: 30,
    cv: [0.003, 0.005],
    winners: [2, 4],
    gain: [0.005, 0.02],
    harmful: 1,
    bigLoser: true,
    extra: () => ({ noiseExtra: { outlierProbability: 0.08, outlierEffect: -0.15, fastProbability: 0.05, fastEffect: 0.02 } }),
  },
  { name: 'level-shift', set: 'hard', ops: 30, cv: [0.003, 0.005], winners: [2, 4], gain: [0.005, 0.02], harmful: 1, bigLoser: true, extra: (r) => ({ levelShift: { atStep: r.int(25, 45), effect: -0.03 - 0.03 * r.u() } }) },
  { name: 'ops-60', set: 'hard', ops: 60, cv: [0.003, 0.006], winners: [3, 5], gain: [0.005, 0.02], harmful: 2, bigLoser: true, extra: none },
  { name: 'ops-150', set: 'hard', ops: 150, cv: [0.003, 0.006], winners: [3, 6], gain: [0.005, 0.02], harmful: 3, bigLoser: true, extra: none },
  {
    name: 'interactions',
    set: 'hard',
    ops: 30,
    cv: [0.003, 0.005],
    winners: [3, 4],
    gain: [0.006, 0.015],
    harmful: 1,
    bigLoser: false,
    extra: none,
    // A negative pair among the winners, a positive pair of neutral ops.
    opsExtra: (r, names) => ({ interactions: [{ ops: [names[0], names[1]], effect: round5(-0.006 - 0.004 * r.u()) }, { ops: [names[10], names[11]], effect: round5(0.006 + 0.006 * r.u()) }] }),
  },
  { name: 'catastrophic', set: 'hard', ops: 40, cv: [0.003, 0.005], winners: [2, 4], gain: [0.005, 0.02], harmful: 1, bigLoser: true, extra: () => ({ catastrophic: true }) },
  { name: 'failures', set: 'hard', ops: 30, cv: [0.003, 0.005], winners: [2, 4], gain: [0.005, 0.015], harmful: 1, bigLoser: false, extra: () => ({ failures: true }) },
];

export interface HeldOutScenario {
  readonly scenario: Scenario;
  readonly cls: string;
  readonly set: HeldOutSet;
}

/** Fixed generator seeds: the held-out split is the same on every machine and every run. */
const GENERATOR_SEEDS = [91_001, 91_002] as const;
/** Generator seeds of the tuning-generated split: the same classes, other scenarios. */
export const TUNING_SEEDS = [81_001, 81_002] as const;

function generate(spec: ClassSpec, seed: number): Record<string, unknown> {
  const r = new Draw(`heldout|${spec.name}|${seed}`);
  const names = opNames(spec.ops);
  const extra = spec.extra(r);
  const ops: Record<string, unknown> = {};
  // Winners first in the name list (the interaction class relies on it), then losers, then neutral.
  const winners = r.int(spec.winners[0], spec.winners[1]);
  names.forEach((name, i) => {
    let effect: number;
    if (i < winners) effect = r.range(spec.gain);
    else if (i < winners + spec.harmful) effect = -0.01 - 0.015 * r.u();
    else effect = Math.max(-0.004, Math.min(0.003, 0.0012 * r.n()));
    ops[name] = round5(effect);
  });
  if (spec.bigLoser) ops['mm'] = { flagos: round5(-0.1 - 0.05 * r.u()), oplist: 'hopper_mm' };
  if (extra['catastrophic'] === true) ops['add'] = round5(-0.25 - 0.05 * r.u());
  if (extra['failures'] === true) {
    const kinds = ['oom', 'engine_crash', 'kernel_fault', 'no_result'] as const;
    kinds.forEach((kind, k) => {
      const name = names[winners + spec.harmful + 1 + k];
      if (name !== undefined) ops[name] = { flagos: 0.002, fails: { flagos: kind } };
    });
  }
  for (const [name, d] of Object.entries(DISPATCH)) {
    const flagos = name === 'attention_backend' ? d.flagos : round5(Math.max(-0.006, Math.min(0.008, 0.003 * r.n())));
    ops[name] = name === 'attention_backend' ? { ...d } : { ...d, flagos };
  }
  const cv = round5(r.range(spec.cv));
  const raw: Record<string, unknown> = {
    name: `${spec.name}-${seed}`,
    description: `Held-out ${spec.set} scenario, class ${spec.name}, generator seed ${seed}.`,
    // The simulator's noise seed, drawn per class: with the generator seed alone, every class
    // would replay the same noise on its baseline runs, and one unlucky draw would count once
    // per class as if the sessions were independent.
    seed: Math.floor(uniform(`noise|${spec.name}|${seed}`) * 2 ** 31),
    baseline: { requestsPerSec: 14.82, totalTokensPerSec: 22763.52, outputTokensPerSec: 7587.84 },
    noise: { cv, flaggemsExtraCv: round5(cv * (0.5 + 0.5 * r.u())), outlierProbability: 0.01, outlierEffect: -0.2, ...(extra['noiseExtra'] as object | undefined) },
    flaggemsOverhead: -0.001,
    cold: { penalty: round5(0.03 + 0.04 * r.u()), decay: 0.3 },
    ops,
    ...(spec.opsExtra?.(r, names) ?? {}),
  };
  for (const k of ['drift', 'format', 'levelShift'] as const) if (extra[k] !== undefined) raw[k] = extra[k];
  return raw;
}

/** Every class at each of `seeds`. */
export function generatedScenarios(seeds: readonly number[]): HeldOutScenario[] {
  return [...FAMILY, ...HARD].flatMap((spec) =>
    seeds.map((seed) => ({ scenario: parseScenario(generate(spec, seed), `generated:${spec.name}-${seed}`), cls: spec.name, set: spec.set })),
  );
}

/** The held-out split: every class at every generator seed. */
export function heldOutScenarios(): HeldOutScenario[] {
  return generatedScenarios(GENERATOR_SEEDS);
}

function main(dir: string): void {
  mkdirSync(dir, { recursive: true });
  for (const spec of [...FAMILY, ...HARD]) {
    for (const seed of GENERATOR_SEEDS) writeFileSync(join(dir, `${spec.name}-${seed}.yaml`), stringify(generate(spec, seed)));
  }
}

if (process.argv[1]?.endsWith('scenario-generator.js') === true) {
  const dir = process.argv[2];
  if (dir === undefined) {
    process.stderr.write('usage: node dist/bench/scenario-generator.js DIR\n');
    process.exitCode = 2;
  } else main(dir);
}
