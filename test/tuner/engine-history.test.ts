import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { formatEngineHistoryCsv } from '../../src/tuner/engine-history.js';
import { objectiveFor } from '../../src/tuner/objective.js';
import { engineTrial } from '../../src/tuner/spaces/engine.js';

const base = engineTrial({ 'max-num-seqs': 256 }, 'batching', null);
const tp2 = engineTrial({ 'max-num-seqs': 256, 'tensor-parallel-size': 2 }, 'batching', base.key);
const oom = engineTrial({ 'max-num-seqs': 4096 }, 'batching', base.key);
const unrun = engineTrial({ 'max-num-seqs': 8192 }, 'batching', base.key);
const ok = (trialKey: string, kind: 'warmup' | 'measure', total: number, extra: Record<string, number> = {}) => ({
  trialKey,
  kind,
  outcome: 'ok' as const,
  metrics: { total_tokens_per_s: total, output_tokens_per_s: total / 2, kv_cache_gib: 8.5, ...extra },
});

describe('formatEngineHistoryCsv', () => {
  it('has a row per point measured, with its mean figures, memory, cost per GPU and its per-GPU ratio to its tier start', () => {
    const csv = formatEngineHistoryCsv({
      objective: objectiveFor('output'),
      trials: [base, tp2, oom, unrun],
      runs: [
        ok(base.key, 'warmup', 900),
        ok(base.key, 'measure', 1000),
        ok(base.key, 'measure', 1200),
        ok(tp2.key, 'measure', 3000, { max_concurrency: 12.5 }),
        { trialKey: oom.key, kind: 'warmup', outcome: 'oom', metrics: null },
      ],
      passthrough: ['--model', 'm'],
    });
    const [header, ...rows] = csv.trimEnd().split('\r\n');
    assert.equal(header, 'point,args,tier,outcome,measured_runs,total_tokens_per_s,output_tokens_per_s,kv_cache_gib,max_concurrency,gpus,output_tokens_per_s_per_gpu,gpu_days_to_process_1b_tokens,ratio_vs_baseline');
    assert.equal(rows.length, 3, 'the point never run has no row');
    // Measured runs only: (1000 + 1200) / 2; output is half of total.
    assert.equal(rows[0], `mns=256,--max-num-seqs 256,batching,ok,2,1100,550,8.5,,1,550,${1e9 / 550 / 86400},1`);
    // 1500 output tokens/s on 2 GPUs: 750 per GPU, 750 / 550 of the start's.
    assert.equal(rows[1], `mns=256 tp=2,--max-num-seqs 256 --tensor-parallel-size 2,batching,ok,1,3000,1500,8.5,12.5,2,750,${1e9 / 750 / 86400},${750 / 550}`);
    assert.equal(rows[2], 'mns=4096,--max-num-seqs 4096,batching,oom,0,,,,,1,,,');
  });
});
