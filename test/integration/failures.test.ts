/** Failed benchmark runs are classified, recorded and survived; a missing vllm stops at once. */
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { autotune, BENCH_ARGS, onlyRunDir, sandbox } from '../support/cli.js';

describe('failure outcomes', () => {
  it('classifies OOM, hang, missing result, kernel fault and engine crash, and finishes the session', async () => {
    const box = sandbox('failures');
    const ops = 'softmax,cumsum,argmax,index_select,rotary_embedding,mul';
    const r = await autotune(box, [...BENCH_ARGS, '--ops', ops, '--policy', 'reference', '--num-runs', '1', '--timeout', '2', '--quiet']);
    assert.equal(r.exitCode, 0, r.all);
    const runDir = onlyRunDir(box);
    const db = new Database(join(box.dir, 'autotune_logs', 'autotune.db'), { readonly: true });
    const outcomes = Object.fromEntries(
      (db.prepare('SELECT trial_key, outcome, failure FROM runs').all() as { trial_key: string; outcome: string; failure: string | null }[]).map((row) => [
        row.trial_key,
        row,
      ]),
    );
    db.close();
    assert.equal(outcomes['op:softmax:flagos']?.outcome, 'oom');
    assert.match(outcomes['op:softmax:flagos']?.failure ?? '', /out of memory/i);
    assert.equal(outcomes['op:cumsum:flagos']?.outcome, 'timeout');
    assert.equal(outcomes['op:argmax:flagos']?.outcome, 'no_result');
    assert.equal(outcomes['op:index_select:flagos']?.outcome, 'engine_failure');
    assert.match(outcomes['op:index_select:flagos']?.failure ?? '', /illegal memory access/);
    assert.equal(outcomes['op:rotary_embedding:flagos']?.outcome, 'engine_failure');
    assert.equal(outcomes['op:rotary_embedding:vendor']?.outcome, 'ok');
    const csv = readFileSync(join(runDir, 'history.csv'), 'utf8');
    assert.match(csv, /\r\nsoftmax,flagos,,,\r\n/);
    assert.match(csv, /\r\ncumsum,flagos,,,\r\n/);
    assert.ok(existsSync(join(runDir, 'best_config.yaml')));
  });

  it('stops at once with one clear line when vllm is not on PATH, leaving no half-written file', async () => {
    const box = sandbox('typical', { PATH: '/usr/bin:/bin' });
    const r = await autotune(box, [...BENCH_ARGS, '--quiet']);
    assert.equal(r.exitCode, 127);
    const errors = r.stderr.trim().split('\n');
    assert.equal(errors.length, 1, r.stderr);
    assert.match(errors[0] ?? '', /^autotune: .*vllm.*not (found|on PATH)/);
    const runDir = onlyRunDir(box);
    assert.deepEqual(readdirSync(runDir).filter((f) => f.includes('.tmp')), []);
    const db = new Database(join(box.dir, 'autotune_logs', 'autotune.db'), { readonly: true });
    const session = db.prepare('SELECT state, error FROM sessions').get() as { state: string; error: string };
    const runs = db.prepare('SELECT outcome FROM runs').all() as { outcome: string }[];
    db.close();
    assert.equal(session.state, 'failed');
    assert.deepEqual(runs, [{ outcome: 'spawn_error' }]);
  });

  it('rejects a command line with no vllm arguments with exit 2 and creates nothing', async () => {
    const box = sandbox('typical');
    const r = await autotune(box, ['--ops', 'add', '--num-runs', '2']);
    assert.equal(r.exitCode, 2);
    assert.match(r.stderr, /^autotune: no `vllm bench throughput` arguments given/);
    assert.equal(existsSync(join(box.dir, 'autotune_logs')), false);
  });

  it('rejects a bad option value with one line and exit 2', async () => {
    const box = sandbox('typical');
    const r = await autotune(box, [...BENCH_ARGS, '--num-runs', 'abc']);
    assert.equal(r.exitCode, 2);
    assert.equal(r.stderr, 'autotune: Expected `--num-runs` to be an integer >= 1, got `abc`\n');
  });
});
