/** Operator discovery without Python: from an auto_tune VLLM_FL_CONFIG, and from round 1c's oplist. */
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { parse } from 'yaml';
import { autotune, BENCH_ARGS, invocations, onlyRunDir, sandbox } from '../support/cli.js';

type OpsFile = { action: string; op_backends: Record<string, string[]> };
const opsFile = (runDir: string, name: string): OpsFile => parse(readFileSync(join(runDir, name), 'utf8')) as OpsFile;

describe('discovery', () => {
  it('takes the operators of a VLLM_FL_CONFIG with action auto_tune, then adds what round 1c executed', async () => {
    const box = sandbox('demo');
    const config = join(box.dir, 'tune.yaml');
    writeFileSync(config, 'action: auto_tune\nop_backends:\n  rms_norm: [vendor, flagos]\n  mul: flagos\n');
    const r = await autotune(box, [...BENCH_ARGS, '--policy', 'reference', '--num-runs', '1', '--quiet'], { VLLM_FL_CONFIG: config });
    assert.equal(r.exitCode, 0, r.all);
    const runDir = onlyRunDir(box);
    assert.deepEqual(opsFile(runDir, 'autotune_ops.initial.yaml'), { action: 'auto_tune', op_backends: { mul: ['flagos'], rms_norm: ['flagos', 'vendor'] } });
    const final = opsFile(runDir, 'autotune_ops.yaml').op_backends;
    assert.deepEqual(final['rms_norm'], ['flagos', 'vendor']);
    assert.ok(Object.keys(final).length > 2, 'round 1c added the executed operators');
    // The user's VLLM_FL_CONFIG never reaches a benchmark: every run gets its own.
    for (const inv of invocations(box)) assert.notEqual(inv.env?.['VLLM_FL_CONFIG'], config);
  });

  it('reads the executed-op log of round 1c, vendor-specialised and fused lines included', async () => {
    const box = sandbox('typical');
    const r = await autotune(box, [...BENCH_ARGS, '--policy', 'reference', '--num-runs', '1', '--budget', '3', '--quiet']);
    assert.equal(r.exitCode, 0, r.all);
    const ops = Object.keys(opsFile(onlyRunDir(box), 'autotune_ops.yaml').op_backends);
    assert.ok(ops.includes('mm'), 'mm is logged as general_mm with [op]: mm on Hopper');
    assert.ok(ops.includes('reshape_and_cache'), 'fused ops count');
    assert.ok(!ops.includes('general_mm'));
    assert.deepEqual(ops, [...ops].sort());
  });
});
