/**
 * What an engine study plans before it runs: one stage per tier with the points of its grid,
 * and the invocations the full grids would take (what a coordinate search stays under). Pure.
 */
import type { RunOptions } from './args.js';
import type { EngineRequest } from './engine-options.js';
import { gpusOf, type StudyPlan } from './plan.js';

const plural = (n: number, word: string): string => `${n} ${word}${n === 1 ? '' : 's'}`;

/** The largest value an axis or the pass-through arguments give a parallel size. */
function largest(request: EngineRequest, name: string, passthrough: number): number {
  const values = request.tiers.flatMap((t) => [...t.axes.filter((a) => a.name === name).flatMap((a) => a.values), t.fixed[name]]);
  return Math.max(passthrough, ...values.filter((v): v is number => typeof v === 'number'));
}

export function enginePlan(run: RunOptions, request: EngineRequest): StudyPlan {
  const search = request.search ?? 'coordinate';
  const stages = request.tiers.map((t) => ({
    name: `tier ${t.name} (${t.axes.length === 0 ? 'its fixed arguments' : t.axes.map((a) => `${a.name} ${a.values.length}`).join(' x ')})`,
    trials: t.axes.reduce((n, a) => n * Math.max(1, a.values.length), 1),
  }));
  const points = stages.reduce((n, s) => n + s.trials, 0);
  const grid = points * run.numRuns;
  const invocations = run.budget === null ? grid : Math.min(run.budget, grid);
  const rule =
    search === 'grid'
      ? `grid search: ${plural(run.numRuns, 'run')} x ${plural(points, 'point')}`
      : `the full grid's count (${plural(run.numRuns, 'run')} x ${plural(points, 'point')}), what the coordinate search is measured against: it usually takes a fraction`;
  const base = gpusOf(run.passthrough);
  const tp = largest(request, 'tensor-parallel-size', base.tp);
  const pp = largest(request, 'pipeline-parallel-size', base.pp);
  return {
    bench: run.bench,
    stages: request.operators ? [...stages, { name: 'operator tier on the winning engine configuration', trials: 0 }] : stages,
    trials: points,
    invocations,
    lowerBound: false,
    operators: request.operators ? 'searched in a last tier on the winning engine configuration' : 'none (engine arguments only)',
    invocationRule: run.budget !== null && run.budget < grid ? `at most: the budget (the full grid is ${grid})` : rule,
    points: 1,
    skipped: [],
    gpus: { count: tp * pp, tp, pp },
    engine: { tiers: request.tiers.length, search },
  };
}
