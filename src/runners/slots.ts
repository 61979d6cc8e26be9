/**
 * Trial scheduling over slots: one p-queue per slot (concurrency 1), so a slot never runs two
 * benchmarks at once, and the engine's choice of slot (RunRequest.slot) decides where a run
 * goes. A slot on a node is a GPU group: its runs see only its devices (CUDA_VISIBLE_DEVICES)
 * and a port range of their own (VLLM_PORT, where vLLM's engine processes find free ports), so
 * trials side by side never share a GPU or race for a port.
 */
import PQueue from 'p-queue';
import type { Orphan, RunRequest, RunResult, Runner } from '../tuner/ports.js';

/** First port of slot 0's range; slot i starts PORTS_PER_SLOT * i above it. */
export const SLOT_PORT_BASE = 41000;
export const PORTS_PER_SLOT = 100;

export interface Slot {
  /** A CUDA_VISIBLE_DEVICES value (`0,1`), or null to leave the devices as they are (one slot, no groups). */
  readonly devices: string | null;
  /** What its runs see: the devices and the start of the slot's port range. */
  readonly env: Readonly<Record<string, string>>;
}

/** The slots of `--gpu-groups` (each group a CUDA_VISIBLE_DEVICES value); none: one slot on the inherited devices. */
export function gpuSlots(groups: readonly string[] | null | undefined): Slot[] {
  if (groups === null || groups === undefined || groups.length === 0) return [{ devices: null, env: {} }];
  return groups.map((devices, i) => ({
    devices,
    env: { CUDA_VISIBLE_DEVICES: devices, VLLM_PORT: String(SLOT_PORT_BASE + PORTS_PER_SLOT * i) },
  }));
}

export class SlotRunner implements Runner {
  readonly name: string;
  readonly #inner: Runner;
  readonly #slots: readonly Slot[];
  readonly #queues: readonly PQueue[];

  constructor(inner: Runner, slots: number | readonly Slot[] = 1) {
    const list = typeof slots === 'number' ? slotCount(slots) : slots;
    if (list.length < 1) throw new RangeError('a slot runner needs at least one slot');
    this.name = inner.name;
    this.#inner = inner;
    this.#slots = list;
    this.#queues = list.map(() => new PQueue({ concurrency: 1 }));
  }

  async run(request: RunRequest): Promise<RunResult> {
    const index = request.slot ?? 0;
    const slot = this.#slots[index];
    const queue = this.#queues[index];
    if (slot === undefined || queue === undefined) throw new RangeError(`no slot ${index} (this runner has ${this.#slots.length})`);
    return queue.add(() => this.#inner.run({ ...request, slotEnv: slot.env }));
  }

  reap(orphan: Orphan): boolean {
    return this.#inner.reap(orphan);
  }
}

/** `n` anonymous slots on the inherited devices (a test's or a job scheduler's concurrency). */
function slotCount(n: number): Slot[] {
  if (!Number.isSafeInteger(n) || n < 1) throw new RangeError(`slots must be an integer >= 1, got ${n}`);
  return Array.from({ length: n }, () => ({ devices: null, env: {} }));
}
