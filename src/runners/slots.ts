/**
 * Trial scheduling: runs go through a p-queue whose concurrency is the number of slots, so a
 * policy with several runs in flight never starts more benchmarks than the node has room for.
 * One slot today (the engine proposes one run at a time); parallel GPU groups raise it.
 */
import PQueue from 'p-queue';
import type { Orphan, RunRequest, RunResult, Runner } from '../tuner/ports.js';

export class SlotRunner implements Runner {
  readonly name: string;
  readonly #inner: Runner;
  readonly #queue: PQueue;

  constructor(inner: Runner, slots = 1) {
    if (!Number.isSafeInteger(slots) || slots < 1) throw new RangeError(`slots must be an integer >= 1, got ${slots}`);
    this.name = inner.name;
    this.#inner = inner;
    this.#queue = new PQueue({ concurrency: slots });
  }

  async run(request: RunRequest): Promise<RunResult> {
    return this.#queue.add(() => this.#inner.run(request));
  }

  reap(orphan: Orphan): boolean {
    return this.#inner.reap(orphan);
  }
}
