/** The slot scheduler: never more benchmarks at once than slots, every result back to its caller. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { createRunner } from '../../src/runners/factory.js';
import { SlotRunner } from '../../src/runners/slots.js';
import type { Orphan, RunRequest, RunResult, Runner } from '../../src/tuner/ports.js';

/** Records how many runs overlap; each run takes `ms` and answers with its own key. */
class CountingRunner implements Runner {
  readonly name = 'counting';
  inFlight = 0;
  peak = 0;
  reaped: Orphan[] = [];
  constructor(private readonly ms: number) {}
  async run(request: RunRequest): Promise<RunResult> {
    this.inFlight += 1;
    this.peak = Math.max(this.peak, this.inFlight);
    await sleep(this.ms);
    this.inFlight -= 1;
    return { outcome: 'ok', exitCode: 0, signal: null, metrics: {}, durationMs: this.ms, failure: request.runKey, executedOps: null } as unknown as RunResult;
  }
  reap(orphan: Orphan): boolean {
    this.reaped.push(orphan);
    return true;
  }
}

const request = (runKey: string): RunRequest => ({ runKey }) as unknown as RunRequest;

describe('SlotRunner', () => {
  it('runs one at a time with one slot, in order', async () => {
    const inner = new CountingRunner(20);
    const slots = new SlotRunner(inner, 1);
    const results = await Promise.all(['a', 'b', 'c'].map((k) => slots.run(request(k))));
    assert.equal(inner.peak, 1);
    assert.deepEqual(results.map((r) => r.failure), ['a', 'b', 'c']);
  });

  it('never exceeds its slots and uses them all', async () => {
    const inner = new CountingRunner(20);
    const slots = new SlotRunner(inner, 3);
    const results = await Promise.all(Array.from({ length: 8 }, (_, i) => slots.run(request(`r${i}`))));
    assert.equal(inner.peak, 3);
    assert.deepEqual(results.map((r) => r.failure), Array.from({ length: 8 }, (_, i) => `r${i}`));
  });

  it('reaps through the runner it wraps and keeps its name', () => {
    const inner = new CountingRunner(1);
    const slots = new SlotRunner(inner, 2);
    assert.equal(slots.name, 'counting');
    assert.equal(slots.reap({ handle: null, runKey: 'k' }), true);
    assert.deepEqual(inner.reaped, [{ handle: null, runKey: 'k' }]);
  });

  it('refuses a slot count below one', () => {
    assert.throws(() => new SlotRunner(new CountingRunner(1), 0), RangeError);
  });

  it('is what the factory gives for local runs', () => {
    const runner = createRunner('local');
    assert.ok(runner instanceof SlotRunner);
    assert.equal(runner.name, 'local');
  });
});
