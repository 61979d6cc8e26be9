/**
 * The true best configuration of a scenario, exactly. Ops outside interactions are independent
 * except for one coupling, the FlagGems loaded overhead that any flagos op brings; so each
 * independent op takes its best backend, and only interacting ops are brute-forced.
 */
import type { AttentionBackend, Backend } from '../src/tuner/types.js';
import type { Metric } from './effects.js';
import { baselineOf, opLogEffect } from './effects.js';
import type { Scenario } from './scenario.js';

export interface Optimum {
  readonly opBackends: Record<string, Backend>;
  /** The attention backend the optimum needs, or null when no chosen op depends on it. */
  readonly attention: AttentionBackend | null;
  readonly throughput: number;
}

interface Option {
  readonly backend: Backend;
  readonly value: number;
}

/** Backends an op can run without failing, with their log effects. */
function optionsOf(s: Scenario, op: string, attention: AttentionBackend): Option[] {
  const spec = s.ops[op];
  if (spec === undefined) return [];
  return (Object.keys(spec.effects) as Backend[])
    .filter((backend) => spec.fails[backend] === undefined)
    .map((backend) => ({ backend, value: opLogEffect(s, op, backend, attention) }));
}

/** The best option strictly above "off" (0), among those `allowed`. */
function bestOption(options: readonly Option[], allowed: (o: Option) => boolean): Option | null {
  let best: Option | null = null;
  for (const o of options) if (allowed(o) && o.value > (best?.value ?? 0)) best = o;
  return best;
}

interface Candidate {
  readonly value: number;
  readonly opBackends: Record<string, Backend>;
}

function bestFor(s: Scenario, attention: AttentionBackend): Candidate {
  const interacting = [...new Set(s.interactions.flatMap((i) => i.ops))].sort();
  const independent = Object.keys(s.ops).filter((op) => !interacting.includes(op)).sort();
  const overhead = Math.log1p(s.flaggemsOverhead);
  const notFlagos = (o: Option): boolean => o.backend !== 'flagos';

  const withFlagos: Record<string, Backend> = {};
  const withoutFlagos: Record<string, Backend> = {};
  let sumWith = 0;
  let sumWithout = 0;
  // Cheapest way to make an independent op run on flagos when nothing else does.
  let force: { op: string; cost: number } | null = null;
  for (const op of independent) {
    const options = optionsOf(s, op, attention);
    const all = bestOption(options, () => true);
    const noFlagos = bestOption(options, notFlagos);
    if (all !== null) {
      withFlagos[op] = all.backend;
      sumWith += all.value;
    }
    if (noFlagos !== null) {
      withoutFlagos[op] = noFlagos.backend;
      sumWithout += noFlagos.value;
    }
    const flagos = options.find((o) => o.backend === 'flagos');
    if (flagos !== undefined) {
      const cost = (all?.value ?? 0) - flagos.value;
      if (force === null || cost < force.cost) force = { op, cost };
    }
  }
  const independentHasFlagos = Object.values(withFlagos).includes('flagos');

  const choices = interacting.map((op) => [null, ...optionsOf(s, op, attention)]);
  let best: Candidate = { value: -Infinity, opBackends: {} };
  const assignment: Array<Option | null> = interacting.map(() => null);
  const visit = (i: number): void => {
    if (i < interacting.length) {
      for (const choice of choices[i] ?? []) {
        assignment[i] = choice;
        visit(i + 1);
      }
      return;
    }
    const chosen: Record<string, Backend> = {};
    let value = 0;
    assignment.forEach((o, k) => {
      if (o === null) return;
      chosen[interacting[k] as string] = o.backend;
      value += o.value;
    });
    for (const group of s.interactions) {
      if (group.ops.every((op) => chosen[op] !== undefined)) value += Math.log1p(group.effect);
    }
    const hasFlagos = Object.values(chosen).includes('flagos');
    const consider = (total: number, opBackends: Record<string, Backend>): void => {
      if (total > best.value) best = { value: total, opBackends };
    };
    if (!hasFlagos) consider(value + sumWithout, { ...withoutFlagos, ...chosen });
    if (hasFlagos || independentHasFlagos) {
      consider(value + sumWith + overhead, { ...withFlagos, ...chosen });
    } else if (force !== null) {
      consider(value + sumWith - force.cost + overhead, { ...withFlagos, [force.op]: 'flagos', ...chosen });
    }
  };
  visit(0);
  return best;
}

function sortedRecord(r: Record<string, Backend>): Record<string, Backend> {
  return Object.fromEntries(Object.entries(r).sort(([a], [b]) => a.localeCompare(b)));
}

/** The true optimum over every subset of ops and every backend and attention backend. */
export function bestAchievable(s: Scenario, metric: Metric): Optimum {
  const order: AttentionBackend[] = s.defaultAttention === 'FLASH_ATTN' ? ['FLASH_ATTN', 'FLASHINFER'] : ['FLASHINFER', 'FLASH_ATTN'];
  let best: { candidate: Candidate; attention: AttentionBackend } | null = null;
  for (const attention of order) {
    const candidate = bestFor(s, attention);
    if (best === null || candidate.value > best.candidate.value) best = { candidate, attention };
  }
  const { candidate, attention } = best as { candidate: Candidate; attention: AttentionBackend };
  const usesReference = Object.values(candidate.opBackends).includes('reference');
  return {
    opBackends: sortedRecord(candidate.opBackends),
    attention: usesReference ? attention : null,
    throughput: baselineOf(s, metric) * Math.exp(candidate.value),
  };
}
