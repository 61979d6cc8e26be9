/**
 * Inherited plugin and FlagGems variables never reach a trial, in a fresh session and on
 * resume (whose recorded environment still carries them); caches, CUDA_* and HF_* do.
 */
import assert from 'node:assert/strict';
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, it, after } from 'node:test';
import { execa } from 'execa';
import { autotune, BENCH_ARGS, CLI, invocations, onlyRunDir, sandbox, type Invocation, type Sandbox } from '../support/cli.js';

const HOSTILE = {
  VLLM_FL_PREFER: 'vendor',
  VLLM_FL_OOT_BLACKLIST: 'rms_norm',
  VLLM_FL_FLAGOS_BLACKLIST_APPEND: 'mm',
  VLLM_FL_PER_OP: 'rms_norm=vendor',
  VLLM_FL_OP_CONFIG: '/nonexistent/op_config.json',
  VLLM_FL_STRICT: '1',
  VLLM_ATTENTION_BACKEND: 'FLASHINFER',
};
const KEPT = { FLAGGEMS_CACHE_DIR: '/cache/flaggems', TRITON_CACHE_DIR: '/cache/triton', CUDA_VISIBLE_DEVICES: '0', HF_HOME: '/cache/hf', GEMS_VENDOR: 'nvidia' };
const ARGS = [...BENCH_ARGS, '--ops', 'mm,rms_norm', '--num-runs', '1', '--policy', 'reference', '--quiet'];

function assertHermetic(seen: readonly Invocation[]): void {
  assert.ok(seen.length > 0);
  for (const inv of seen) {
    const env = inv.env ?? {};
    for (const name of ['VLLM_FL_PREFER', 'VLLM_FL_OOT_BLACKLIST', 'VLLM_FL_FLAGOS_BLACKLIST_APPEND', 'VLLM_FL_PER_OP', 'VLLM_FL_OP_CONFIG', 'VLLM_FL_STRICT']) {
      assert.equal(env[name], null, `${inv.runKey}: ${name} inherited`);
    }
    const reference = (inv.runKey ?? '').includes(':reference:');
    assert.equal(env['VLLM_ATTENTION_BACKEND'] !== null, reference, `${inv.runKey}: attention backend`);
    for (const [name, value] of Object.entries(KEPT)) assert.equal(env[name], value, `${inv.runKey}: ${name} not kept`);
  }
}

describe('hermetic trials', () => {
  const boxes: Sandbox[] = [];
  after(() => {
    for (const box of boxes) rmSync(box.dir, { recursive: true, force: true });
  });

  it('a session started with hostile plugin variables measures FlagGems trials with FlagGems on, and says what it dropped', async () => {
    const box = sandbox('demo', { ...HOSTILE, ...KEPT });
    boxes.push(box);
    const r = await autotune(box, ARGS);
    assert.equal(r.exitCode, 0, r.all);
    assertHermetic(invocations(box));
    const lines = r.stdout.split('\n').filter((l) => l.startsWith('Trial environment:'));
    assert.deepEqual(lines, [
      "Trial environment: dropped inherited VLLM_ATTENTION_BACKEND, VLLM_FL_FLAGOS_BLACKLIST_APPEND, VLLM_FL_OOT_BLACKLIST, VLLM_FL_OP_CONFIG, VLLM_FL_PER_OP, VLLM_FL_PREFER, VLLM_FL_STRICT (each trial sets the plugin's variables itself); kept CUDA_VISIBLE_DEVICES, FLAGGEMS_CACHE_DIR, GEMS_VENDOR, HF_HOME, TRITON_CACHE_DIR, VLLM_SIM_SCENARIO, VLLM_SIM_STATE_DIR, VLLM_SIM_TIME_SCALE",
    ]);
    const log = readFileSync(join(onlyRunDir(box), 'autotune.log'), 'utf8')
      .split('\n')
      .filter((l) => l.trim() !== '')
      .map((l) => JSON.parse(l) as { event?: string; dropped?: string[]; kept?: string[] })
      .filter((e) => e.event === 'environment');
    assert.equal(log.length, 1);
    assert.ok(log[0]?.dropped?.includes('VLLM_FL_PREFER'));
    // FlagGems really was on in its trials: mm's flagos row differs from the baseline.
    const csv = readFileSync(join(onlyRunDir(box), 'history.csv'), 'utf8');
    assert.match(csv, /^mm,flagos,[\d.]+,[\d.]+,(?!1\.0000)/m);
  });

  it('resume applies the same rule to the recorded environment', async () => {
    const box = sandbox('demo', { ...HOSTILE, ...KEPT, VLLM_SIM_TIME_SCALE: '0.05' });
    boxes.push(box);
    const child = execa(process.execPath, [CLI, ...ARGS], { cwd: box.dir, env: box.env, extendEnv: false, reject: false });
    while (invocations(box).length < 3 && child.exitCode === null) await sleep(20);
    child.kill('SIGKILL');
    await child;
    const before = invocations(box).length;
    assert.ok(before >= 3);
    // The recorded environment carries the hostile values; the resuming shell does not.
    const clean = Object.fromEntries(Object.entries(box.env).filter(([name]) => !(name in HOSTILE)));
    const resumed = await execa(process.execPath, [CLI, 'resume', onlyRunDir(box), '--quiet'], { cwd: box.dir, env: { ...clean, VLLM_SIM_TIME_SCALE: '0' }, extendEnv: false, reject: false, all: true });
    assert.equal(resumed.exitCode, 0, resumed.all);
    const after = invocations(box).slice(before);
    assert.ok(after.length > 0);
    assertHermetic(after);
    assert.match(resumed.stdout, /^Trial environment: dropped inherited .*VLLM_FL_PREFER.*; kept CUDA_VISIBLE_DEVICES/m);
  });
});
