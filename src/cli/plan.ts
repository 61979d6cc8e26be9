/**
 * What a study will do before it does anything: its stages and trials, the benchmark
 * invocations its policy plans, and the GPU-hours that costs. Pure.
 */
import { formatObjective } from '../tuner/objective.js';
import { latencyAxisDefaults, splitLatencyArgs } from '../runners/benchmarks/latency/args.js';
import { discoverOps } from '../tuner/discovery.js';
import { expandLatencyGrid, latencyAxes, resolveMaxModelLen } from '../tuner/latency-grid.js';
import { candidatesOf, defaultBudget, referenceInvocations } from '../tuner/policies/noise/schedule.js';
import type { Backend } from '../tuner/types.js';
import type { SearchMode } from '../tuner/spaces/engine.js';
import type { RunOptions, Workload } from './args.js';
import { engineRequestOf } from './engine-options.js';
import { enginePlan } from './engine-plan.js';
import { serveStudyFrom } from './serve-study-options.js';
import { caseKey } from '../tuner/serve-cases.js';
import { splitServeModel } from '../runners/benchmarks/serve/args.js';

export interface Stage {
  readonly name: string;
  readonly trials: number;
}

export interface StudyPlan {
  readonly bench: RunOptions['bench'];
  readonly stages: readonly Stage[];
  /** Trials over every workload point. */
  readonly trials: number;
  readonly invocations: number;
  /** True when the operators are discovered at round 1c: the counts are then lower bounds. */
  readonly lowerBound: boolean;
  readonly operators: string;
  readonly invocationRule: string;
  readonly points: number;
  /** Latency points left out (input + output over max-model-len), each with its reason. */
  readonly skipped: readonly { readonly key: string; readonly reason: string }[];
  readonly gpus: { readonly count: number; readonly tp: number; readonly pp: number };
  /** An engine study's tiers and search; its stages are the tiers and its trials their points. */
  readonly engine?: { readonly tiers: number; readonly search: SearchMode };
}

const plural = (n: number, word: string): string => `${n} ${word}${n === 1 ? '' : 's'}`;

/** The last value of any of `names` (`--x v` or `--x=v`), as argparse would keep it. */
function argValue(args: readonly string[], names: readonly string[]): string | null {
  let found: string | null = null;
  args.forEach((arg, i) => {
    for (const name of names) {
      if (arg === name) found = args[i + 1] ?? found;
      else if (arg.startsWith(`${name}=`)) found = arg.slice(name.length + 1);
    }
  });
  return found;
}

function positiveInt(text: string | null): number {
  const n = text === null ? NaN : Number(text);
  return Number.isInteger(n) && n > 0 ? n : 1;
}

export function gpusOf(args: readonly string[]): StudyPlan['gpus'] {
  const tp = positiveInt(argValue(args, ['--tensor-parallel-size', '--tensor_parallel_size', '-tp']));
  const pp = positiveInt(argValue(args, ['--pipeline-parallel-size', '--pipeline_parallel_size', '-pp']));
  return { count: tp * pp, tp, pp };
}

/** Workload points: every combination of the given lists (an empty list is vLLM's default). */
export function workloadPoints(w: Workload | null): number {
  if (w === null) return 1;
  return [w.batchSizes, w.inputLens, w.outputLens, w.numPrompts].reduce((n, l) => n * Math.max(1, l.length), 1);
}

/** Runs in flight at once, as the engine will run them: SLURM's jobs, else the GPU groups. */
function runSlots(run: RunOptions): number {
  return run.runner === 'slurm' ? (run.slurm.maxJobs ?? 1) : (run.gpuGroups?.length ?? 1);
}

function tuningPlan(run: RunOptions, configOps: Readonly<Record<string, readonly Backend[]>> | null): Omit<StudyPlan, 'bench' | 'points' | 'skipped' | 'gpus'> {
  const discovery = { explicitOps: run.ops, configOps: run.ops === null ? configOps : null, backends: run.backends };
  // Before round 1c the table is what discovery knows without its log: explicit ops are
  // final, otherwise round 1c adds what FlagGems executed.
  const lowerBound = run.ops === null;
  const known = discoverOps(discovery, lowerBound ? [] : null);
  const table = lowerBound ? known.initial : known.final;
  const candidates = candidatesOf(table).length;
  const names = Object.keys(table);
  const operators = lowerBound
    ? `discovered at round 1c (baseline_gems_enable): the count is unknown until then; planned with the ${names.length} known before it (${names.join(', ')}), so every count below is a lower bound`
    : `${names.length} given (${names.join(', ')})`;
  // The reference policy on several slots measures the baseline once more on every other slot.
  const slotBaselines = run.policy === 'reference' ? runSlots(run) - 1 : 0;
  const stages: Stage[] = [
    { name: '1a baseline', trials: 1 },
    ...(slotBaselines > 0 ? [{ name: 'baseline on every other slot', trials: slotBaselines }] : []),
    { name: '1b baseline_fake_gems_op', trials: 1 },
    { name: '1c baseline_gems_enable', trials: 1 },
    { name: '2 one operator x backend', trials: candidates },
    { name: '3 combined_best', trials: 1 },
  ];
  const trials = stages.reduce((n, s) => n + s.trials, 0);
  const reference = referenceInvocations(run.numRuns, table) + slotBaselines * run.numRuns;
  let invocations: number;
  let invocationRule: string;
  if (run.policy === 'reference' && (run.budget === null || run.budget >= reference)) {
    invocations = reference;
    invocationRule = `reference policy: ${plural(run.numRuns, 'run')} x ${plural(trials, 'trial')}`;
  } else if (run.budget !== null) {
    // Both policies stop asking for runs when the budget is spent.
    invocations = run.budget;
    invocationRule = 'at most: the budget';
  } else if (run.policy === 'screening') {
    invocations = reference;
    invocationRule = `at most: the screening default budget, the reference's ${reference}`;
  } else {
    invocations = defaultBudget(run.numRuns, table);
    invocationRule = `at most: the noise-aware default budget, 1.5 x the reference's ${reference}`;
  }
  return { stages, trials, invocations, lowerBound, operators, invocationRule };
}

/**
 * The grid as the latency sweep expands it: axes from the workload, else the user's own
 * `--batch-size`/`--input-len`/`--output-len`, else vLLM's defaults; points over
 * `--max-model-len` skipped (the bound from the model's config.json is only read at run time).
 */
function latencyPlan(run: RunOptions): StudyPlan {
  const { given } = splitLatencyArgs(run.passthrough);
  const axes = latencyAxes(run.workload, latencyAxisDefaults(given));
  const grid = expandLatencyGrid(axes, resolveMaxModelLen(given.maxModelLen, null));
  const points = grid.points.length;
  const tp = given.tensorParallel ?? 1;
  const pp = given.pipelineParallel ?? 1;
  const engines = run.compare?.engines.map((e) => e.name) ?? ['default'];
  const opSets = run.compare?.operatorSets.map((o) => o.name) ?? ['default'];
  const configs = engines.length * opSets.length;
  const trials = points * configs;
  return {
    bench: 'latency',
    stages: [{ name: `latency grid (batch sizes ${axes.batchSizes.join(',')} x input lens ${axes.inputLens.join(',')} x output lens ${axes.outputLens.join(',')})`, trials }],
    trials,
    invocations: trials * run.numRuns,
    lowerBound: false,
    operators:
      configs === 1 ? 'one configuration per point' : `${configs} configurations per point, side by side: engines ${engines.join(', ')} x operator sets ${opSets.join(', ')}`,
    invocationRule: `${plural(run.numRuns, 'run')} x ${plural(points, 'point')}${configs === 1 ? '' : ` x ${configs} configurations`}`,
    points,
    skipped: grid.skipped.map((p) => ({ key: p.key, reason: p.reason })),
    gpus: { count: tp * pp, tp, pp },
  };
}

export function planStudy(run: RunOptions, configOps: Readonly<Record<string, readonly Backend[]>> | null): StudyPlan {
  if (run.bench === 'latency') return latencyPlan(run);
  const engine = engineRequestOf(run);
  if (engine !== null) return enginePlan(run, engine);
  const points = workloadPoints(run.workload);
  const one = tuningPlan(run, configOps);
  return {
    ...one,
    bench: run.bench,
    trials: one.trials * points,
    invocations: one.invocations * points,
    invocationRule: points === 1 ? one.invocationRule : `${one.invocationRule}, for each of ${points} workload points`,
    points,
    skipped: [],
    gpus: gpusOf(run.passthrough),
  };
}

/** Where a per-run duration for the estimate came from. */
export type RunDuration = { readonly minutes: number; readonly source: string };

export function gpuHours(plan: StudyPlan, duration: RunDuration): number {
  return (plan.invocations * duration.minutes * plan.gpus.count) / 60;
}

/** A word as a POSIX shell would need it, for showing a command line (never for running one). */
function shown(word: string): string {
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}

function atLeast(plan: StudyPlan, n: number): string {
  return plan.lowerBound ? `at least ${n}` : String(n);
}

export function planSummary(plan: StudyPlan): string {
  if (plan.engine !== undefined) {
    const points = plan.engine.search === 'grid' ? plural(plan.trials, 'point') : `${plural(plan.trials, 'point')} in the tiers' grids`;
    return `${plan.bench} engine study, ${plural(plan.engine.tiers, 'tier')}, ${points} (${plan.engine.search} search)`;
  }
  return `${plan.bench} study, ${atLeast(plan, plan.trials)} trials planned`;
}

/** A serving study runs a server per trial and a pass over the case matrix per run. */
function serveLines(run: RunOptions): string[] {
  const study = serveStudyFrom(run);
  const { model, engineArgs } = splitServeModel(run.passthrough);
  const load = study.generator === 'vllm' ? 'vllm bench serve' : `the built-in generator (${study.endpoint})`;
  return [
    `server       vllm serve ${[...(model === null ? [] : [model]), ...engineArgs].map(shown).join(' ')} (one per trial, ready within ${study.readyTimeoutS} s)`,
    `load         ${plural(study.cases.length, 'case')} per run with ${load}: ${study.cases.map(caseKey).join(', ')}`,
    ...(study.slos.length === 0 ? [] : [`slos         ${study.slos.join(', ')}`]),
  ];
}

export function formatPlan(source: string, run: RunOptions, plan: StudyPlan, duration: RunDuration | null): string {
  const hours = duration === null ? null : gpuHours(plan, duration);
  const lines = [
    `Plan for ${source}: ${planSummary(plan)} (dry run: nothing is run or written)`,
    ...(plan.bench === 'serve' ? serveLines(run) : [`benchmark    vllm bench ${plan.bench} ${run.passthrough.map(shown).join(' ')}`]),
    `objective    ${formatObjective(run.objective)}`,
    plan.bench === 'latency'
      ? `grid         every point once, ${plural(run.numRuns, 'run')} each`
      : `policy       ${plan.engine !== undefined ? `tiers (${plan.engine.search} search)` : run.policy}, ${plural(run.numRuns, 'run')} per configuration${plan.points > 1 ? `, ${plural(plan.points, 'workload point')}` : ''}`,
    `operators    ${plan.operators}`,
    ...plan.stages.map((s, i) => `${i === 0 ? 'stages' : '      '}       ${s.name}: ${plural(s.trials, 'trial')}`),
    ...plan.skipped.map((p, i) => `${i === 0 ? 'skipped' : '       '}      ${p.key}: ${p.reason}`),
    `trials       ${atLeast(plan, plan.trials)}`,
    `invocations  ${atLeast(plan, plan.invocations)} (${plan.invocationRule})`,
    `gpus         ${plan.gpus.count} per run (tensor parallel ${plan.gpus.tp} x pipeline parallel ${plan.gpus.pp})`,
    hours === null || duration === null
      ? 'estimate     none: give --run-minutes M (minutes per run), or run a session in this database first'
      : `estimate     ${plan.lowerBound ? 'at least ' : ''}${hours.toFixed(1)} GPU-hours (${plan.invocations} invocations x ${duration.minutes.toFixed(1)} min x ${plan.gpus.count} GPU${plan.gpus.count === 1 ? '' : 's'}; ${duration.source})`,
  ];
  return `${lines.join('\n')}\n`;
}
