/** What the noise-aware policy measures and in which order; all pure and seeded. */
import type { Backend, AttentionBackend } from '../../types.js';
import { ATTENTION_BACKENDS } from '../../types.js';
import { OOT_OPS } from '../../plugin-ops.js';
import { opTrial } from '../../spaces/operators.js';
import type { TrialSpec } from '../../types.js';

export interface Candidate {
  readonly op: string;
  readonly backend: Backend;
  readonly attention: AttentionBackend | null;
  readonly trial: TrialSpec;
}

/** mulberry32: tiny, well-mixed, and reproducible from one 32-bit seed. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function shuffled<T>(items: readonly T[], random: () => number): T[] {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    const a = out[i] as T;
    out[i] = out[j] as T;
    out[j] = a;
  }
  return out;
}

/** One candidate per operator and backend; the reference backend once per attention backend. */
export function candidatesOf(table: Readonly<Record<string, readonly Backend[]>>, oot: ReadonlySet<string> = OOT_OPS): Candidate[] {
  const out: Candidate[] = [];
  for (const [op, backends] of Object.entries(table)) {
    for (const backend of backends) {
      const attentions: readonly (AttentionBackend | null)[] = backend === 'reference' ? ATTENTION_BACKENDS : [null];
      for (const attention of attentions) out.push({ op, backend, attention, trial: opTrial(op, backend, attention, oot) });
    }
  }
  return out;
}

/** Invocations the reference tool spends on the same operators and numRuns. */
export function referenceInvocations(numRuns: number, table: Readonly<Record<string, readonly Backend[]>>): number {
  const trials = candidatesOf(table).length;
  return numRuns * (3 + trials + 1);
}

/** Default budget: what the reference would spend, with half again for repeats and validation. */
export function defaultBudget(numRuns: number, table: Readonly<Record<string, readonly Backend[]>>): number {
  return Math.floor(1.5 * referenceInvocations(numRuns, table));
}
