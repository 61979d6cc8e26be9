/**
 * Engine studies through the built CLI on the simulator's engine scenarios, whose optimum is
 * known exactly: a 2-tier job finds it (or a point within noise of it) in fewer invocations
 * than the full grid, rejects invalid points and prunes those past a memory ceiling without
 * running them; a SIGKILL mid-tier and `autotune resume` lose and repeat nothing.
 */
import assert from 'node:assert/strict';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { execa } from 'execa';
import { engineOptimum, engineTruth, type GridPoint } from '../../simulator/engine.js';
import { loadScenario } from '../../simulator/scenario.js';
import { autotune, CLI, committedSessionId, invocations, onlyRunDir, ROOT, sandbox, type Invocation, type Sandbox } from '../support/cli.js';
import { engineModel } from '../support/engine-model.js';

const boxes: Sandbox[] = [];
after(() => {
  for (const box of boxes) rmSync(box.dir, { recursive: true, force: true });
});

const NGRAM = '{"method": "ngram", "num_speculative_tokens": 6}';
const SUFFIX = '{"method": "suffix", "num_speculative_tokens": 32}';
/** The session may use 4 GPUs: tp=8 is rejected, and tp=3 divides none of the scenarios' heads. */
const TP = [1, 2, 3, 4, 8];
const SEQS = [128, 256, 512, 1024, 2048];
const TOKENS = [4096, 8192, 16384, 32768, 65536];
const SPEC = [null, NGRAM, SUFFIX];
const GMU = [0.9, 0.95];
const NUM_RUNS = 2;
/** Invocations of the full grid, tier by tier (the cheaper of the two exhaustive sweeps). */
const FULL_GRID = (TP.length * SEQS.length * TOKENS.length + SPEC.length * GMU.length) * NUM_RUNS;

function jobFile(box: Sandbox, scenario: string): string {
  const model = engineModel(box, scenario).dir;
  const list = (values: readonly unknown[]): string => `[${values.map((v) => (typeof v === 'string' ? `'${v}'` : String(v))).join(', ')}]`;
  const file = join(box.dir, 'engine.yaml');
  writeFileSync(
    file,
    [
      'version: 1',
      'bench: throughput',
      'args:',
      `  model: ${model}`,
      '  dataset-name: random',
      `num_runs: ${NUM_RUNS}`,
      'objective:',
      '  metric: output_tokens_per_s',
      'engine:',
      '  gpus: 4',
      '  tiers:',
      '    - name: batching',
      '      axes:',
      `        tensor-parallel-size: ${list(TP)}`,
      `        max-num-seqs: ${list(SEQS)}`,
      `        max-num-batched-tokens: ${list(TOKENS)}`,
      '    - name: speculative',
      '      axes:',
      `        speculative-config: ${list(SPEC)}`,
      `        gpu-memory-utilization: ${list(GMU)}`,
      '',
    ].join('\n'),
  );
  return file;
}

/** `--max-num-seqs 512 --tensor-parallel-size 2` as a grid point. */
function pointOf(args: readonly string[]): GridPoint {
  const point: Record<string, string | number> = {};
  for (let i = 0; i < args.length; i += 2) {
    const value = args[i + 1] ?? '';
    point[(args[i] ?? '').slice(2)] = /^\d+(\.\d+)?$/.test(value) ? Number(value) : value;
  }
  return point;
}

function winningArgs(stdout: string): string[] {
  const line = /^Winning engine arguments: (.*)$/m.exec(stdout)?.[1] ?? assert.fail(`no winning arguments in\n${stdout}`);
  // Arguments are `--name value` pairs; a speculative config is one JSON word with spaces.
  return [...line.matchAll(/(--[\w-]+) (\{[^}]*\}|\S+)/g)].flatMap((m) => [m[1] ?? '', m[2] ?? '']);
}

function argvValue(run: Invocation, flag: string): string | null {
  const argv = run.argv ?? [];
  const i = argv.indexOf(flag);
  return i === -1 ? null : (argv[i + 1] ?? null);
}

interface Stored {
  readonly runs: { trial_key: string; kind: string; step: number; outcome: string }[];
  readonly decisions: { subject: string; verdict: string; reason: string }[];
}

function stored(box: Sandbox): Stored {
  const db = new Database(join(box.dir, 'autotune_logs', 'autotune.db'), { readonly: true });
  try {
    return {
      runs: db.prepare('SELECT trial_key, kind, step, outcome FROM runs ORDER BY seq').all() as Stored['runs'],
      decisions: db.prepare('SELECT subject, verdict, reason FROM decisions ORDER BY rowid').all() as Stored['decisions'],
    };
  } finally {
    db.close();
  }
}

describe('engine studies on the simulator', () => {
  for (const scenario of ['engine-small-dense', 'engine-moe', 'engine-large-dense']) {
    it(`${scenario}: a 2-tier job finds the optimum within noise in fewer invocations than the full grid`, async (t) => {
      const box = sandbox(scenario);
      boxes.push(box);
      const r = await autotune(box, ['run', jobFile(box, scenario), '--quiet', '--no-progress']);
      assert.equal(r.exitCode, 0, r.all);

      const s = loadScenario(scenario);
      const truthAxes = { 'tensor-parallel-size': TP.filter((tp) => tp <= 4), 'max-num-seqs': SEQS, 'max-num-batched-tokens': TOKENS, 'speculative-config': SPEC, 'gpu-memory-utilization': GMU };
      const best = engineOptimum(s, truthAxes).best;
      const chosen = engineTruth(s, pointOf(winningArgs(r.stdout)));
      const regret = 1 - chosen.perGpu / best.perGpu;
      t.diagnostic(`${scenario}: chose ${JSON.stringify(chosen.point)}, regret ${(regret * 100).toFixed(2)}%, ${invocations(box).length} invocations (full grid ${FULL_GRID})`);
      assert.ok(regret <= 3 * s.noise.cv, `${scenario}: chose ${JSON.stringify(chosen.point)} at ${chosen.perGpu.toFixed(0)}/GPU, the optimum ${JSON.stringify(best.point)} at ${best.perGpu.toFixed(0)} (regret ${(regret * 100).toFixed(2)}%)`);

      const runs = invocations(box);
      assert.ok(runs.length < FULL_GRID / 2, `${runs.length} invocations, the full grid ${FULL_GRID}`);
      for (const run of runs) {
        const tp = argvValue(run, '--tensor-parallel-size');
        assert.ok(tp !== '3' && tp !== '8', `an invalid point ran: ${run.argv?.join(' ')}`);
      }

      const { runs: rows, decisions } = stored(box);
      const ran = new Set(rows.map((row) => row.trial_key));
      const pruned = decisions.filter((d) => d.reason.startsWith('pruned without running'));
      for (const d of pruned) assert.ok(!ran.has(d.subject), `${d.subject} was pruned and still ran`);
      const rejected = decisions.filter((d) => d.reason.startsWith('rejected before running'));
      // The small model's walk stops at tp=2 (worse per GPU) and never reaches tp=3; the others walk past it.
      const walksPastTp2 = scenario !== 'engine-small-dense';
      if (walksPastTp2) assert.ok(rejected.some((d) => /tensor-parallel-size 3 does not divide the model's \d+ attention heads$/.test(d.reason)), JSON.stringify(rejected));
      // A point the simulator fails (out of memory, no room for the KV cache) runs once: no retry by default.
      const failedKeys = rows.filter((row) => row.outcome !== 'ok').map((row) => row.trial_key);
      assert.equal(new Set(failedKeys).size, failedKeys.length, `a failed point ran twice: ${failedKeys.join(', ')}`);
      if (scenario === 'engine-large-dense') {
        // tp=1 cannot hold one 40,960-token request: the default runs at tp=2, and the tp=1 points past it are pruned.
        assert.match(r.stdout, /^Default configuration: mnbt=8192 mns=256 tp=2$/m);
        assert.ok(pruned.length >= 1, 'nothing was pruned past the tp=1 KV-cache ceiling');
        assert.ok(pruned.every((d) => !d.subject.includes('tensor-parallel-size=')), 'only tp=1 points are past the ceiling');
      }

      const status = await autotune(box, ['status']);
      assert.equal(status.exitCode, 0, status.all);
      assert.match(status.stdout, /^tier {6}(speculative|refine)$/m);
      assert.match(status.stdout, /^engine {4}\S.* \(\+\d+\.\d{2}% \[\+\d+\.\d{2}%, \+\d+\.\d{2}%\] per GPU over the default configuration\)$/m);
      if (walksPastTp2) assert.match(status.stdout, /^ {2}rejected (\S+ )*tp=3: tensor-parallel-size 3 does not divide the model's \d+ attention heads$/m);
      assert.match(status.stdout, new RegExp(`^skipped   ${pruned.length} pruned past a memory ceiling, ${rejected.length} rejected before running$`, 'm'));
      const recipe = readFileSync(join(onlyRunDir(box), 'serve_recipe.sh'), 'utf8');
      assert.ok(recipe.includes(winningArgs(r.stdout).slice(0, 2).join(' ')), recipe);
    });
  }
});

describe('the sweep-launcher example', () => {
  it('validates and runs unchanged on the simulator: every experiment point once per run, the best experiment wins', async () => {
    const box = sandbox('engine-moe');
    boxes.push(box);
    const file = join(ROOT, 'configs', 'examples', 'sweep-launcher.yaml');
    const validated = await autotune(box, ['validate', file]);
    assert.equal(validated.exitCode, 0, validated.all);
    const r = await autotune(box, ['run', file, '--no-progress']);
    assert.equal(r.exitCode, 0, r.all);
    assert.match(r.all ?? '', /sweep-launcher\.yaml: script steers the sweep launcher; autotune runs the benchmark itself/);
    // 3x3 + 3x4 + 2 points; the third experiment's first point is one of the second's: 22 configurations.
    const runs = invocations(box);
    assert.equal(runs.length, 22 * NUM_RUNS);
    for (const run of runs) {
      assert.equal(argvValue(run, '--gpu-memory-utilization'), '0.9', 'the fixed scalar reaches every run');
      assert.equal(argvValue(run, '--model'), 'openai/gpt-oss-120b');
    }
    const experiment3 = runs.filter((run) => argvValue(run, '--max-num-seqs') === '1024' && argvValue(run, '--tensor-parallel-size') === '2' && argvValue(run, '--max-num-batched-tokens') === '16384');
    assert.ok(experiment3.some((run) => argvValue(run, '--speculative-config') !== null), 'the experiment list value expands');
    // The winner is the best point over every experiment, by the ground truth within noise.
    const s = loadScenario('engine-moe');
    const points: GridPoint[] = [
      ...[8192, 16384, 32768].flatMap((t) => [256, 512, 1024].map((n) => ({ 'gpu-memory-utilization': 0.9, 'max-num-batched-tokens': t, 'max-num-seqs': n }))),
      ...[8192, 16384, 32768].flatMap((t) => [256, 512, 1024, 2048].map((n) => ({ 'gpu-memory-utilization': 0.9, 'tensor-parallel-size': 2, 'max-num-batched-tokens': t, 'max-num-seqs': n }))),
      { 'gpu-memory-utilization': 0.9, 'tensor-parallel-size': 2, 'max-num-seqs': 1024, 'max-num-batched-tokens': 16384, 'speculative-config': '{"method": "ngram", "num_speculative_tokens": 5}' },
    ];
    const best = Math.max(...points.map((p) => engineTruth(s, p).perGpu));
    const chosen = engineTruth(s, { ...pointOf(winningArgs(r.stdout)), 'gpu-memory-utilization': 0.9 }).perGpu;
    assert.ok(chosen >= best * (1 - 3 * s.noise.cv), `chose ${winningArgs(r.stdout).join(' ')} at ${chosen.toFixed(0)}/GPU, the best ${best.toFixed(0)}`);
    assert.match(readFileSync(join(onlyRunDir(box), 'serve_recipe.sh'), 'utf8'), /vllm serve openai\/gpt-oss-120b --gpu-memory-utilization 0\.9 .*--max-num-seqs \d+/);
  });
});


/** Starts the CLI and SIGKILLs it once `when` holds (checked every 10 ms); says whether it finished first. */
async function killWhen(box: Sandbox, args: readonly string[], when: () => boolean): Promise<boolean> {
  const child = execa(process.execPath, [CLI, ...args], { cwd: box.dir, env: box.env, extendEnv: false, reject: false, all: true });
  let exited = false;
  void child.then(() => {
    exited = true;
  });
  while (!exited && !when()) await sleep(10);
  if (!exited) child.kill('SIGKILL');
  const result = await child;
  return exited && result.exitCode === 0;
}

describe('engine study crash safety', () => {
  it('a SIGKILL in each tier, then resume: nothing lost, no completed point run again, the same answer', async () => {
    // Slow enough that a kill lands inside a tier, with runs in flight.
    const env = { VLLM_SIM_TIME_SCALE: '0.05' };
    const clean = sandbox('engine-large-dense', env);
    const box = sandbox('engine-large-dense', env);
    boxes.push(clean, box);
    const uninterrupted = await autotune(clean, ['run', jobFile(clean, 'engine-large-dense'), '--quiet', '--no-progress']);
    assert.equal(uninterrupted.exitCode, 0, uninterrupted.all);

    const job = jobFile(box, 'engine-large-dense');
    const inTier = (name: string, after: number) => (): boolean => {
      if (committedSessionId(box) === null) return false;
      const runs = stored(box).runs.filter((row) => row.outcome !== 'running' && row.outcome !== 'interrupted');
      const tierRuns = runs.filter((row) => (name === 'batching' ? !row.trial_key.includes('speculative') && !row.trial_key.includes('gpu-memory') : row.trial_key.includes('gpu-memory') || row.trial_key.includes('speculative')));
      return tierRuns.length >= after;
    };
    assert.equal(await killWhen(box, ['run', job, '--quiet', '--no-progress'], inTier('batching', 8)), false, 'the session finished before the kill in tier batching');
    const id = committedSessionId(box) ?? assert.fail('no session');
    const before = stored(box).runs.filter((row) => row.outcome !== 'running' && row.outcome !== 'interrupted');
    assert.equal(await killWhen(box, ['resume', id, '--quiet', '--no-progress'], inTier('speculative', 2)), false, 'the session finished before the kill in tier speculative');
    const resumed = await autotune(box, ['resume', id, '--quiet', '--no-progress']);
    assert.equal(resumed.exitCode, 0, resumed.all);

    const done = (b: Sandbox) => stored(b).runs.filter((row) => row.outcome !== 'running' && row.outcome !== 'interrupted');
    const after = done(box);
    // Every run completed before the first kill is still there, in its place.
    assert.deepEqual(after.slice(0, before.length), before);
    const repeated = after.filter((row, i) => after.findIndex((x) => x.step === row.step) !== i);
    assert.deepEqual(repeated, [], 'a completed run was executed twice');
    // The same runs, in the same order, with the same outcomes as the session nobody killed.
    assert.deepEqual(after.map((row) => [row.trial_key, row.kind, row.outcome]), done(clean).map((row) => [row.trial_key, row.kind, row.outcome]));
    assert.deepEqual(winningArgs(resumed.stdout), winningArgs(uninterrupted.stdout));
    const interrupted = stored(box).runs.filter((row) => row.outcome === 'interrupted').length;
    assert.ok(invocations(box).length <= invocations(clean).length + interrupted + 2, `${invocations(box).length} invocations vs ${invocations(clean).length} uninterrupted`);
    const cleanDir = onlyRunDir(clean);
    const dir = onlyRunDir(box);
    assert.equal(readFileSync(join(dir, 'history.csv'), 'utf8'), readFileSync(join(cleanDir, 'history.csv'), 'utf8'));
  });
});
