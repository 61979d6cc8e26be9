import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import type { FinalResult } from '../../src/tuner/policy.js';
import { buildServeRecipe, formatRecipeShell, recipeProblems, serveArguments, shellQuote, type RecipeInput } from '../../src/tuner/recipe.js';

const SERVE = new Set(['--model', '--tensor-parallel-size', '-tp', '--load-format', '--compilation-config', '--enforce-eager', '--no-enforce-eager', '--max-model-len', '--seed', '-O', '--gpu-memory-utilization']);

function final(opBackends: FinalResult['opBackends'], attention: FinalResult['attention'] = null): FinalResult {
  return { opBackends, attention, validated: true, speedup: 0.02, low: 0.01, high: 0.03, summary: [] };
}

function input(f: FinalResult, over: Partial<RecipeInput> = {}): RecipeInput {
  return {
    sessionId: 's1',
    final: f,
    passthrough: ['--model', '/m/Q', '--dataset-name', 'random', '--input-len', '512', '--num-prompts', '1000', '-tp', '2', '--enforce-eager'],
    sessionEnv: { CUDA_VISIBLE_DEVICES: '0,1', VLLM_FL_FLAGOS_BLACKLIST: 'mm', VLLM_FL_CONFIG: '/tune.yaml', PATH: '/bin', FLAGGEMS_ENABLE_OPLIST_PATH: '/tmp/x' },
    bestConfigPath: '/run/best_config.yaml',
    vllmBin: 'vllm',
    serveOptions: SERVE,
    ...over,
  };
}

describe('serving recipe', () => {
  it('sets exactly the measured plugin environment: whitelist of the flagos ops, blacklist removed, OOT list, VLLM_FL_CONFIG', () => {
    const r = buildServeRecipe(input(final({ mm: 'flagos', silu_and_mul: 'flagos', rms_norm: 'vendor' })));
    assert.equal(r.env['USE_FLAGGEMS'], '1');
    assert.equal(r.env['VLLM_FL_FLAGOS_WHITELIST'], 'mm,silu_and_mul');
    assert.equal(r.env['VLLM_FL_OOT_ENABLED'], '1');
    assert.equal(r.env['VLLM_FL_OOT_WHITELIST'], 'silu_and_mul,rms_norm');
    assert.equal(r.env['VLLM_FL_CONFIG'], '/run/best_config.yaml');
    assert.equal(r.env['VLLM_FL_FLAGOS_BLACKLIST'], undefined);
    assert.ok(r.unset.includes('VLLM_FL_FLAGOS_BLACKLIST'));
    assert.equal(r.env['CUDA_VISIBLE_DEVICES'], '0,1', 'the recorded environment is part of the measurement');
    assert.equal(r.env['PATH'], undefined);
    assert.equal(r.env['FLAGGEMS_ENABLE_OPLIST_PATH'], undefined);
    assert.deepEqual(recipeProblems(r), []);
  });

  it('keeps FlagGems off when no flagos operator won, and sets the attention backend it was measured with', () => {
    const r = buildServeRecipe(input(final({ rms_norm: 'reference' }, 'FLASHINFER')));
    assert.equal(r.env['USE_FLAGGEMS'], '0');
    assert.equal(r.env['VLLM_FL_FLAGOS_WHITELIST'], undefined);
    assert.equal(r.env['VLLM_ATTENTION_BACKEND'], 'FLASHINFER');
    const none = buildServeRecipe(input(final({})));
    assert.equal(none.env['USE_FLAGGEMS'], '0');
    assert.equal(none.env['VLLM_FL_OOT_ENABLED'], '0');
  });

  it('serves with the engine arguments and drops the benchmark-only ones', () => {
    const r = buildServeRecipe(input(final({ mm: 'flagos' })));
    assert.deepEqual(r.argv, ['vllm', 'serve', '/m/Q', '-tp', '2', '--enforce-eager']);
    assert.deepEqual(r.dropped, ['--dataset-name', 'random', '--input-len', '512', '--num-prompts', '1000']);
    const s = serveArguments(['--model=/m/X', '--compilation_config', '{"level": 3}', '--gpu-memory-util', '0.9', '-O3', '--seed', '-1', '--output-len=128'], SERVE);
    assert.equal(s.model, '/m/X');
    assert.deepEqual(s.kept, ['--compilation_config', '{"level": 3}', '--gpu-memory-util', '0.9', '-O3', '--seed', '-1']);
    assert.deepEqual(s.dropped, ['--output-len=128']);
  });

  it('finds what breaks the plugin rules', () => {
    const good = buildServeRecipe(input(final({ mm: 'flagos', rms_norm: 'flagos' })));
    const both = { ...good, env: { ...good.env, VLLM_FL_FLAGOS_BLACKLIST: 'to_copy' } };
    assert.match(recipeProblems(both).join('\n'), /both set/);
    const aten = { ...good, env: { ...good.env, VLLM_FL_FLAGOS_WHITELIST: 'mm,fill_.Scalar,rms_norm' } };
    assert.match(recipeProblems(aten).join('\n'), /fill_\.Scalar is not a FlagGems function name/);
    const wholesale = { ...good, env: { ...good.env, VLLM_FL_FLAGOS_WHITELIST: '' } };
    assert.match(recipeProblems(wholesale).join('\n'), /without a whitelist/);
    const noOot = { ...good, env: { ...good.env, VLLM_FL_OOT_WHITELIST: 'mm' } };
    assert.match(recipeProblems(noOot).join('\n'), /OOT operator rms_norm is missing/);
    assert.match(recipeProblems(noOot).join('\n'), /mm is not one of the plugin's OOT operators/);
    const kept = { ...good, unset: [] };
    assert.match(recipeProblems(kept).join('\n'), /inherited VLLM_FL_FLAGOS_BLACKLIST/);
  });

  it('writes a shell file that sh parses and that quotes every value', () => {
    assert.equal(shellQuote("it's"), `'it'\\''s'`);
    assert.equal(shellQuote('/a/b-c_d.e'), '/a/b-c_d.e');
    const r = buildServeRecipe(
      input(final({ mm: 'flagos' }), { passthrough: ['--model', '/m/with space', '--compilation-config', `{"cudagraph_mode": "FULL_AND_PIECEWISE"}`], sessionEnv: { VLLM_X: `a'b $HOME` } }),
    );
    const dir = mkdtempSync(join(tmpdir(), 'recipe-'));
    try {
      const file = join(dir, 'r.sh');
      // Replace the final exec with printing the words, to read back what the shell would run.
      writeFileSync(file, formatRecipeShell(r).replace(/^exec /m, `printf '%s\\n' "$VLLM_X" `));
      const out = execFileSync('sh', [file], { encoding: 'utf8', env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin' } }).split('\n');
      assert.deepEqual(out.slice(0, 6), [`a'b $HOME`, 'vllm', 'serve', '/m/with space', '--compilation-config', `{"cudagraph_mode": "FULL_AND_PIECEWISE"}`]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
