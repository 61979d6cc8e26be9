/** What `vllm` receives: the user's arguments verbatim, and each round's plugin environment. */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it, before } from 'node:test';
import { autotune, invocations, onlyRunDir, sandbox, type Invocation, type Sandbox } from '../support/cli.js';

const USER_ARGS = [
  '--model',
  '/models/Qwen3-4B',
  '--compilation-config',
  '{"cudagraph_mode": "FULL_AND_PIECEWISE"}',
  '--max-num-seqs=64',
  '--dataset-name',
  'random',
  '--input-len',
  '512',
];

describe('arguments and environment per round', () => {
  let box: Sandbox;
  let seen: Invocation[];
  let runDir: string;

  before(async () => {
    box = sandbox('typical', { VLLM_FL_FLAGOS_BLACKLIST: 'mm,sort' });
    const r = await autotune(box, [...USER_ARGS, '--ops', 'rms_norm,add', '--num-runs', '1', '--policy', 'reference', '--quiet', '--', '--seed', '7', '--trust-remote-code']);
    assert.equal(r.exitCode, 0, r.all);
    seen = invocations(box);
    runDir = onlyRunDir(box);
  });

  it('passes unknown arguments, --flag=value, JSON values and everything after -- verbatim and in order', () => {
    for (const inv of seen) {
      const argv = inv.argv ?? [];
      assert.deepEqual(argv.slice(0, 2), ['bench', 'throughput']);
      assert.deepEqual(argv.slice(2, 2 + USER_ARGS.length + 3), [...USER_ARGS, '--seed', '7', '--trust-remote-code']);
      assert.equal(argv[2 + USER_ARGS.length + 3], '--output-json');
      assert.equal(argv.length, 2 + USER_ARGS.length + 5);
    }
  });

  it('runs the reference rounds in order, one invocation each with --num-runs 1', () => {
    const configs = seen.map((i) => String(i.env?.['VLLM_FL_CONFIG']).split('/').pop());
    assert.deepEqual(configs, [
      '0001_baseline_benchmark.yaml',
      '0002_baseline_fake_gems_op_benchmark.yaml',
      '0003_baseline_gems_enable_benchmark.yaml',
      '0004_op_rms_norm_flagos_benchmark.yaml',
      '0005_op_rms_norm_vendor_benchmark.yaml',
      '0006_op_rms_norm_reference_flash_attn_benchmark.yaml',
      '0007_op_rms_norm_reference_flashinfer_benchmark.yaml',
      '0008_op_add_flagos_benchmark.yaml',
      '0009_combined_best_benchmark.yaml',
    ].slice(0, seen.length));
    assert.ok(seen.length >= 8);
  });

  it('sets each round\'s plugin environment exactly, never keeps a blacklist and never leaks the attention backend', () => {
    const env = (i: number): Record<string, string | null> => seen[i]?.env ?? {};
    const plugin = (i: number): Record<string, string | null> => {
      const e = env(i);
      return {
        USE_FLAGGEMS: e['USE_FLAGGEMS'] ?? null,
        VLLM_FL_FLAGOS_WHITELIST: e['VLLM_FL_FLAGOS_WHITELIST'] ?? null,
        VLLM_FL_FLAGOS_BLACKLIST: e['VLLM_FL_FLAGOS_BLACKLIST'] ?? null,
        VLLM_FL_OOT_ENABLED: e['VLLM_FL_OOT_ENABLED'] ?? null,
        VLLM_FL_OOT_WHITELIST: e['VLLM_FL_OOT_WHITELIST'] ?? null,
        VLLM_ATTENTION_BACKEND: e['VLLM_ATTENTION_BACKEND'] ?? null,
      };
    };
    const off = { USE_FLAGGEMS: '0', VLLM_FL_FLAGOS_WHITELIST: null, VLLM_FL_FLAGOS_BLACKLIST: null, VLLM_FL_OOT_ENABLED: '0', VLLM_FL_OOT_WHITELIST: null, VLLM_ATTENTION_BACKEND: null };
    assert.deepEqual(plugin(0), off);
    assert.deepEqual(plugin(1), { ...off, USE_FLAGGEMS: '1', VLLM_FL_FLAGOS_WHITELIST: 'gems_fake_op' });
    assert.deepEqual(plugin(2), { ...off, USE_FLAGGEMS: '1' });
    assert.deepEqual(plugin(3), { ...off, USE_FLAGGEMS: '1', VLLM_FL_FLAGOS_WHITELIST: 'rms_norm', VLLM_FL_OOT_ENABLED: '1', VLLM_FL_OOT_WHITELIST: 'rms_norm' });
    assert.deepEqual(plugin(4), { ...off, VLLM_FL_OOT_ENABLED: '1', VLLM_FL_OOT_WHITELIST: 'rms_norm' });
    assert.deepEqual(plugin(5), { ...off, VLLM_FL_OOT_ENABLED: '1', VLLM_FL_OOT_WHITELIST: 'rms_norm', VLLM_ATTENTION_BACKEND: 'FLASH_ATTN' });
    assert.deepEqual(plugin(6), { ...off, VLLM_FL_OOT_ENABLED: '1', VLLM_FL_OOT_WHITELIST: 'rms_norm', VLLM_ATTENTION_BACKEND: 'FLASHINFER' });
    assert.deepEqual(plugin(7), { ...off, USE_FLAGGEMS: '1', VLLM_FL_FLAGOS_WHITELIST: 'add' });
  });

  it('hands each run its own config file and an oplist path inside the run directory', () => {
    assert.deepEqual(seen[0]?.config, {});
    assert.deepEqual(seen[3]?.config, { op_backends: { rms_norm: ['flagos'] } });
    assert.deepEqual(seen[5]?.config, { op_backends: { rms_norm: ['reference'] } });
    assert.equal(readFileSync(String(seen[4]?.env?.['VLLM_FL_CONFIG']), 'utf8'), 'op_backends:\n  rms_norm:\n  - vendor\n');
    for (const inv of seen) assert.ok(String(inv.env?.['FLAGGEMS_ENABLE_OPLIST_PATH']).startsWith(`${runDir}/`));
  });
});
