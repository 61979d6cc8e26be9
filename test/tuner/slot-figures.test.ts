/** Per-slot figures: the speed factor against slot 0 from shared trials, and rebuilt retirements. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { formatFactor, slotFigures, type SlotRun } from '../../src/tuner/slot-figures.js';

let step = 0;
function run(slot: number, trialKey: string, score: number | null, over: Partial<SlotRun> = {}): SlotRun {
  return { slot, step: step++, trialKey, configuration: trialKey, kind: 'measure', outcome: score === null ? 'engine_failure' : 'ok', score, ...over };
}

describe('slotFigures', () => {
  it('estimates a slow slot from trials measured on both slots, with a t interval across trials', () => {
    const base = [100, 200, 150, 120];
    const noise = [1.01, 0.99, 1.0, 1.005];
    const runs = base.flatMap((b, i) => [run(0, `t${i}`, b), run(1, `t${i}`, b * 0.9 * (noise[i] ?? 1))]);
    const [zero, one] = slotFigures(runs, 2);
    assert.equal(zero?.factor, 'reference');
    const f = one?.factor;
    assert.ok(f !== null && f !== undefined && f !== 'reference');
    assert.equal(f.shared, 4);
    assert.ok(Math.abs(f.estimate - 0.9) < 0.01, String(f.estimate));
    assert.ok(f.low !== null && f.high !== null && f.low < 0.9 && 0.9 < f.high && f.high - f.low < 0.05, `${f.low} ${f.high}`);
  });

  it('says "not estimable" when a slot shares no trial with slot 0, and ignores warm-ups and failures', () => {
    const runs = [
      run(0, 'a', 100),
      run(1, 'b', 90),
      run(1, 'a', 80, { kind: 'warmup' }),
      run(1, 'a', null),
    ];
    const [, one] = slotFigures(runs, 2);
    assert.equal(one?.factor, null);
    assert.deepEqual([one?.runs, one?.failures], [3, 1]);
    assert.equal(formatFactor(one?.factor ?? null), 'not estimable');
  });

  it('gives one shared trial a Welch interval over its repeated runs, and none with one run each', () => {
    const repeated = slotFigures([run(0, 'a', 100), run(0, 'a', 102), run(1, 'a', 95), run(1, 'a', 96)], 2)[1]?.factor;
    assert.ok(repeated !== null && repeated !== undefined && repeated !== 'reference');
    assert.ok(repeated.low !== null && repeated.high !== null && repeated.low < repeated.estimate && repeated.estimate < repeated.high);
    const once = slotFigures([run(0, 'a', 100), run(1, 'a', 95)], 2)[1]?.factor ?? null;
    assert.equal(formatFactor(once), '0.950 (one run each)');
  });

  it('formats the reference and an interval by its larger side', () => {
    assert.equal(formatFactor('reference'), '1 (reference)');
    assert.equal(formatFactor({ estimate: 0.95, low: 0.94, high: 0.9611, shared: 3 }), '0.950 ± 0.011');
  });

  it('rebuilds a retirement from the runs in step order, as the engine booked them', () => {
    const runs = [
      run(0, 'a', 100),
      run(1, 'b', null),
      run(0, 'c', 100),
      run(1, 'd', null),
      run(1, 'e', null),
    ];
    const figures = slotFigures([...runs].reverse(), 2);
    assert.deepEqual(figures.map((f) => f.retired), [false, true]);
    assert.deepEqual(slotFigures(runs.slice(0, 4), 2).map((f) => f.retired), [false, false], 'two failures do not retire');
  });

  it('refuses a run on a slot the session does not have', () => {
    assert.throws(() => slotFigures([run(2, 'a', 1)], 2), /slot 2 in a session of 2/);
  });
});
