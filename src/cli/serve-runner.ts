/**
 * The runner of a serving session, apart from the serving options: reading a session's options
 * (status, export, list) must not load the server runner and its dependencies.
 */
import { ServeTrialRunner } from '../runners/benchmarks/serve/trial-runner.js';
import type { Objective } from '../tuner/objective.js';
import type { RunLifecycle, Runner } from '../tuner/ports.js';
import { MAX_CONCURRENCY_UNDER_SLO, type ServeStudy } from '../tuner/serve-study.js';

/** The runner and lifecycle of a serving session: one object, since the server outlives a run. */
export function serveRunner(study: ServeStudy, objective: Objective, seed: number): { runner: Runner; lifecycle: RunLifecycle } {
  const runner = new ServeTrialRunner({ study, searchConcurrency: objective.metric === MAX_CONCURRENCY_UNDER_SLO, seed });
  return { runner, lifecycle: runner };
}
