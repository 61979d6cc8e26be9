import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { engineTrial } from '../../src/tuner/spaces/engine.js';
import { formatSummaryCsv, resultDocuments, SUMMARY_COLUMNS, type PointRun, type ResultsDocumentInput } from '../../src/tuner/results-document.js';
import { resultsValidator } from '../support/results-schema.js';

const AT = '2026-12-02T10:00:00.000Z';
const run = (trialKey: string, kind: PointRun['kind'], metrics: Record<string, number> | null, outcome: PointRun['outcome'] = 'ok'): PointRun => ({ trialKey, kind, outcome, metrics, startedAt: AT });

const base = engineTrial({ 'max-num-seqs': 256 }, '0', null);
const tp2 = engineTrial({ 'max-num-seqs': 256, 'tensor-parallel-size': 2, 'speculative-config': '{"method": "ngram", "num_speculative_tokens": 5}' }, '1', base.key);
const oom = engineTrial({ 'max-num-seqs': 4096 }, '0', base.key);
const never = engineTrial({ 'max-num-seqs': 8192 }, '0', base.key);

const INPUT: ResultsDocumentInput = {
  tool: { name: 'autotune', version: '9.9.9' },
  session: { id: 's1', policy: 'tiers', model: 'Qwen/Qwen3-8B', args: ['--model', 'Qwen/Qwen3-8B', '--dataset-name', 'random', '--gpu-memory-utilization', '0.9'], vllmBin: 'vllm' },
  slotDevices: null,
  trials: [base, tp2, oom, never],
  runs: [
    run(base.key, 'warmup', { output_tokens_per_s: 1 }),
    run(base.key, 'measure', { output_tokens_per_s: 3000, model_memory_gib: 15.27 }),
    run(base.key, 'measure', { output_tokens_per_s: 3200, model_memory_gib: 15.27, kv_cache_tokens: 761248 }),
    run(tp2.key, 'warmup', { output_tokens_per_s: 5000 }),
    run(oom.key, 'measure', null, 'oom'),
  ],
};

describe('result documents', () => {
  const docs = resultDocuments(INPUT);

  it('one per point with a finished run; a point seen only in its warm-up is judged on it', () => {
    assert.deepEqual(docs.map((d) => [d.point.key, d.runs]), [
      [base.key, { kind: 'measure', count: 2, ok: 2 }],
      [tp2.key, { kind: 'warmup', count: 1, ok: 1 }],
      [oom.key, { kind: 'measure', count: 1, ok: 0 }],
    ]);
    assert.equal(docs[2]?.outcome, 'oom');
    assert.deepEqual(docs[2]?.metrics, {});
  });

  it('metrics are means over the runs that reported them, each with unit and direction; cost from the mean', () => {
    const m = docs[0]?.metrics ?? {};
    assert.deepEqual(m['output_tokens_per_s'], { value: 3100, unit: 'tokens/s', higher_is_better: true, label: 'output tokens/s' });
    assert.equal(m['model_memory_gib']?.value, 15.27);
    assert.equal(m['model_memory_gib']?.higher_is_better, false);
    assert.equal(m['kv_cache_tokens']?.value, 761248);
    assert.equal(m['output_tps_per_gpu']?.value, 3100);
    assert.equal(m['gpu_days_to_process_1b_tokens']?.value, 1e9 / 3100 / 86400);
    assert.equal(docs[1]?.metrics['output_tps_per_gpu']?.value, 2500, '5000 tokens/s on tp=2');
  });

  it('says what ran: command, parallelism, model, dataset, tool and date', () => {
    const d = docs[1];
    assert.ok(d !== undefined);
    assert.deepEqual(d.parallelism, { tp: 2, pp: 1, dp: 1, gpus: 2 });
    assert.deepEqual(d.command.args.slice(-4), ['--speculative-config', '{"method": "ngram", "num_speculative_tokens": 5}', '--tensor-parallel-size', '2']);
    assert.equal(d.model, 'Qwen/Qwen3-8B');
    assert.equal(d.dataset, 'random');
    assert.equal(d.date, AT);
    assert.deepEqual(d.tool, { name: 'autotune', version: '9.9.9' });
  });

  it('GPU groups give every point their devices', () => {
    const grouped = resultDocuments({ ...INPUT, slotDevices: 4 });
    assert.equal(grouped[1]?.parallelism.gpus, 4);
    assert.equal(grouped[1]?.metrics['output_tps_per_gpu']?.value, 1250);
  });

  it('validates against configs/results.schema.json, and the schema can reject', () => {
    const validate = resultsValidator();
    assert.equal(validate(docs), null);
    assert.notEqual(validate([{ ...docs[0], schema_version: 2 }]), null);
    assert.notEqual(validate([{ ...docs[0], metrics: { x: { value: 'fast' } } }]), null);
  });
});

describe('summary CSV', () => {
  it('has the sweep analyser columns, one row per point, engine arguments as given', () => {
    const lines = formatSummaryCsv(resultDocuments(INPUT)).split('\r\n');
    assert.equal(lines[0], SUMMARY_COLUMNS.join(','));
    assert.equal(lines[0], 'experiment,model,tp,pp,dp,mns,mnbt,gmu,bs,kvc,spec,quant,output_tps_per_gpu,gpu_days_to_process_1b_tokens,gpus_for_1b_tokens_per_hour');
    assert.equal(lines[1], `0,Qwen3-8B,1,1,1,256,,0.9,,,,,3100,${1e9 / 3100 / 86400},${1e9 / 3600 / 3100}`);
    assert.equal(lines[2], `1,Qwen3-8B,2,1,1,256,,0.9,,,"{""method"": ""ngram"", ""num_speculative_tokens"": 5}",,2500,${1e9 / 2500 / 86400},${1e9 / 3600 / 2500}`);
    assert.equal(lines[3], '0,Qwen3-8B,1,1,1,4096,,0.9,,,,,,,');
    assert.equal(lines.length, 5);
  });
});
