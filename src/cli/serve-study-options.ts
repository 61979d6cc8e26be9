/**
 * A serving session's options (`--bench serve`): the case matrix, SLOs and load generator as
 * stored with the session, and the objective with the SLOs as constraints (the runner that
 * starts each trial's server is serve-runner.ts).
 */
import { AutotuneError } from '../errors.js';
import type { Objective } from '../tuner/objective.js';
import { parseCases } from '../tuner/serve-cases.js';
import { GOODPUT, MAX_CONCURRENCY_UNDER_SLO, sloConstraints, studySlos, type ServeStudy } from '../tuner/serve-study.js';
import { parseSlos } from '../tuner/slo.js';
import type { RunOptions } from './args.js';

const usage = (message: string): AutotuneError => new AutotuneError('E_USAGE', message);

/** Checks the serving options of a run and returns them as stored; refuses what cannot run. */
export function serveStudyFrom(run: RunOptions): ServeStudy {
  const cases = parseCases(run.cases ?? 'core');
  const slos = run.slo === null ? [] : parseSlos(run.slo);
  // Every SLO must be a metric of the run, or no configuration could ever be judged on it.
  sloConstraints(slos);
  const metric = run.objective.metric;
  if ((metric === GOODPUT || metric === MAX_CONCURRENCY_UNDER_SLO) && slos.length === 0) {
    throw usage(`\`--autotune-metric ${metric === GOODPUT ? 'goodput' : 'max-concurrency'}\` needs SLOs: add e.g. \`--slo ttft_p99_ms<=2000,tpot_mean_ms<=50\``);
  }
  if (metric === MAX_CONCURRENCY_UNDER_SLO) {
    const rated = cases.find((c) => c.load.kind !== 'concurrency');
    if (rated !== undefined) throw usage('`--autotune-metric max-concurrency` searches each case\'s concurrency: give cases with @CONCURRENCY (the upper bound of the search), not a request rate');
  }
  if (run.benchArgs.length > 0 && run.loadGenerator !== 'vllm') {
    throw usage('arguments after `--bench-args` go to `vllm bench serve`: add `--load-generator vllm`');
  }
  if (run.passthrough.length === 0) throw usage('a serving session needs the `vllm serve` arguments, at least the model: e.g. `autotune --bench serve --model /models/X`');
  return {
    cases,
    slos: slos.map((s) => s.text),
    generator: run.loadGenerator,
    endpoint: run.serveEndpoint,
    benchArgs: run.benchArgs,
    readyTimeoutS: run.serverReadyTimeoutS,
    requestTimeoutS: run.requestTimeoutS,
  };
}

/** The session's objective: the chosen metric, with every SLO as a constraint (an SLO-breaking configuration is not eligible). */
export function serveObjective(objective: Objective, study: ServeStudy): Objective {
  const constraints = sloConstraints(studySlos(study));
  const same = (a: Objective['constraints'][number], b: Objective['constraints'][number]): boolean => a.metric === b.metric && a.op === b.op && a.value === b.value;
  return { ...objective, constraints: [...objective.constraints, ...constraints.filter((c) => !objective.constraints.some((o) => same(o, c)))] };
}
