/**
 * `--gpu-groups` through the built CLI: a sweep runs its points on every group at once with
 * each point's configurations on one group; the reference policy runs operators on every group,
 * each judged against its own group's baseline; the screening policy runs its design on every
 * group.
 */
import assert from 'node:assert/strict';
import { readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
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

  it('--policy reference tunes on every group and decides as one group does, though one group is 10% slower', async () => {
    const effects: Record<string, number> = { mul: 0.02, silu: -0.03, exp: 0.015, softmax: -0.02, add: 0.01, sub: -0.015, cos: 0.012, sin: -0.011 };
    const scenario = (b: Sandbox): string => {
      const path = join(b.dir, 'clear.yaml');
      writeFileSync(
        path,
        [
          'name: clear',
          'description: effects far above the noise',
          'seed: 5',
          'baseline: { requestsPerSec: 10, totalTokensPerSec: 20000, outputTokensPerSec: 5000, numRequests: 1000 }',
          'noise: { cv: 0.001, flaggemsExtraCv: 0, outlierProbability: 0, outlierEffect: 0 }',
          'ops:',
          ...Object.entries(effects).map(([op, e]) => `  ${op}: ${e}`),
          '',
        ].join('\n'),
      );
      return path;
    };
    const session = async (groups: string, speeds: string): Promise<{ out: string; runDir: string; b: Sandbox }> => {
      const b = box();
      const out = join(b.dir, 'out');
      const r = await autotune(b, [...BENCH_ARGS, '--policy', 'reference', '--ops', Object.keys(effects).join(','), '--num-runs', '2', '--gpu-groups', groups, '--output-dir', out, '--quiet'], {
        VLLM_SIM_SCENARIO: scenario(b),
        VLLM_SIM_DEVICE_SPEED: speeds,
      });
      assert.equal(r.exitCode, 0, r.all);
      assert.doesNotMatch(r.stdout, /measures one run at a time/);
      const name = readdirSync(out).find((d) => d.startsWith('autotune_'));
      assert.ok(name !== undefined);
      return { out: r.stdout, runDir: join(out, name), b };
    };
    const one = await session('0', '');
    const three = await session('0 1 2', '2=0.9');
    const best = (dir: string): string => readFileSync(join(dir, 'best_config.yaml'), 'utf8');
    assert.equal(best(three.runDir), best(one.runDir));
    assert.match(best(one.runDir), /mul/);
    assert.match(three.out, /^Baseline per slot \(each operator is compared with its own slot's\): slot 0 .*, slot 2 [\d.]+ total tokens\/s \(x0\.(89|90)\d+\)$/m);
    // history.csv shows each operator against its own group's baseline: the ratios one group measures.
    const ratios = (dir: string): Map<string, number> =>
      new Map(readFileSync(join(dir, 'history.csv'), 'utf8').trim().split('\n').slice(1).map((line) => {
        const cells = line.split(',');
        return [cells[0] ?? '', Number(cells.at(-1))];
      }));
    const r1 = ratios(one.runDir);
    const r3 = ratios(three.runDir);
    for (const op of Object.keys(effects)) {
      assert.ok(Math.abs((r3.get(op) ?? 0) - (r1.get(op) ?? 1)) < 0.005, `${op}: ${r3.get(op)} vs ${r1.get(op)}`);
    }
    // Every group ran operators; each operator stayed on one group.
    const groupsOf = new Map<string, Set<string>>();
    for (const inv of invocations(three.b)) {
      const ops = inv.env?.['VLLM_FL_FLAGOS_WHITELIST'] ?? null;
      if (ops === null || ops.includes(',')) continue;
      const seen = groupsOf.get(ops) ?? new Set<string>();
      seen.add(inv.env?.['CUDA_VISIBLE_DEVICES'] ?? '');
      groupsOf.set(ops, seen);
    }
    for (const [op, groups] of groupsOf) assert.equal(groups.size, 1, `${op} ran on ${[...groups].join(' and ')}`);
    assert.deepEqual([...new Set([...groupsOf.values()].flatMap((g) => [...g]))].sort(), ['0', '1', '2']);
  });

  it('the screening policy runs its design on every group, each group levelled by its own anchors', async () => {
    const b = box();
    const r = await autotune(b, [...BENCH_ARGS, '--policy', 'screening', '--num-runs', '1', '--gpu-groups', '0 1 2']);
    assert.equal(r.exitCode, 0, r.all);
    assert.doesNotMatch(r.all, /measures one run at a time/);
    // Group runs went to every group, each with its group's devices, never the inherited ones.
    const groups = new Set<string>();
    for (const inv of invocations(b)) {
      const devices = inv.env?.['CUDA_VISIBLE_DEVICES'] ?? '';
      assert.ok(['0', '1', '2'].includes(devices), JSON.stringify(inv.env));
      if ((inv.env?.['VLLM_FL_FLAGOS_WHITELIST'] ?? '').includes(',')) groups.add(devices);
    }
    assert.deepEqual([...groups].sort(), ['0', '1', '2']);
    assert.match(r.stdout, /^Slot levels vs slot 0 \(from each slot's baseline anchors; every comparison is corrected for them\): slot 1 x\d\.\d{4}, slot 2 x\d\.\d{4}$/m);
  });
});
