/**
 * Screening designs: configurations that enable many operators at once, so that every run
 * informs every operator in it. A block of runs is a balanced random design: each operator is
 * on in exactly half of the block's runs, chosen at random and independently of the others, so
 * operators are nearly orthogonal, set sizes vary (which keeps the terms every run shares
 * separable from the effects) and every run carries one contrast per operator. An operator
 * with several backends gets one of them at random in each run it is on. Reference-backend
 * candidates only run under their run's attention backend, which alternates. Pure and seeded.
 */
import type { AttentionBackend } from '../../types.js';
import { shuffled } from '../noise/schedule.js';

/** One operator and the indices of its candidates still in play (its backends). */
export interface DesignOp {
  readonly op: string;
  readonly candidates: readonly number[];
}

export interface DesignRunPlan {
  /** Candidate indices enabled, at most one per operator. */
  readonly candidates: readonly number[];
  readonly attention: AttentionBackend | null;
}

/** The attention backend a candidate needs, or null when it runs under any. */
export type AttentionOf = (candidate: number) => AttentionBackend | null;

function pick<T>(items: readonly T[], random: () => number): T | undefined {
  return items[Math.floor(random() * items.length)];
}

/**
 * A block of `size` runs over `ops`, each operator on in half of them. `attentions` gives
 * each run's attention backend in turn (empty: the default for every run).
 */
export function balancedBlock(ops: readonly DesignOp[], size: number, attentions: readonly AttentionBackend[], attentionOf: AttentionOf, random: () => number): DesignRunPlan[] {
  const runs: number[][] = Array.from({ length: size }, () => []);
  const attentionAt = (i: number): AttentionBackend | null => (attentions.length === 0 ? null : (attentions[i % attentions.length] ?? null));
  const slots = Array.from({ length: size }, (_, i) => i);
  for (const o of ops) {
    for (const i of shuffled(slots, random).slice(0, Math.floor(size / 2) + (size % 2 === 1 && random() < 0.5 ? 1 : 0))) {
      const usable = o.candidates.filter((c) => {
        const a = attentionOf(c);
        return a === null || a === attentionAt(i);
      });
      const chosen = pick(usable, random);
      if (chosen !== undefined) runs[i]?.push(chosen);
    }
  }
  return runs.map((candidates, i) => ({ candidates, attention: candidates.some((c) => attentionOf(c) !== null) ? attentionAt(i) : null }));
}

/** A random half of `candidates` (at least one), for confirmation runs among undecided ones. */
export function randomHalf(candidates: readonly number[], random: () => number): number[] {
  if (candidates.length <= 1) return [...candidates];
  const out = candidates.filter(() => random() < 0.5);
  if (out.length === 0) {
    const one = pick(candidates, random);
    return one === undefined ? [] : [one];
  }
  return out.length === candidates.length ? out.slice(0, -1) : out;
}
