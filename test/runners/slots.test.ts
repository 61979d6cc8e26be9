/** The slot scheduler: one benchmark at a time per slot, each on its slot's devices, every result back to its caller. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { createRunner } from '../../src/runners/factory.js';
import { gpuSlots, PORTS_PER_SLOT, SLOT_PORT_BASE, SlotRunner } from '../../src/runners/slots.js';
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

  it('runs each request on the slot the engine chose, one at a time per slot, all slots at once', async () => {
    const inner = new CountingRunner(20);
    const slots = new SlotRunner(inner, 3);
    const results = await Promise.all(Array.from({ length: 8 }, (_, i) => slots.run({ ...request(`r${i}`), slot: i % 3 })));
    assert.equal(inner.peak, 3);
    assert.deepEqual(results.map((r) => r.failure), Array.from({ length: 8 }, (_, i) => `r${i}`));
    const one = new CountingRunner(20);
    const same = new SlotRunner(one, 3);
    await Promise.all(['a', 'b', 'c'].map((k) => same.run({ ...request(k), slot: 1 })));
    assert.equal(one.peak, 1, 'runs sent to one slot queue behind each other');
  });

  it('gives each GPU group its devices and its own port range, and refuses a slot it does not have', async () => {
    const seen: (Readonly<Record<string, string>> | undefined)[] = [];
    const inner: Runner = {
      name: 'env',
      run: async (r) => {
        seen.push(r.slotEnv);
        return { outcome: 'ok', exitCode: 0, signal: null, metrics: {}, durationMs: 1, failure: null, executedOps: null };
      },
      reap: () => false,
    };
    const slots = new SlotRunner(inner, gpuSlots(['0,1', '2,3']));
    await slots.run({ ...request('a'), slot: 1 });
    await slots.run(request('b'));
    assert.deepEqual(seen, [
      { CUDA_VISIBLE_DEVICES: '2,3', VLLM_PORT: String(SLOT_PORT_BASE + PORTS_PER_SLOT) },
      { CUDA_VISIBLE_DEVICES: '0,1', VLLM_PORT: String(SLOT_PORT_BASE) },
    ]);
    await assert.rejects(slots.run({ ...request('c'), slot: 2 }), /no slot 2 \(this runner has 2\)/);
    assert.deepEqual(gpuSlots(null), [{ devices: null, env: {} }], 'no groups: one slot, devices as inherited');
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
