/**
 * Which slot (GPU group) runs which proposal. Pure and driven only by the engine's calls, in
 * the engine's deterministic order (proposals in step order, observations delivered in step
 * order), so a resumed session rebuilds exactly the assignment the interrupted one made.
 *
 * Soundness on slots that are not identical: the runs of one comparison group (a trial and
 * the trials compared with it, see comparisonGroup) stay on the slot the group started on,
 * so every comparison is made between runs of one slot and a slower or faster slot scales
 * both sides alike. A slot whose runs fail repeatedly while other slots succeed is retired.
 */
import type { Observation, TrialSpec } from './types.js';

/** Runs a slot may fail in a row (on different trials, while another slot succeeds) before it is retired. */
export const RETIRE_AFTER_FAILURES = 3;

/** Outcomes that can come from the machine rather than the configuration (an OOM or a timeout is the trial's). */
const SLOT_FAILURES: ReadonlySet<Observation['outcome']> = new Set(['engine_failure', 'nonzero_exit']);

/** The trials a run is compared with share this key: a trial's baseline, or the trial itself. */
export function comparisonGroup(trial: Pick<TrialSpec, 'key' | 'baseline'>): string {
  return trial.baseline ?? trial.key;
}

export interface Retirement {
  readonly slot: number;
  /** The trial keys of the failed runs that retired it, oldest first. */
  readonly trials: readonly string[];
}

interface SlotHealthState {
  active: boolean;
  /** Consecutive slot-type failures, as trial keys. */
  failures: string[];
  /** Successful runs of other slots since this slot's first failure in the current streak. */
  othersOk: number;
}

/**
 * Which slots are still in use, from the outcomes delivered in step order. Kept apart from
 * the assignment so that reports rebuild the session's retirements from its stored runs.
 */
export class SlotHealth {
  readonly #slots: SlotHealthState[];

  constructor(count: number) {
    if (!Number.isSafeInteger(count) || count < 1) throw new RangeError(`slots must be an integer >= 1, got ${count}`);
    this.#slots = Array.from({ length: count }, () => ({ active: true, failures: [], othersOk: 0 }));
  }

  get active(): number {
    return this.#slots.filter((s) => s.active).length;
  }

  isActive(slot: number): boolean {
    return this.#slots[slot]?.active ?? false;
  }

  /**
   * Books a delivered run. Returns the retirement it causes: RETIRE_AFTER_FAILURES slot-type
   * failures in a row on different trials, while another slot measured something meanwhile
   * (so the machine, not the workload, is the likely cause), and never the last active slot.
   */
  book(slot: number, trialKey: string, outcome: Observation['outcome']): Retirement | null {
    const state = this.#slots[slot];
    if (state === undefined) throw new Error(`slot plan: no slot ${slot}`);
    if (outcome === 'ok') {
      state.failures = [];
      state.othersOk = 0;
      for (const other of this.#slots) if (other !== state && other.failures.length > 0) other.othersOk += 1;
      return null;
    }
    if (!SLOT_FAILURES.has(outcome)) return null;
    if (!state.failures.includes(trialKey)) state.failures.push(trialKey);
    if (!state.active || state.failures.length < RETIRE_AFTER_FAILURES || state.othersOk === 0 || this.active <= 1) return null;
    state.active = false;
    return { slot, trials: [...state.failures] };
  }
}

export class SlotPlan {
  readonly #health: SlotHealth;
  /** Per slot, the steps assigned and not yet delivered. */
  readonly #steps: Set<number>[];
  readonly #groupSlot = new Map<string, number>();
  readonly #slotOf = new Map<number, number>();

  constructor(count: number) {
    this.#health = new SlotHealth(count);
    this.#steps = Array.from({ length: count }, () => new Set<number>());
  }

  /** Slots still in use. */
  get active(): number {
    return this.#health.active;
  }

  /** How many new runs may start now: active slots minus runs out (never below 0). */
  get free(): number {
    return Math.max(0, this.active - this.#slotOf.size);
  }

  isActive(slot: number): boolean {
    return this.#health.isActive(slot);
  }

  /**
   * The slot of a new run: the slot the policy asked for while it is active, else its group's
   * slot while that slot is active (the run queues there if the slot is busy), else the lowest
   * active slot with nothing out, else the lowest active.
   */
  assign(step: number, trial: Pick<TrialSpec, 'key' | 'baseline'>, preferred?: number): number {
    const group = comparisonGroup(trial);
    const bound = this.#groupSlot.get(group);
    let slot: number;
    if (preferred !== undefined && this.isActive(preferred)) slot = preferred;
    else if (bound !== undefined && this.isActive(bound)) slot = bound;
    else {
      const idle = this.#steps.findIndex((steps, i) => this.isActive(i) && steps.size === 0);
      slot = idle >= 0 ? idle : this.#steps.findIndex((_, i) => this.isActive(i));
      this.#groupSlot.set(group, slot);
    }
    this.#steps[slot]?.add(step);
    this.#slotOf.set(step, slot);
    return slot;
  }

  slotOf(step: number): number | undefined {
    return this.#slotOf.get(step);
  }

  /** Books a delivered run; returns the retirement it causes (SlotHealth.book). */
  release(step: number, trialKey: string, outcome: Observation['outcome']): Retirement | null {
    const slot = this.#slotOf.get(step);
    if (slot === undefined) throw new Error(`slot plan: step ${step} has no slot`);
    this.#slotOf.delete(step);
    this.#steps[slot]?.delete(step);
    return this.#health.book(slot, trialKey, outcome);
  }
}
