/**
 * `autotune resume ID --retry-failures CLASSES` on a finished engine study, through the built
 * CLI on the simulator: a point that timed out once (VLLM_SIM_FLAKY) runs again in a new
 * session, every other run is reused without running, and the answer, status and recipe are
 * the new session's.
 */
import assert from 'node:assert/strict';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { engineOptimum } from '../../simulator/engine.js';
import { loadScenario } from '../../simulator/scenario.js';
import { autotune, invocations, sandbox, type Sandbox } from '../support/cli.js';
import { engineModel } from '../support/engine-model.js';

const boxes: Sandbox[] = [];
after(() => {
  for (const box of boxes) rmSync(box.dir, { recursive: true, force: true });
});

const SCENARIO = 'engine-small-dense';
const SEQS = [256, 512, 1024];
const TOKENS = [8192, 16384];

function jobFile(box: Sandbox): string {
  const model = engineModel(box, SCENARIO).dir;
  const file = join(box.dir, 'engine.yaml');
  writeFileSync(
    file,
    [
      'version: 1',
      'bench: throughput',
      'args:',
      `  model: ${model}`,
      '  dataset-name: random',
      'num_runs: 2',
      'objective:',
      '  metric: output_tokens_per_s',
      'engine:',
      '  gpus: 1',
      '  search: grid',
      '  tiers:',
      '    - name: batching',
      '      axes:',
      `        max-num-seqs: [${SEQS.join(', ')}]`,
      `        max-num-batched-tokens: [${TOKENS.join(', ')}]`,
      '',
    ].join('\n'),
  );
  return file;
}

interface Row {
  readonly session_id: string;
  readonly trial_key: string;
  readonly kind: string;
  readonly outcome: string;
  readonly reused_from: number | null;
}

function rows(box: Sandbox): { runs: Row[]; sessions: string[] } {
  const db = new Database(join(box.dir, 'autotune_logs', 'autotune.db'), { readonly: true });
  try {
    return {
      runs: db.prepare('SELECT session_id, trial_key, kind, outcome, reused_from FROM runs ORDER BY session_id, seq').all() as Row[],
      sessions: (db.prepare('SELECT id FROM sessions ORDER BY created_at, id').all() as { id: string }[]).map((r) => r.id),
    };
  } finally {
    db.close();
  }
}

describe('resume --retry-failures on a finished engine study', () => {
  it('re-runs only the points that failed with those classes, reuses every other run, and answers with them all', async () => {
    const best = engineOptimum(loadScenario(SCENARIO), { 'max-num-seqs': SEQS, 'max-num-batched-tokens': TOKENS }).best.point;
    const flaky = `max-num-seqs=${String(best['max-num-seqs'])},max-num-batched-tokens=${String(best['max-num-batched-tokens'])}`;
    const box = sandbox(SCENARIO, { VLLM_SIM_FLAKY: flaky });
    boxes.push(box);
    const bestArgs = `--max-num-batched-tokens ${String(best['max-num-batched-tokens'])} --max-num-seqs ${String(best['max-num-seqs'])}`;

    const first = await autotune(box, ['run', jobFile(box), '--timeout', '1', '--quiet', '--no-progress']);
    assert.equal(first.exitCode, 0, first.all);
    const [parent] = rows(box).sessions;
    assert.ok(parent !== undefined);
    const failedKey = `engine:max-num-batched-tokens=${String(best['max-num-batched-tokens'])},max-num-seqs=${String(best['max-num-seqs'])}`;
    const parentRuns = rows(box).runs;
    assert.deepEqual(parentRuns.filter((r) => r.outcome !== 'ok').map((r) => [r.trial_key, r.outcome]), [[failedKey, 'timeout']], 'the best point timed out once, and no retry by default');
    assert.ok(!(first.stdout.match(/^Winning engine arguments: (.*)$/m)?.[1] ?? '').includes(bestArgs), 'the first session could not choose the point that timed out');

    // A finished session is not resumed as it is; a class it never failed with leaves nothing to retry.
    const plain = await autotune(box, ['resume', parent]);
    assert.equal(plain.exitCode, 1, plain.all);
    assert.match(plain.all ?? '', /already completed/);
    const none = await autotune(box, ['resume', parent, '--retry-failures', 'oom']);
    assert.equal(none.exitCode, 0, none.all);
    assert.match(none.stdout, /has no oom failure to retry/);
    assert.equal(rows(box).sessions.length, 1, 'no session was created for nothing');

    const before = invocations(box).length;
    const retried = await autotune(box, ['resume', parent, '--retry-failures', 'timeout', '--quiet', '--no-progress']);
    assert.equal(retried.exitCode, 0, retried.all);
    assert.match(retried.stdout, new RegExp(`retries the timeout failures of session ${parent} \\(1 of its runs run again, ${parentRuns.length - 1} are reused without running\\)`));
    // Only the retried point ran: its warm-up and its measurement.
    const ran = invocations(box).slice(before);
    assert.equal(ran.length, 2, JSON.stringify(ran.map((r) => r.argv)));
    assert.match(retried.stdout, new RegExp(`^Of this study's runs, ${parentRuns.length - 1} were reused from session ${parent} without running; 2 ran in this session$`, 'm'));
    for (const r of ran) assert.ok((r.argv ?? []).join(' ').includes(bestArgs.split(' ').slice(0, 2).join(' ')), (r.argv ?? []).join(' '));

    const { runs, sessions } = rows(box);
    const child = sessions.find((s) => s !== parent) ?? assert.fail('no new session');
    const childRuns = runs.filter((r) => r.session_id === child);
    assert.equal(childRuns.filter((r) => r.reused_from !== null).length, parentRuns.length - 1, 'every other run is reused');
    assert.deepEqual(childRuns.filter((r) => r.reused_from === null).map((r) => [r.trial_key, r.kind, r.outcome]), [[failedKey, 'warmup', 'ok'], [failedKey, 'measure', 'ok']]);
    assert.equal(childRuns.filter((r) => r.outcome !== 'ok').length, 0);
    assert.match(retried.stdout, new RegExp(`^Winning engine arguments: ${bestArgs}$`, 'm'), retried.stdout);

    // The new session is the latest: status and its recipe give the retried answer.
    const status = await autotune(box, ['status']);
    assert.equal(status.exitCode, 0, status.all);
    assert.match(status.stdout, new RegExp(child));
    const recipeDir = /run directory (\S+)$/m.exec(retried.stdout)?.[1] ?? assert.fail(retried.stdout);
    assert.ok(readFileSync(join(recipeDir, 'serve_recipe.sh'), 'utf8').includes(bestArgs));

    // Once everything has completed, a re-run of the same retry finds nothing left to do.
    const again = await autotune(box, ['resume', child, '--retry-failures', 'timeout']);
    assert.equal(again.exitCode, 0, again.all);
    assert.match(again.stdout, /has no timeout failure to retry/);
  });
});
