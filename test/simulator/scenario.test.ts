import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { groundTruthEffects } from '../../simulator/model.js';
import { executedOps, resolvePlugin } from '../../simulator/plugin.js';
import { loadScenarioCached } from '../../simulator/scenario-cache.js';
import { listScenarios, loadScenario, parseScenario } from '../../simulator/scenario.js';
import { tempDir, tinyScenario } from './support.js';

const REQUIRED = [
  'typical', 'demo', 'failures', 'noisy', 'drifting', 'interfering', 'nothing-helps',
  'vendor-wins', 'big-loser', 'cold-cache', 'tiny-gains', 'old-format',
];

/** Round 1c of autotune: FlagGems on wholesale, OOT off, a `{}` VLLM_FL_CONFIG. */
const ENABLE_ALL = { USE_FLAGGEMS: '1', VLLM_FL_OOT_ENABLED: '0', VLLM_FL_CONFIG: '/x/config.yaml' };

test('every shipped scenario loads, and the required ones exist', () => {
  const names = listScenarios();
  assert.ok(names.length >= 12);
  for (const name of REQUIRED) assert.ok(names.includes(name), name);
  for (const name of names) assert.equal(loadScenario(name).name, name);
});

test('typical runs about 40 ops in enable-all, with one big loser and a few winners', () => {
  const s = loadScenario('typical');
  const r = resolvePlugin(s, ENABLE_ALL, {});
  assert.ok(r.ok);
  const executed = executedOps(s, r.config);
  assert.ok(executed.length >= 35 && executed.length <= 45, `${executed.length} executed`);
  const truth = groundTruthEffects(s);
  assert.equal(truth['mm']?.effects.flagos, -0.13);
  const winners = Object.values(truth).filter((t) => (t.effects.flagos ?? 0) >= 0.005);
  assert.ok(winners.length >= 3 && winners.length <= 6);
  assert.deepEqual(Object.keys(truth['rms_norm']?.effects ?? {}).sort(), ['flagos', 'reference', 'vendor']);
});

test('scenario traits match their names', () => {
  const failures = loadScenario('failures');
  const kinds = Object.values(failures.ops).flatMap((op) => Object.values(op.fails));
  for (const kind of ['oom', 'hang', 'no_result', 'engine_crash'] as const) assert.ok(kinds.includes(kind), kind);
  assert.ok(loadScenario('noisy').noise.cv >= 0.01);
  assert.ok(loadScenario('cold-cache').cold.penalty >= 0.1);
  assert.ok(loadScenario('drifting').drift.perStep !== 0);
  assert.equal(loadScenario('old-format').format, 'old');
  assert.ok(loadScenario('interfering').interactions.length > 0);
  assert.ok(Object.keys(loadScenario('demo').ops).length <= 14);
  const nothing = groundTruthEffects(loadScenario('nothing-helps'), 'FLASHINFER');
  for (const t of Object.values(nothing)) for (const e of Object.values(t.effects)) assert.ok(e <= 0);
  const vendor = groundTruthEffects(loadScenario('vendor-wins'), 'FLASHINFER');
  for (const op of ['rms_norm', 'silu_and_mul', 'rotary_embedding']) {
    const e = vendor[op]?.effects;
    assert.ok(Math.max(e?.vendor ?? -1, e?.reference ?? -1) > (e?.flagos ?? 0), op);
  }
});

test('a bare number is the flagos effect; plugin ops get their kind from the name', () => {
  const s = tinyScenario({ ops: { mul: 0.01, rms_norm: { flagos: 0.002, vendor: 0.001, reference: { FLASH_ATTN: -0.01, FLASHINFER: 0.003 } } } });
  assert.deepEqual(s.ops['mul']?.effects, { flagos: { FLASH_ATTN: 0.01, FLASHINFER: 0.01 } });
  assert.equal(s.ops['mul']?.kind, 'gems');
  assert.equal(s.ops['rms_norm']?.kind, 'oot');
  assert.equal(s.ops['rms_norm']?.oplist, 'dispatch');
  assert.equal(s.ops['rms_norm']?.effects.reference?.FLASHINFER, 0.003);
});

test('bad scenarios fail with one line that names the file and the field', () => {
  const dir = tempDir();
  const path = join(dir, 'bad.yaml');
  writeFileSync(path, 'name: bad\ndescription: x\nseed: 1\nbaseline: { requestsPerSec: 1, totalTokensPerSec: 2, outputTokensPerSec: 1 }\nnoise: { cv: 0 }\nops: { mm: { flagos: wrong } }\n');
  assert.throws(() => loadScenario(path), (e: Error) => {
    assert.ok(!e.message.includes('\n'));
    assert.match(e.message, /bad\.yaml/);
    assert.match(e.message, /\/ops\/mm\/flagos must be number/);
    return true;
  });
  assert.throws(() => loadScenario('no-such-scenario'), /Unknown scenario 'no-such-scenario' \(known: .*typical/);
  assert.throws(() => tinyScenario({ extra: 1 }), /must NOT have additional properties 'extra'/);
  assert.throws(() => tinyScenario({ ops: { mul: { flagos: 0.01, vendor: 0.0 } } }), /plain FlagGems op/);
  assert.throws(() => tinyScenario({ interactions: [{ ops: ['mul', 'nope'], effect: -0.01 }] }), /unknown op 'nope'/);
  assert.throws(() => tinyScenario({ ops: { mul: { flagos: 0.01, fails: { vendor: 'oom' } } } }), /does not have/);
  assert.throws(() => tinyScenario({ ops: { attention_backend: { flagos: 0.01, vendor: 0.02 } } }), /vendor effect must be 0/);
  assert.throws(() => parseScenario([]), /Invalid scenario inline/);
});

test('the cached loader gives what the validating loader gives', () => {
  for (const name of ['typical', 'vendor-wins']) {
    assert.deepEqual(loadScenarioCached(name), JSON.parse(JSON.stringify(loadScenario(name))));
    assert.deepEqual(loadScenarioCached(name), loadScenarioCached(name));
  }
});
