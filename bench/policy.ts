/**
 * Policy compute benchmark: the screening policy's own time per step (one cursor.next) on the
 * held-out 150-operator scenario with a budget of 400 runs, in process.
 *   node dist/bench/policy.js [--sessions N]
 * Reports wall-clock time per step and the process CPU time per step (the fairer figure on a
 * shared machine). Exits 1 when the mean CPU time per step exceeds TARGET_MS.
 */
import { benchArgs, runMain, UsageError } from './args.js';
import { objectiveFor } from '../src/tuner/objective.js';
import { performance } from 'node:perf_hooks';
import { screeningPolicy } from '../src/tuner/policies/screening.js';
import type { Policy, PolicyContext, Step } from '../src/tuner/policy.js';
import type { Observation } from '../src/tuner/types.js';
import { runSession } from './in-process-runner.js';
import { heldOutScenarios } from './scenario-generator.js';

const TARGET_MS = 50;
const BUDGET = 400;

/** The policy, with every next() timed. */
function timed(policy: Policy, samples: number[]): Policy {
  return {
    name: policy.name,
    start(ctx: PolicyContext) {
      const t0 = performance.now();
      const cursor = policy.start(ctx);
      samples.push(performance.now() - t0);
      return {
        next(observation?: Observation): Step {
          const t = performance.now();
          const step = cursor.next(observation);
          samples.push(performance.now() - t);
          return step;
        },
      };
    },
  };
}

const USAGE = 'node dist/bench/policy.js [--sessions N]';

function main(): void {
  const values = benchArgs(USAGE, { options: { sessions: { type: 'string', default: '2' } } });
  const scenario = heldOutScenarios().find((h) => h.cls === 'ops-150')?.scenario;
  if (scenario === undefined) throw new Error('no ops-150 scenario in the held-out split');
  const samples: number[] = [];
  let invocations = 0;
  const sessions = Number(values.sessions);
  if (!Number.isInteger(sessions) || sessions < 1) throw new UsageError(`--sessions must be a whole number >= 1, not ${values.sessions}`);
  const cpu0 = process.cpuUsage();
  for (let seed = 1; seed <= sessions; seed++) {
    const ctx: PolicyContext = { numRuns: 2, objective: objectiveFor('total'), minGain: 0.005, budget: BUDGET, seed, discovery: { explicitOps: null, configOps: null } };
    invocations += runSession(timed(screeningPolicy, samples), { ...scenario, seed: scenario.seed + seed }, ctx).invocations;
  }
  const cpu = process.cpuUsage(cpu0);
  const cpuPerStep = (cpu.user + cpu.system) / 1000 / samples.length;
  const sorted = [...samples].sort((a, b) => a - b);
  const mean = samples.reduce((s, x) => s + x, 0) / samples.length;
  const p95 = sorted[Math.floor(0.95 * (sorted.length - 1))] ?? 0;
  const max = sorted.at(-1) ?? 0;
  const ops = Object.keys(scenario.ops).length;
  console.log(`screening policy, ${ops} operators, budget ${BUDGET}, ${sessions} session(s), ${invocations} invocations, ${samples.length} steps`);
  console.log(`  wall-clock per step: mean ${mean.toFixed(1)} ms, p95 ${p95.toFixed(1)} ms, max ${max.toFixed(1)} ms`);
  console.log(`  CPU per step (policy and in-process simulator): ${cpuPerStep.toFixed(1)} ms (target: < ${TARGET_MS} ms)`);
  if (cpuPerStep >= TARGET_MS) {
    console.log('  target MISSED');
    process.exitCode = 1;
  } else console.log('  target met');
}

runMain(USAGE, main);
