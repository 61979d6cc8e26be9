/** The Slots table from a session's options and stored runs, as status and the report show it. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ReportRun } from '../../src/report/model.js';
import { slotLines, slotRows, slotsSection } from '../../src/report/slots.js';
import { fromThroughput } from '../../src/tuner/metrics.js';
import type { RunOutcome } from '../../src/tuner/types.js';

let seq = 0;
function run(slot: number | null, trialKey: string, total: number | null, outcome: RunOutcome | 'running' = total === null ? 'engine_failure' : 'ok'): ReportRun {
  seq += 1;
  return {
    seq,
    step: seq - 1,
    slot,
    trialKey,
    kind: 'measure',
    warmupIndex: null,
    outcome,
    metrics: fromThroughput(total === null ? null : { requestsPerSec: 1, totalTokensPerSec: total, outputTokensPerSec: total / 2 }),
    durationMs: 1000,
    startedAt: seq,
    endedAt: seq + 1,
    logPath: `/r/${seq}.log`,
    failure: null,
  };
}

const GROUPS = { objective: { metric: 'total_tokens_per_s', direction: 'maximize', constraints: [] }, gpuGroups: ['0,1', '2,3'] };

describe('slotRows', () => {
  it('counts runs and failures per slot and estimates the factor from the trials both slots measured', () => {
    const runs = [run(0, 'a', 1000), run(1, 'a', 900), run(0, 'b', 2000), run(1, 'b', 1800), run(1, 'c', null), run(1, 'd', null, 'running'), run(null, 'e', 5)];
    const rows = slotRows({ options: GROUPS }, runs);
    assert.deepEqual(
      rows?.map((r) => [r.slot, r.gpus, r.runs, r.failures, r.factorText, r.retired]),
      [
        [0, '0,1', 2, 0, '1 (reference)', false],
        [1, '2,3', 3, 1, '0.900 ± 0.000', false],
      ],
      'a run still in flight and a run stored before slots were are left out',
    );
  });

  it('scores a minimised metric as its inverse: a slower slot has a factor below 1', () => {
    const latency = (slot: number, key: string, s: number): ReportRun => ({ ...run(slot, key, 1), metrics: { latency_avg_s: s } });
    const options = { objective: { metric: 'latency_avg_s', direction: 'minimize', constraints: [] }, gpuGroups: ['0', '1'] };
    const rows = slotRows({ options }, [latency(0, 'a', 1.0), latency(1, 'a', 1.25)]);
    assert.equal(rows?.[1]?.factorText, '0.800 (one run each)');
  });

  it('has one row per SLURM job slot or GPU group (a serving session: a server each), and none for a session of one slot', () => {
    const slurm = slotRows({ options: { slurm: { maxJobs: 3 } } }, [run(0, 'a', 1), run(2, 'b', 1)]);
    assert.deepEqual(slurm?.map((r) => [r.slot, r.gpus, r.runs]), [[0, null, 1], [1, null, 0], [2, null, 1]]);
    assert.equal(slotRows({ options: {} }, [run(0, 'a', 1)]), null);
    assert.equal(slotRows({ options: { slurm: { maxJobs: 1 } } }, []), null);
    assert.equal(slotRows({ options: { ...GROUPS, serve: {} } }, [])?.length, 2);
  });
});

describe('the Slots table', () => {
  const rows = slotRows({ options: GROUPS }, [run(0, 'a', 1000), run(1, 'b', 1000)]) ?? [];

  it('prints aligned columns for status', () => {
    assert.deepEqual(slotLines(rows), [
      'slots',
      '  slot  GPUs  runs  failures  factor         retired',
      '  0     0,1   1     0         1 (reference)  no',
      '  1     2,3   1     0         not estimable  no',
    ]);
  });

  it('renders an escaped HTML table for the report, and nothing with one slot', () => {
    const html = slotsSection(slotRows({ options: { ...GROUPS, gpuGroups: ['<b>', '1'] } }, [run(0, 'a', 1)]));
    assert.match(html, /^<h2>Slots<\/h2>/);
    assert.match(html, /<td>&lt;b&gt;<\/td>/);
    assert.doesNotMatch(html, /<b>/);
    assert.equal(slotsSection(null), '');
  });
});
