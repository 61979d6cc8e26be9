/** What an engine study's points are checked against: config.json found where vLLM would find it. */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { axisTiers, resolveEngineSpace, type EngineRequest } from '../../src/cli/engine-options.js';

const REQUEST: EngineRequest = { tiers: axisTiers(['tensor-parallel-size=1,2,3']), search: null, operators: false, retry: [], gpus: null, modelConfig: null, notes: [] };

function writeConfig(dir: string, config: object): void {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'config.json'), JSON.stringify(config));
}

describe('engine study limits', () => {
  it('reads the attention heads and context length from a model id in the Hugging Face hub cache', () => {
    const home = mkdtempSync(join(tmpdir(), 'engine-options-'));
    const repo = join(home, '.cache', 'huggingface', 'hub', 'models--Qwen--Qwen3-32B');
    writeConfig(join(repo, 'snapshots', 'abc123'), { num_attention_heads: 64, max_position_embeddings: 40960 });
    writeConfig(join(repo, 'snapshots', 'old999'), { num_attention_heads: 7 });
    mkdirSync(join(repo, 'refs'));
    writeFileSync(join(repo, 'refs', 'main'), 'abc123\n');
    const space = resolveEngineSpace(REQUEST, ['--model', 'Qwen/Qwen3-32B', '--input-len', '512'], { HOME: home, CUDA_VISIBLE_DEVICES: '0,1' });
    assert.deepEqual(space.limits, { numHeads: 64, gpus: 2, maxModelLen: 40960, inputLen: 512, outputLen: null });
  });

  it('reads the heads of a model the MFU shape does not model (multi-head latent attention)', () => {
    const dir = join(mkdtempSync(join(tmpdir(), 'engine-options-')), 'DeepSeek-V3');
    writeConfig(dir, { num_attention_heads: 128, kv_lora_rank: 512, max_position_embeddings: 163840 });
    const space = resolveEngineSpace(REQUEST, ['--model', dir], {});
    assert.equal(space.limits.numHeads, 128);
    assert.equal(space.limits.gpus, null, 'unknown without CUDA_VISIBLE_DEVICES: not checked');
  });

  it('leaves the heads unchecked when no config.json is found', () => {
    const space = resolveEngineSpace(REQUEST, ['--model', 'org/absent'], { HOME: mkdtempSync(join(tmpdir(), 'engine-options-')) });
    assert.equal(space.limits.numHeads, null);
  });
});
