/**
 * A database written by release 0.1.0, with a session SIGKILLed half-way, opens under this
 * release, migrates in place and resumes to completion with the policy and options it started
 * with, repeating no completed run. Fixtures: test/fixtures/release-0.1.0/README.md.
 */
import assert from 'node:assert/strict';
import { cpSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { SCHEMA_VERSION } from '../../src/store/migrations.js';
import { autotune, BENCH_ARGS, invocations, onlyRunDir, ROOT, sandbox, type Sandbox } from '../support/cli.js';

const FIXTURES = join(ROOT, 'test', 'fixtures', 'release-0.1.0');
const GOLDENS = join(ROOT, 'test', 'fixtures', 'reference-goldens');

interface Fixture {
  readonly box: Sandbox;
  readonly id: string;
  readonly options: string;
  readonly policy: string;
  /** Completed runs in the fixture, by step. */
  readonly committed: number;
}

/**
 * Copies a fixture into a fresh sandbox. The database stores absolute paths (run directory,
 * log and config paths, the recorded VLLM_SIM_STATE_DIR) of the temporary directory the
 * fixture was made in, so they are rewritten to the sandbox, as if the directory had been
 * moved; the recorded time scale becomes instant to keep the test fast.
 */
function install(name: string): Fixture {
  const box = sandbox('demo');
  const src = join(FIXTURES, name);
  cpSync(join(src, 'autotune_logs'), join(box.dir, 'autotune_logs'), { recursive: true });
  mkdirSync(box.stateDir, { recursive: true });
  cpSync(join(src, 'invocations.jsonl'), join(box.stateDir, 'invocations.jsonl'));
  const runDir = onlyRunDir(box);
  const marker = join(runDir, 'autotune_session.json');
  const pointer = JSON.parse(readFileSync(marker, 'utf8')) as { session: string; db: string };
  const oldRoot = pointer.db.replace(/\/autotune_logs\/autotune\.db$/, '');
  writeFileSync(marker, `${JSON.stringify({ ...pointer, db: join(box.dir, 'autotune_logs', 'autotune.db') }, null, 2)}\n`);

  const db = new Database(join(box.dir, 'autotune_logs', 'autotune.db'));
  assert.equal(db.pragma('user_version', { simple: true }), 1, 'the fixture is a release-0.1.0 database');
  db.prepare('UPDATE sessions SET run_dir = replace(run_dir, ?, ?), env_json = replace(env_json, ?, ?)').run(oldRoot, box.dir, oldRoot, box.dir);
  db.prepare('UPDATE runs SET log_path = replace(log_path, ?, ?), config_path = replace(config_path, ?, ?)').run(oldRoot, box.dir, oldRoot, box.dir);
  const env = JSON.parse((db.prepare('SELECT env_json FROM sessions').get() as { env_json: string }).env_json) as Record<string, string>;
  env['VLLM_SIM_TIME_SCALE'] = '0';
  db.prepare('UPDATE sessions SET env_json = ?').run(JSON.stringify(env));
  const row = db.prepare('SELECT id, options_json, policy FROM sessions').get() as { id: string; options_json: string; policy: string };
  const committed = (db.prepare(`SELECT COUNT(*) AS n FROM runs WHERE outcome NOT IN ('running', 'interrupted')`).get() as { n: number }).n;
  db.close();
  return { box, id: row.id, options: row.options_json, policy: row.policy, committed };
}

interface Resumed {
  readonly state: string;
  readonly options: string;
  readonly policy: string;
  readonly version: number;
  readonly repeated: unknown[];
  /** Slots of the release's own runs (stored before slots were), and of the runs this release made. */
  readonly oldSlots: unknown[];
  readonly newSlots: unknown[];
  /** Steps of the invocations this release made. */
  readonly newSteps: number[];
}

async function resume(f: Fixture): Promise<Resumed> {
  const before = invocations(f.box).length;
  const r = await autotune(f.box, ['resume', f.id, '--quiet']);
  assert.equal(r.exitCode, 0, r.all);
  const db = new Database(join(f.box.dir, 'autotune_logs', 'autotune.db'), { readonly: true });
  const session = db.prepare('SELECT state, options_json, policy FROM sessions').get() as { state: string; options_json: string; policy: string };
  const repeated = db
    .prepare(`SELECT step, COUNT(*) AS n FROM runs WHERE outcome NOT IN ('interrupted', 'running') GROUP BY step HAVING n > 1`)
    .all();
  const version = db.pragma('user_version', { simple: true }) as number;
  const slots = (where: string): unknown[] =>
    (db.prepare(`SELECT DISTINCT slot FROM runs WHERE ${where} ORDER BY slot`).all() as { slot: unknown }[]).map((row) => row.slot);
  const oldSlots = slots(`step < ${f.committed} AND outcome NOT IN ('interrupted', 'running')`);
  const newSlots = slots(`step >= ${f.committed} AND outcome NOT IN ('interrupted', 'running')`);
  db.close();
  const newSteps = invocations(f.box)
    .slice(before)
    .map((i) => Number((i.runKey ?? '').split(':')[1]));
  return { state: session.state, options: session.options_json, policy: session.policy, version, repeated, oldSlots, newSlots, newSteps };
}

describe('upgrade from release 0.1.0', () => {
  it('resumes a reference session killed half-way to the same artifacts as an uninterrupted one', async () => {
    const f = install('reference');
    const r = await resume(f);
    assert.equal(r.version, SCHEMA_VERSION);
    assert.equal(r.state, 'completed');
    assert.equal(r.policy, f.policy);
    assert.deepEqual(JSON.parse(r.options), JSON.parse(f.options));
    assert.deepEqual(r.repeated, [], 'a completed run was executed twice');
    assert.deepEqual([r.oldSlots, r.newSlots], [[null], [0]], 'old runs say no slot; the resumed ones ran on slot 0');
    assert.ok(r.newSteps.length > 0);
    assert.ok(r.newSteps.every((s) => s >= f.committed), `a step below ${f.committed} ran again: ${r.newSteps.join(',')}`);
    const runDir = onlyRunDir(f.box);
    for (const file of ['history.csv', 'best_config.yaml', 'op_config.json']) {
      assert.equal(readFileSync(join(runDir, file), 'utf8'), readFileSync(join(GOLDENS, 'demo', file), 'utf8'), file);
    }
  });

  it('resumes a noise-aware session killed half-way to the same artifacts as an uninterrupted one', async () => {
    const f = install('noise-aware');
    const r = await resume(f);
    assert.equal(r.version, SCHEMA_VERSION);
    assert.equal(r.state, 'completed');
    assert.equal(r.policy, 'noise-aware');
    assert.deepEqual(JSON.parse(r.options), JSON.parse(f.options));
    assert.deepEqual(r.repeated, []);
    assert.ok(r.newSteps.every((s) => s >= f.committed), `a step below ${f.committed} ran again: ${r.newSteps.join(',')}`);

    // The fixture's session: same arguments and seed, uninterrupted, under this release.
    const clean = sandbox('demo');
    const seed = (JSON.parse(f.options) as { seed: number }).seed;
    const c = await autotune(clean, [...BENCH_ARGS, '--quiet', '--policy', 'noise-aware', '--autotune-seed', String(seed)]);
    assert.equal(c.exitCode, 0, c.all);
    for (const file of ['history.csv', 'best_config.yaml', 'op_config.json']) {
      assert.equal(readFileSync(join(onlyRunDir(f.box), file), 'utf8'), readFileSync(join(onlyRunDir(clean), file), 'utf8'), file);
    }
    assert.ok(readdirSync(onlyRunDir(f.box)).length > 0);
  });
});
