/**
 * `--gpu-groups` through the built CLI: a sweep runs its points on every group at once with
 * each point's configurations on one group, and a one-run-at-a-time policy says that the other
 * groups stay idle.
 */
import assert from 'node:assert/strict';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { autotune, BENCH_ARGS, invocations, sandbox, type Sandbox } from '../support/cli.js';

const boxes: Sandbox[] = [];
function box(): Sandbox {
  const b = sandbox('typical', { VLLM_SIM_SLEEP_MS: '150' });
  boxes.push(b);
  return b;
}

after(() => {
  for (const b of boxes) rmSync(b.dir, { recursive: true, force: true });
});

describe('GPU groups', () => {
  it('a sweep measures on every group, each point with all its configurations on one group', async () => {
    const b = box();
    const silu = join(b.dir, 'silu.yaml');
    const mul = join(b.dir, 'mul.yaml');
    writeFileSync(silu, 'op_backends:\n  silu: [flagos]\n');
    writeFileSync(mul, 'op_backends:\n  mul: [flagos]\n');
    const r = await autotune(b, [
      'sweep', 'latency', '--model', 'm', '--batch-sizes', '1,4,16', '--input-lens', '128,512', '--output-lens', '32',
      '--op-set', `silu=${silu}`, '--op-set', `mul=${mul}`, '--gpu-groups', '0,1 2,3', '--num-iters', '3', '--quiet',
    ]);
    assert.equal(r.exitCode, 0, r.all);
    const runs = invocations(b);
    // 6 points x 2 operator sets, one run each.
    assert.equal(runs.length, 12, r.all);
    const groupOf = new Map<string, Set<string | null>>();
    for (const inv of runs) {
      const argv = inv.argv ?? [];
      const at = (flag: string): string => argv[argv.indexOf(flag) + 1] ?? '?';
      const point = `${at('--batch-size')}/${at('--input-len')}`;
      const seen = groupOf.get(point) ?? new Set<string | null>();
      seen.add(inv.env?.['CUDA_VISIBLE_DEVICES'] ?? null);
      groupOf.set(point, seen);
    }
    assert.equal(groupOf.size, 6);
    for (const [point, groups] of groupOf) assert.equal(groups.size, 1, `${point} ran on ${[...groups].join(' and ')}`);
    const used = new Set([...groupOf.values()].flatMap((g) => [...g]));
    assert.deepEqual([...used].sort(), ['0,1', '2,3']);
  });

  it('a tuning policy that decides each run from the last says that the other groups stay idle', async () => {
    const b = box();
    const r = await autotune(b, [...BENCH_ARGS, '--ops', 'silu', '--num-runs', '1', '--gpu-groups', '0 1 2', '--quiet']);
    assert.equal(r.exitCode, 0, r.all);
    assert.match(r.stdout, /^Policy noise-aware measures one run at a time: 2 of the 3 GPU groups stay idle \(sweeps run one point per group\)$/m);
    // Each run still gets its group's devices, never the inherited ones.
    for (const inv of invocations(b)) assert.ok(['0', '1', '2'].includes(inv.env?.['CUDA_VISIBLE_DEVICES'] ?? ''), JSON.stringify(inv.env));
  });
});
