/**
 * A sweep on two GPU groups, one of them simulated 20% slower: every run stores the slot it
 * ran on (the simulator saw that slot's devices), and `status` and the report show the Slots
 * table. A point's configurations share a slot, so without calibration no trial runs on two
 * slots and the slow slot's factor is "not estimable"; with --slot-calibration the first point
 * is measured on every slot and the factor comes out near the simulated speed.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { autotune, invocations, onlyRunDir, sandbox } from '../support/cli.js';

const SPEED = 0.8;
const SWEEP = ['sweep', 'latency', '--batch-sizes', '1,4,16,64', '--input-lens', '128', '--output-lens', '32', '--num-runs', '1', '--model', 'm', '--num-iters', '10', '--quiet'];

interface StatusSlot {
  slot: number;
  gpus: string | null;
  runs: number;
  failures: number;
  factor: unknown;
  factorText: string;
  retired: boolean;
}

describe('parallel slots: stored slots and the Slots table', () => {
  it('records where each run ran and reports the slow slot as not estimable without a shared trial', async () => {
    const box = sandbox('typical', { VLLM_SIM_DEVICE_SPEED: `1=${SPEED}` });
    const run = await autotune(box, [...SWEEP, '--gpu-groups', '0 1']);
    assert.equal(run.exitCode, 0, run.all);
    const runDir = onlyRunDir(box);
    const db = new Database(join(box.dir, 'autotune_logs', 'autotune.db'), { readonly: true });
    const rows = db.prepare('SELECT step, slot, trial_key AS trial FROM runs ORDER BY seq').all() as { step: number; slot: number; trial: string }[];
    const sessionId = (db.prepare('SELECT id FROM sessions').get() as { id: string }).id;
    db.close();
    assert.equal(rows.length, 4);
    assert.deepEqual([...new Set(rows.map((r) => r.slot))].sort(), [0, 1], 'both slots ran points');
    // The simulator saw each run on its slot's devices.
    const seen = new Map(invocations(box).map((i) => [Number((i.runKey ?? '').split(':')[1]), i.env?.['CUDA_VISIBLE_DEVICES']]));
    for (const r of rows) assert.equal(seen.get(r.step), String(r.slot), `step ${r.step}`);

    const json = await autotune(box, ['status', sessionId, '--json']);
    assert.equal(json.exitCode, 0, json.all);
    const slots = (JSON.parse(json.all ?? '') as { slots: StatusSlot[] }).slots;
    assert.deepEqual(
      slots.map((s) => [s.slot, s.gpus, s.failures, s.factorText, s.retired]),
      [
        [0, '0', 0, '1 (reference)', false],
        [1, '1', 0, 'not estimable', false],
      ],
    );
    assert.deepEqual(slots.map((s) => s.runs), [0, 1].map((slot) => rows.filter((r) => r.slot === slot).length));

    const text = await autotune(box, ['status', sessionId]);
    assert.match(text.all ?? '', /^slots\n {2}slot +GPUs +runs +failures +factor +retired\n {2}0 +0 +\d +0 +1 \(reference\) +no\n {2}1 +1 +\d +0 +not estimable +no$/m);

    const html = readFileSync(join(runDir, 'report.html'), 'utf8');
    assert.match(html, /<h2>Slots<\/h2>\n<table class="slots">\n<tr><th>slot<\/th><th>GPUs<\/th><th>runs<\/th><th>failures<\/th><th>factor ± interval<\/th><th>retired<\/th><\/tr>\n<tr><td>0<\/td><td>0<\/td>/);
    assert.match(html, /<tr><td>1<\/td><td>1<\/td><td>\d<\/td><td>0<\/td><td>not estimable<\/td><td>no<\/td><\/tr>/);
  });

  it('with --slot-calibration, measures the first point on every slot and reports the slow slot\'s factor near its speed', async () => {
    const box = sandbox('typical', { VLLM_SIM_DEVICE_SPEED: `1=${SPEED}` });
    const run = await autotune(box, [...SWEEP, '--gpu-groups', '0 1 2', '--slot-calibration']);
    assert.equal(run.exitCode, 0, run.all);
    const db = new Database(join(box.dir, 'autotune_logs', 'autotune.db'), { readonly: true });
    const copies = db.prepare(`SELECT trial_key AS trial, slot FROM runs WHERE trial_key LIKE '%#slot%' ORDER BY seq`).all();
    db.close();
    assert.deepEqual(copies, [
      { trial: 'latency:b1-i128-o32#slot1', slot: 1 },
      { trial: 'latency:b1-i128-o32#slot2', slot: 2 },
    ]);
    const json = await autotune(box, ['status', '--json']);
    const slots = (JSON.parse(json.all ?? '') as { slots: { factor: { estimate: number; shared: number } | string | null }[] }).slots;
    const factor = (i: number): { estimate: number; shared: number } => {
      const f = slots[i]?.factor;
      assert.ok(typeof f === 'object' && f !== null, `slot ${i}: ${JSON.stringify(f)}`);
      return f;
    };
    assert.equal(slots[0]?.factor, 'reference');
    assert.ok(Math.abs(factor(1).estimate - SPEED) < 0.03, `slot 1 factor ${factor(1).estimate}, speed ${SPEED}`);
    assert.ok(Math.abs(factor(2).estimate - 1) < 0.03, `slot 2 factor ${factor(2).estimate}`);
    assert.equal(factor(1).shared, 1);
    const html = readFileSync(join(onlyRunDir(box), 'report.html'), 'utf8');
    assert.match(html, /<tr><td>1<\/td><td>1<\/td><td>\d<\/td><td>0<\/td><td>0\.[78]\d\d \(one run each\)<\/td><td>no<\/td><\/tr>/);
  });

  it('refuses --slot-calibration on one slot', async () => {
    const box = sandbox('typical');
    const run = await autotune(box, [...SWEEP, '--slot-calibration']);
    assert.equal(run.exitCode, 2, run.all);
    assert.match(run.all ?? '', /--slot-calibration` needs two slots or more/);
  });

  it('shows no Slots table for a session on one slot', async () => {
    const box = sandbox('typical');
    const run = await autotune(box, SWEEP);
    assert.equal(run.exitCode, 0, run.all);
    const html = readFileSync(join(onlyRunDir(box), 'report.html'), 'utf8');
    assert.doesNotMatch(html, /<h2>Slots<\/h2>/);
    const status = await autotune(box, ['status', '--json']);
    assert.equal((JSON.parse(status.all ?? '') as { slots: unknown }).slots, null);
  });
});
