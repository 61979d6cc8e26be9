/** An engine scenario's model as a directory with the config.json vLLM would read: what engine studies check their axes against. */
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadScenario, type Scenario } from '../../simulator/scenario.js';
import type { Sandbox } from './cli.js';

export function engineModel(box: Sandbox, scenario: string): { readonly dir: string; readonly scenario: Scenario } {
  const s = loadScenario(scenario);
  const e = s.engine ?? assert.fail(`${scenario} has no engine section`);
  const dir = join(box.dir, 'models', scenario);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'config.json'), JSON.stringify({ num_attention_heads: e.attentionHeads, num_key_value_heads: e.kvHeads, max_position_embeddings: s.latency.maxModelLen }));
  return { dir, scenario: s };
}
