/**
 * `export --format results-json|summary-csv` of an engine study on the simulator: the documents
 * validate against configs/results.schema.json, the summary has the sweep analyser's columns,
 * the per-GPU figures equal a hand computation from the stored metrics, and the engine's
 * memory lines are stored per run and exported.
 */
import assert from 'node:assert/strict';
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { autotune, onlyRunDir, sandbox, type Sandbox } from '../support/cli.js';
import { resultsValidator } from '../support/results-schema.js';

const STUDY = ['--model', 'openai/gpt-oss-120b', '--dataset-name', 'random', '--input-len', '512', '--output-len', '128', '--autotune-axis', 'tp=1,2', '--autotune-axis', 'mns=256,512', '--num-runs', '2', '--quiet'];

interface StoredRun {
  id: number;
  trial_key: string;
  kind: string;
  outcome: string;
}

describe('export --format on an engine study', () => {
  let box: Sandbox;
  let sessionId: string;
  /** Stored metrics of each trial's measured runs, straight from the database. */
  const measured = new Map<string, Record<string, number>[]>();

  before(async () => {
    box = sandbox('engine-moe');
    const r = await autotune(box, STUDY);
    assert.equal(r.exitCode, 0, r.all);
    const runDir = onlyRunDir(box);
    sessionId = (JSON.parse(readFileSync(join(runDir, 'autotune_session.json'), 'utf8')) as { session: string }).session;
    const db = new Database(join(box.dir, 'autotune_logs', 'autotune.db'), { readonly: true });
    for (const run of db.prepare(`SELECT id, trial_key, kind, outcome FROM runs ORDER BY seq`).all() as StoredRun[]) {
      if (run.kind !== 'measure' || run.outcome !== 'ok') continue;
      const rows = db.prepare('SELECT name, value FROM run_metrics WHERE run_id = ?').all(run.id) as { name: string; value: number }[];
      measured.set(run.trial_key, [...(measured.get(run.trial_key) ?? []), Object.fromEntries(rows.map((m) => [m.name, m.value]))]);
    }
    db.close();
  });
  after(() => rmSync(box.dir, { recursive: true, force: true }));

  const mean = (key: string, name: string): number => {
    const values = (measured.get(key) ?? []).map((m) => m[name]).filter((v): v is number => v !== undefined);
    assert.ok(values.length > 0, `${key} has stored ${name}`);
    return values.reduce((s, v) => s + v, 0) / values.length;
  };

  it('stores the memory lines of every measured run; export --json has them', async () => {
    assert.equal(measured.size, 4);
    const r = await autotune(box, ['export', sessionId, '--json', '-']);
    assert.equal(r.exitCode, 0, r.all);
    const doc = JSON.parse(r.stdout) as { runs: { trial: string; kind: string; metrics: Record<string, number> }[] };
    const tp2 = doc.runs.find((x) => x.trial === 'engine:max-num-seqs=256,tensor-parallel-size=2' && x.kind === 'measure');
    // engine-moe at tp=2: the lines test/simulator/engine.test.ts checks in the log.
    assert.equal(tp2?.metrics['model_memory_gib'], 30.4);
    assert.equal(tp2?.metrics['kv_cache_gib'], 38.67);
    assert.equal(tp2?.metrics['kv_cache_tokens'], 1126368);
    assert.equal(tp2?.metrics['max_concurrency'], 34.37);
    assert.equal(tp2?.metrics['cuda_graph_memory_gib'], 0.81);
    assert.ok((tp2?.metrics['cuda_graph_capture_s'] ?? 0) >= 1);
    const tp1 = doc.runs.find((x) => x.trial === 'engine:max-num-seqs=256' && x.kind === 'measure');
    assert.equal(tp1?.metrics['model_memory_gib'], 60.8, 'the weights of one GPU at tp=1 are twice those at tp=2');
  });

  it('results-json: one document per point, valid against the schema, figures from the database', async () => {
    const out = join(box.dir, 'results.json');
    const r = await autotune(box, ['export', sessionId, '--format', 'results-json', '--out', out]);
    assert.equal(r.exitCode, 0, r.all);
    const docs = JSON.parse(readFileSync(out, 'utf8')) as unknown;
    assert.equal(resultsValidator()(docs), null);
    const list = docs as { point: { key: string }; parallelism: { tp: number; gpus: number }; model: string; dataset: string; tool: { version: string }; metrics: Record<string, { value: number; unit: string; higher_is_better: boolean }> }[];
    assert.deepEqual(list.map((d) => d.point.key).sort(), [...measured.keys()].sort());
    for (const d of list) {
      assert.equal(d.model, 'openai/gpt-oss-120b');
      assert.equal(d.dataset, 'random');
      assert.equal(d.tool.version, '0.1.0');
      const key = d.point.key;
      assert.equal(d.parallelism.tp, key.includes('tensor-parallel-size=2') ? 2 : 1);
      assert.equal(d.metrics['output_tokens_per_s']?.value, mean(key, 'output_tokens_per_s'));
      assert.equal(d.metrics['kv_cache_tokens']?.value, mean(key, 'kv_cache_tokens'));
      assert.deepEqual(d.metrics['model_memory_gib'] && { unit: d.metrics['model_memory_gib'].unit, better: d.metrics['model_memory_gib'].higher_is_better }, { unit: 'GiB', better: false });
      assert.equal(d.metrics['output_tps_per_gpu']?.value, mean(key, 'output_tokens_per_s') / d.parallelism.gpus);
    }
  });

  it('summary-csv: the analyser columns exactly, per-GPU figures by hand from the stored metrics', async () => {
    const r = await autotune(box, ['export', sessionId, '--format', 'summary-csv']);
    assert.equal(r.exitCode, 0, r.all);
    const lines = r.stdout.split('\r\n').filter((l) => l !== '');
    assert.equal(lines[0], 'experiment,model,tp,pp,dp,mns,mnbt,gmu,bs,kvc,spec,quant,output_tps_per_gpu,gpu_days_to_process_1b_tokens,gpus_for_1b_tokens_per_hour');
    assert.equal(lines.length, 1 + measured.size);
    const rows = lines.slice(1).map((l) => l.split(','));
    for (const [tp, mns] of [['1', '256'], ['2', '256'], ['1', '512'], ['2', '512']] as const) {
      const row = rows.find((x) => x[2] === tp && x[5] === mns);
      assert.ok(row !== undefined, `a row for tp=${tp} mns=${mns}`);
      assert.deepEqual(row.slice(0, 12), ['0', 'gpt-oss-120b', tp, '1', '1', mns, '', '', '', '', '', '']);
      const key = tp === '1' ? `engine:max-num-seqs=${mns}` : `engine:max-num-seqs=${mns},tensor-parallel-size=2`;
      const perGpu = mean(key, 'output_tokens_per_s') / Number(tp);
      assert.equal(Number(row[12]), perGpu);
      assert.equal(Number(row[13]), 1e9 / perGpu / 86400);
      assert.equal(Number(row[14]), 1e9 / 3600 / perGpu);
    }
  });

  it('an unknown format and --out without --format are usage errors', async () => {
    const bad = await autotune(box, ['export', sessionId, '--format', 'xml']);
    assert.equal(bad.exitCode, 2, bad.all);
    assert.match(bad.all, /--format takes results-json or summary-csv, not 'xml'/);
    const out = await autotune(box, ['export', sessionId, '--out', 'x.json']);
    assert.equal(out.exitCode, 2, out.all);
  });
});

describe('export --format on a latency sweep', () => {
  it('documents each grid point with its workload and the latency benchmark; per-GPU figures on -tp 2', async () => {
    const box = sandbox('typical');
    try {
      const r = await autotune(box, ['sweep', 'latency', '--batch-sizes', '1,8', '--input-lens', '128', '--output-lens', '64', '--model', 'Qwen/Qwen3-8B', '--num-iters', '3', '-tp', '2', '--quiet']);
      assert.equal(r.exitCode, 0, r.all);
      const runDir = onlyRunDir(box);
      const json = await autotune(box, ['export', runDir, '--format', 'results-json']);
      assert.equal(json.exitCode, 0, json.all);
      const docs = JSON.parse(json.stdout) as unknown;
      assert.equal(resultsValidator()(docs), null);
      const list = docs as { point: { key: string; stage: string }; command: { benchmark: string; workload: Record<string, number> | null }; parallelism: { gpus: number }; metrics: Record<string, { value: number }> }[];
      assert.deepEqual(list.map((d) => [d.point.key, d.command.benchmark, d.command.workload?.['batch_size']]), [['latency:b1-i128-o64', 'latency', 1], ['latency:b8-i128-o64', 'latency', 8]]);
      for (const d of list) {
        assert.equal(d.parallelism.gpus, 2);
        assert.equal(d.metrics['output_tps_per_gpu']?.value, (d.metrics['output_tokens_per_s']?.value ?? 0) / 2);
        assert.equal(typeof d.metrics['kv_cache_tokens']?.value, 'number');
      }
      const csv = await autotune(box, ['export', runDir, '--format', 'summary-csv']);
      assert.deepEqual(csv.stdout.split('\r\n').slice(1, 3).map((l) => l.split(',').slice(0, 5).join(',')), ['b1-i128-o64,Qwen3-8B,2,1,1', 'b8-i128-o64,Qwen3-8B,2,1,1']);
    } finally {
      rmSync(box.dir, { recursive: true, force: true });
    }
  });
});
