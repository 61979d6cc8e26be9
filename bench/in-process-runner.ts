/**
 * Drives a policy against the simulator's pure model in this process: no subprocess, no files.
 * Mirrors what the session engine and the simulated `vllm` would do for each RunStep.
 */
import { fromThroughput } from '../src/tuner/metrics.js';
import type { FinalResult, Policy, PolicyContext } from '../src/tuner/policy.js';
import type { Observation, RunOutcome, TrialSpec } from '../src/tuner/types.js';
import { simulate, type SimOutcome } from '../simulator/model.js';
import type { Scenario } from '../simulator/scenario.js';

const OUTCOMES: Readonly<Record<SimOutcome, Exclude<RunOutcome, 'interrupted'>>> = {
  ok: 'ok',
  oom: 'oom',
  engine_crash: 'engine_failure',
  kernel_fault: 'engine_failure',
  config_error: 'engine_failure',
  kv_cache: 'oom',
  hang: 'timeout',
  no_result: 'no_result',
};

export interface SessionOutcome {
  /** Null when the policy failed (E_NO_OPS). */
  readonly result: FinalResult | null;
  readonly invocations: number;
  /** Wall-clock GPU time the session would take on a real node (see GPU_SECONDS). */
  readonly gpuSeconds: number;
}

/**
 * What one invocation costs on a real node: model load, graph capture and the timed run
 * (an 8B model on one H100: about 3 minutes); a hang costs the default --timeout.
 */
export const GPU_SECONDS = { run: 180, hang: 7200 } as const;

/** The environment a trial runs with: its delta applied to an empty one, config always exported. */
function envOf(trial: TrialSpec): Record<string, string | undefined> {
  const env: Record<string, string | undefined> = { VLLM_FL_CONFIG: 'in-process.yaml' };
  for (const [name, value] of Object.entries(trial.env)) env[name] = value ?? undefined;
  return env;
}

export function runSession(policy: Policy, scenario: Scenario, ctx: PolicyContext): SessionOutcome {
  const ordinals = new Map<string, number>();
  // Operator backends some successful run already had: warm under per-operator caches.
  const warm = new Set<string>();
  const cursor = policy.start(ctx);
  let invocations = 0;
  let gpuSeconds = 0;
  for (let step = cursor.next(); ; ) {
    if (step.type === 'done') return { result: step.result, invocations, gpuSeconds };
    if (step.type === 'fail') return { result: null, invocations, gpuSeconds };
    const trial = step.trial;
    const trialOrdinal = ordinals.get(trial.key) ?? 0;
    ordinals.set(trial.key, trialOrdinal + 1);
    const env = envOf(trial);
    const probe = simulate(scenario, { env, config: trial.config, trialOrdinal, step: invocations, runKey: '' });
    const active = Object.entries(probe.active).map(([op, backend]) => `${op}:${backend}`);
    const newOperators = active.some((k) => !warm.has(k));
    const sim = simulate(scenario, { env, config: trial.config, trialOrdinal, step: invocations, newOperators, runKey: `bench:${invocations}:${trialOrdinal}:${trial.key}` });
    if (sim.outcome === 'ok') for (const k of active) warm.add(k);
    invocations += 1;
    gpuSeconds += sim.outcome === 'hang' ? GPU_SECONDS.hang : GPU_SECONDS.run;
    const observation: Observation = {
      trialKey: trial.key,
      kind: step.kind,
      outcome: OUTCOMES[sim.outcome],
      metrics: fromThroughput(sim.throughput),
      executedOps: trial.recordOplist ? sim.executedOps : null,
      durationMs: 0,
    };
    step = cursor.next(observation);
  }
}
