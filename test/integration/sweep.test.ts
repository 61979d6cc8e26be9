/**
 * `autotune sweep latency` on the simulator: every point measured once with the right
 * arguments, points over max-model-len skipped with the reason, figures stored as named
 * metrics (MFU by hand), and a SIGKILL mid-grid resumed without repeating a point.
 */
import assert from 'node:assert/strict';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { delimiter } from 'node:path';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { execa } from 'execa';
import { parseLatencyJson } from '../../src/runners/benchmarks/latency/parse.js';
import { latencyPointWork } from '../../src/tuner/mfu.js';
import { modelShapeFromConfig } from '../../src/tuner/model-config.js';
import { autotune, CLI, invocations, onlyRunDir, ROOT, sandbox, type Sandbox } from '../support/cli.js';

const CONFIG = join(ROOT, 'test', 'fixtures', 'models', 'qwen3-8b-gqa.json');
const GRID = ['sweep', 'latency', '--batch-sizes', '1,8', '--input-lens', '128,1024', '--output-lens', '64', '--model-config', CONFIG, '--gpu', 'h100-sxm'];
const VLLM = ['--model', 'Qwen/Qwen3-8B', '--max-model-len', '1050', '--num-iters', '3', '-tp', '2'];

function db(box: Sandbox): Database.Database {
  return new Database(join(box.dir, 'autotune_logs', 'autotune.db'), { readonly: true });
}

interface Row {
  trial_key: string;
  outcome: string;
  id: number;
  log_path: string;
}

describe('autotune sweep latency', () => {
  it('measures every point once, skips what exceeds max-model-len, and stores latency, tokens/s and MFU', async () => {
    const box = sandbox('typical');
    const r = await autotune(box, [...GRID, ...VLLM, '--quiet']);
    assert.equal(r.exitCode, 0, r.all);
    assert.match(r.all, /Skipped b1-i1024-o64: input 1024 \+ output 64 = 1088 exceeds max-model-len 1050 \(from --max-model-len\)/);
    assert.match(r.all, /Skipped b8-i1024-o64/);
    const runDir = onlyRunDir(box);
    const starts = invocations(box);
    assert.deepEqual(
      starts.map((i) => (i.argv ?? []).slice(0, -1).join(' ')),
      [1, 8].map((b) => `bench latency --model Qwen/Qwen3-8B --max-model-len 1050 -tp 2 --batch-size ${b} --input-len 128 --output-len 64 --num-iters-warmup 10 --num-iters 3 --output-json`),
    );
    const d = db(box);
    const runs = d.prepare(`SELECT id, trial_key, outcome, log_path FROM runs ORDER BY seq`).all() as Row[];
    assert.deepEqual(runs.map((x) => [x.trial_key, x.outcome]), [['latency:b1-i128-o64', 'ok'], ['latency:b8-i128-o64', 'ok']]);
    const shape = modelShapeFromConfig(JSON.parse(readFileSync(CONFIG, 'utf8')));
    for (const [i, run] of runs.entries()) {
      const metrics = Object.fromEntries((d.prepare('SELECT name, value FROM run_metrics WHERE run_id = ?').all(run.id) as { name: string; value: number }[]).map((m) => [m.name, m.value]));
      const jsonPath = starts[i]?.argv?.at(-1) ?? '';
      const json = parseLatencyJson(readFileSync(jsonPath, 'utf8'));
      assert.ok(json !== null);
      const batch = i === 0 ? 1 : 8;
      assert.equal(metrics['latency_avg_s'], json.avgS);
      assert.equal(metrics['latency_p90_s'], json.percentilesS[90]);
      assert.equal(metrics['output_tokens_per_s'], (batch * 64) / json.avgS);
      const flops = latencyPointWork(shape, { batchSize: batch, inputLen: 128, outputLen: 64 }).flops;
      assert.ok(Math.abs((metrics['mfu'] ?? 0) - flops / json.avgS / (989.5e12 * 2)) < 1e-12, `mfu ${metrics['mfu']}`);
    }
    d.close();
    assert.match(r.all, /b8-i128-o64 +\d+\.\d{4} /);
    const exported = await autotune(box, ['export', '--json', '-', onlyRunDir(box)]);
    assert.equal(exported.exitCode, 0, exported.all);
    const doc = JSON.parse(exported.all ?? '') as { runs: { metrics: Record<string, number> }[] };
    assert.equal(typeof doc.runs[1]?.metrics['latency_p99_s'], 'number');
    const status = await autotune(box, ['status']);
    assert.equal(status.exitCode, 0, status.all);
    assert.match(status.all ?? '', /trial 2 of ~2/);
    assert.match(status.all ?? '', /runs +2 of ~2 done/);
    assert.match(status.all ?? '', /^b8-i128-o64 +\d+\.\d{4} .*%$/m);
    // The sweep's artifact is its results table; it chooses no operators, so no FlagGems files.
    const csv = readFileSync(join(runDir, 'sweep.csv'), 'utf8');
    const lines = csv.split('\r\n');
    assert.deepEqual(lines[0]?.split(','), [
      'point', 'configuration', 'batch_size', 'input_len', 'output_len', 'num_iters_warmup', 'num_iters', 'flops', 'peak_flops', 'outcome',
      'total_tokens_per_s', 'output_tokens_per_s', 'latency_avg_s', 'latency_p50_s', 'latency_p90_s', 'latency_p99_s', 'mfu',
      'model_memory_gib', 'kv_cache_gib', 'kv_cache_tokens', 'max_concurrency', 'cuda_graph_capture_s', 'cuda_graph_memory_gib',
    ]);
    assert.deepEqual(lines.slice(1).map((l) => l.split(',').slice(0, 5).join(',')), ['b1-i128-o64,default,1,128,64', 'b8-i128-o64,default,8,128,64', '']);
    const d2 = db(box);
    const mfu = (d2.prepare(`SELECT value FROM run_metrics WHERE name = 'mfu' ORDER BY run_id`).all() as { value: number }[]).map((x) => x.value);
    d2.close();
    const mfuColumn = lines[0]?.split(',').indexOf('mfu') ?? -1;
    assert.deepEqual(lines.slice(1, 3).map((l) => Number(l.split(',')[mfuColumn])), mfu);
    for (const name of ['history.csv', 'best_config.yaml', 'best_config_temp.yaml', 'op_config.json', 'serve_recipe.sh', 'serve_recipe.json']) {
      assert.equal(existsSync(join(runDir, name)), false, `${name} written for a sweep`);
    }
    assert.doesNotMatch(r.all ?? '', /best_config\.yaml|Serve the chosen/);
    const exportedCsv = await autotune(box, ['export', runDir]);
    assert.equal(exportedCsv.stdout, csv);
    const regenerated = await autotune(box, ['export', runDir, '--artifacts']);
    assert.equal(regenerated.exitCode, 0, regenerated.all);
    assert.equal(readFileSync(join(runDir, 'sweep.csv'), 'utf8'), csv);
    assert.equal(existsSync(join(runDir, 'best_config_temp.yaml')), false);
  });

  it('measures each point once per engine configuration and operator set, side by side', async () => {
    const box = sandbox('typical');
    const opSet = join(box.dir, 'best.yaml');
    writeFileSync(opSet, 'op_backends:\n  rms_norm: [flagos]\n');
    const r = await autotune(box, [
      'sweep', 'latency', '--batch-sizes', '1,4', '--input-lens', '64', '--output-lens', '16', '--model', 'm', '--num-iters', '2', '--quiet',
      '--engine', 'eager=--enforce-eager', '--engine', 'seqs=--max-num-seqs 8', '--op-set', `tuned=${opSet}`,
    ]);
    assert.equal(r.exitCode, 0, r.all);
    const seen = invocations(box).map((i) => ({ key: (i.runKey ?? '').split(':').slice(3).join(':'), argv: (i.argv ?? []).join(' '), env: i.env ?? {}, config: i.config }));
    assert.deepEqual(seen.map((s) => s.key), ['latency:b1-i64-o16:eager@tuned', 'latency:b1-i64-o16:seqs@tuned', 'latency:b4-i64-o16:eager@tuned', 'latency:b4-i64-o16:seqs@tuned']);
    assert.match(seen[0]?.argv ?? '', /^bench latency --model m --enforce-eager --batch-size 1 --input-len 64 --output-len 16 /);
    assert.match(seen[1]?.argv ?? '', /--max-num-seqs 8 --batch-size 1 /);
    for (const s of seen) {
      assert.equal(s.env['USE_FLAGGEMS'], '1');
      assert.deepEqual(s.config, { op_backends: { rms_norm: ['flagos'] } });
    }
    assert.match(r.all, /b4-i64-o16 \(seqs, tuned\) +\d/);
  });

  it('resumes a grid killed with SIGKILL mid-way without measuring a finished point again', async () => {
    const box = sandbox('typical', { VLLM_SIM_TIME_SCALE: '0.2' });
    const args = ['sweep', 'latency', '--batch-sizes', '1,2,4,8', '--input-lens', '128', '--output-lens', '32,64', '--model', 'm', '--num-iters', '2', '--quiet'];
    const child = execa(process.execPath, [CLI, ...args], { cwd: box.dir, env: box.env, extendEnv: false, reject: false });
    const completed = (): number => {
      if (!existsSync(join(box.dir, 'autotune_logs', 'autotune.db'))) return 0;
      try {
        const d = db(box);
        try {
          return (d.prepare(`SELECT COUNT(*) AS n FROM runs WHERE outcome = 'ok'`).get() as { n: number }).n;
        } finally {
          d.close();
        }
      } catch {
        return 0;
      }
    };
    while (completed() < 3) await sleep(20);
    child.kill('SIGKILL');
    await child;
    const d = db(box);
    const id = (d.prepare('SELECT id FROM sessions').get() as { id: string }).id;
    const before = (d.prepare(`SELECT trial_key FROM runs WHERE outcome = 'ok'`).all() as { trial_key: string }[]).map((x) => x.trial_key);
    d.close();
    assert.ok(before.length >= 3 && before.length < 8, `killed after ${before.length} points`);
    const seen = invocations(box).length;

    const r = await autotune(box, ['resume', id, '--quiet'], { VLLM_SIM_TIME_SCALE: '0' });
    assert.equal(r.exitCode, 0, r.all);
    const after = db(box);
    const ok = (after.prepare(`SELECT trial_key FROM runs WHERE outcome = 'ok' ORDER BY seq`).all() as { trial_key: string }[]).map((x) => x.trial_key);
    const state = (after.prepare('SELECT state FROM sessions').get() as { state: string }).state;
    after.close();
    assert.equal(state, 'completed');
    assert.equal(ok.length, 8);
    assert.equal(new Set(ok).size, 8, 'a point was measured twice');
    const resumedKeys = invocations(box).slice(seen).map((i) => (i.runKey ?? '').split(':').slice(3).join(':'));
    for (const key of before) assert.equal(resumedKeys.includes(key), false, `${key} ran again after the resume`);
  });
});

/**
 * An independent stand-in of `vllm bench latency` (not the simulator): it logs its argv and
 * answers every invocation with a recorded real run, console and --output-json alike.
 */
function standIn(box: Sandbox): { env: Record<string, string>; calls: () => string[][] } {
  const bin = join(box.dir, 'standin-bin');
  mkdirSync(bin);
  const calls = join(box.dir, 'standin-calls.jsonl');
  const logs = join(ROOT, 'test', 'fixtures', 'logs');
  writeFileSync(
    join(bin, 'vllm'),
    `#!${process.execPath}
const fs = require('node:fs');
const argv = process.argv.slice(2);
fs.appendFileSync(${JSON.stringify(calls)}, JSON.stringify(argv) + '\\n');
if (argv[0] !== 'bench' || argv[1] !== 'latency') process.exit(2);
const out = argv[argv.indexOf('--output-json') + 1];
if (out !== undefined) fs.copyFileSync(${JSON.stringify(join(logs, 'latency-success.json'))}, out);
process.stdout.write(fs.readFileSync(${JSON.stringify(join(logs, 'latency-success.log'))}));
`,
  );
  chmodSync(join(bin, 'vllm'), 0o755);
  const read = (): string[][] =>
    existsSync(calls) ? readFileSync(calls, 'utf8').split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as string[]) : [];
  return { env: { PATH: `${bin}${delimiter}${box.env['PATH'] ?? ''}` }, calls: read };
}

/** avg_latency of test/fixtures/logs/latency-success.json, which the stand-in reports for every point. */
const AVG = 0.8407465747953392;

describe('autotune sweep latency on an independent stand-in of vllm bench latency', () => {
  const fixture = (name: string): string => join(ROOT, 'test', 'fixtures', 'models', name);

  it('measures every point once per configuration with the right arguments, and parses its figures exactly', async () => {
    const box = sandbox('typical');
    const vllm = standIn(box);
    const r = await autotune(
      box,
      ['sweep', 'latency', '--batch-sizes', '1,8', '--input-lens', '1024', '--output-lens', '128', '--model', 'Qwen/Qwen3-8B', '--num-iters', '5', '--num-iters-warmup', '3', '--engine', 'eager=--enforce-eager', '--engine', 'graphs=-O3', '--quiet'],
      vllm.env,
    );
    assert.equal(r.exitCode, 0, r.all);
    const calls = vllm.calls();
    assert.deepEqual(
      calls.map((argv) => argv.slice(0, -1).join(' ')),
      [1, 8].flatMap((b) =>
        ['--enforce-eager', '-O3'].map((engine) => `bench latency --model Qwen/Qwen3-8B ${engine} --batch-size ${b} --input-len 1024 --output-len 128 --num-iters-warmup 3 --num-iters 5 --output-json`),
      ),
    );
    const d = db(box);
    const rows = d.prepare(`SELECT r.trial_key AS trial, m.name AS name, m.value AS value FROM runs r JOIN run_metrics m ON m.run_id = r.id ORDER BY r.seq, m.name`).all() as { trial: string; name: string; value: number }[];
    d.close();
    const byTrial = new Map<string, Record<string, number>>();
    for (const row of rows) byTrial.set(row.trial, { ...byTrial.get(row.trial), [row.name]: row.value });
    assert.deepEqual([...byTrial.keys()], ['latency:b1-i1024-o128:eager', 'latency:b1-i1024-o128:graphs', 'latency:b8-i1024-o128:eager', 'latency:b8-i1024-o128:graphs']);
    for (const [trial, m] of byTrial) {
      const batch = trial.includes(':b8-') ? 8 : 1;
      assert.deepEqual(m, {
        latency_avg_s: AVG,
        latency_p50_s: 0.8405650830245577,
        latency_p90_s: 0.842359674602747,
        latency_p99_s: 0.8430498543635011,
        output_tokens_per_s: (batch * 128) / AVG,
        total_tokens_per_s: (batch * (1024 + 128)) / AVG,
        // The fixture log's start-up lines, as vLLM printed them.
        model_memory_gib: 15.27,
        kv_cache_gib: 104.53,
        kv_cache_tokens: 761248,
      });
    }
  });

  // FLOPs of the point B = 8, I = 1024, O = 128 as computed by hand in test/tuner/mfu.test.ts.
  const HAND: ReadonlyArray<{ config: string; flops: number; vllm: string[]; peak: number }> = [
    { config: 'llama-2-7b-mha.json', flops: 8 * 15_288_909_168_640, vllm: [], peak: 989.5e12 },
    { config: 'qwen3-8b-gqa.json', flops: 132_316_097_675_264, vllm: ['-tp', '2'], peak: 2 * 989.5e12 },
    { config: 'qwen3-30b-a3b-moe.json', flops: 55_093_089_009_664, vllm: [], peak: 989.5e12 },
  ];
  for (const c of HAND) {
    it(`stores MFU equal to the hand computation for ${c.config}`, async () => {
      const box = sandbox('typical');
      const vllm = standIn(box);
      const r = await autotune(
        box,
        ['sweep', 'latency', '--batch-sizes', '8', '--input-lens', '1024', '--output-lens', '128', '--model-config', fixture(c.config), '--gpu', 'h100-sxm', '--model', 'm', ...c.vllm, '--quiet'],
        vllm.env,
      );
      assert.equal(r.exitCode, 0, r.all);
      assert.equal(vllm.calls().length, 1);
      const d = db(box);
      const mfu = (d.prepare(`SELECT value FROM run_metrics WHERE name = 'mfu'`).get() as { value: number }).value;
      d.close();
      const expected = c.flops / AVG / c.peak;
      assert.ok(Math.abs(mfu - expected) < 1e-12 * expected, `mfu ${mfu}, by hand ${expected}`);
    });
  }
});
