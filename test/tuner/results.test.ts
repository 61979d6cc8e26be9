import assert from 'node:assert/strict';
import { fromThroughput } from '../../src/tuner/metrics.js';
import { objectiveFor } from '../../src/tuner/objective.js';
import { describe, it } from 'node:test';
import {
  formatFixed,
  formatHistoryCsv,
  formatOpConfigJson,
  historyRows,
  opConfigEntries,
  pythonFloatRepr,
  pythonJson,
  trialValue,
  type ResultRun,
  type ResultsInput,
} from '../../src/tuner/results.js';
import { baselineTrial, combinedTrial, fakeGemsTrial, gemsEnableTrial, opTrial } from '../../src/tuner/spaces/operators.js';
import type { RunKind } from '../../src/tuner/types.js';

const HEADER = 'op,backend,total_throughput(tokens/s),output_throughput(tokens/s),performance_ratio\r\n';

function ok(trialKey: string, total: number, output: number | null, kind: RunKind = 'measure', requests: number | null = 1): ResultRun {
  return { trialKey, kind, outcome: 'ok', metrics: fromThroughput({ requestsPerSec: requests, totalTokensPerSec: total, outputTokensPerSec: output }) };
}

function failed(trialKey: string, kind: RunKind = 'measure'): ResultRun {
  return { trialKey, kind, outcome: 'nonzero_exit', metrics: null };
}

const baseline = baselineTrial();
const fake = fakeGemsTrial();
const enable = gemsEnableTrial();
const rmsFlagos = opTrial('rms_norm', 'flagos');
const rmsVendor = opTrial('rms_norm', 'vendor');
const rmsFlashAttn = opTrial('rms_norm', 'reference', 'FLASH_ATTN');
const rmsFlashInfer = opTrial('rms_norm', 'reference', 'FLASHINFER');
const silu = opTrial('silu_and_mul', 'flagos');
const mm = opTrial('mm', 'flagos');
const combined = combinedTrial({ rms_norm: 'reference', silu_and_mul: 'flagos' }, 'combined_best', 'FLASH_ATTN');

/** A reference session of num_runs=2, as its rounds happen, with the cases that matter. */
const referenceSession: ResultsInput = {
  policy: 'reference',
  objective: objectiveFor('total'),
  trials: [baseline, fake, enable, silu, rmsFlagos, rmsVendor, rmsFlashAttn, rmsFlashInfer, mm, combined],
  runs: [
    ok('baseline', 10000.004, 1500, 'warmup'),
    ok('baseline', 10000, 1500.125), // an exact tie: Python prints 1500.12
    ok('baseline_fake_gems_op', 9900.5, 1480, 'warmup'),
    failed('baseline_fake_gems_op'), // the last run failed: the warm-up's result counts
    failed('baseline_gems_enable', 'warmup'),
    failed('baseline_gems_enable'), // no result: no row
    ok(silu.key, 10100, 1511),
    ok(rmsFlagos.key, 10100, 1510), // ties silu_and_mul: sorted op order decides
    ok(rmsVendor.key, 10050, null), // legacy format: no output
    ok(rmsFlashAttn.key, 10120, 1515), // the better attention backend
    ok(rmsFlashInfer.key, 9990, 1490),
    failed(mm.key, 'warmup'),
    failed(mm.key), // tried, no result: empty row, sorted last
    ok(combined.key, 10200, 1530),
  ],
  ops: { silu_and_mul: ['flagos'], rms_norm: ['flagos', 'vendor', 'reference'], mm: ['flagos'] },
  finalCombinedKey: null,
  estimates: [],
};

// Expected texts checked against the reference's write_results_csv / write_op_config_json.
describe('history.csv', () => {
  it('a reference session: baseline rows, op rows by backend, the better attention run, stable sort', () => {
    assert.equal(
      formatHistoryCsv(historyRows(referenceSession)),
      HEADER +
        'baseline,,10000.00,1500.12,1.0000\r\n' +
        'baseline_gems_fake_op,,9900.50,1480.00,0.9900\r\n' +
        'combined_best,,10200.00,1530.00,1.0200\r\n' +
        'rms_norm,reference,10120.00,1515.00,1.0120\r\n' +
        'rms_norm,flagos,10100.00,1510.00,1.0100\r\n' +
        'silu_and_mul,flagos,10100.00,1511.00,1.0100\r\n' +
        'rms_norm,vendor,10050.00,,1.0050\r\n' +
        'mm,flagos,,,\r\n',
    );
  });

  it('a failed baseline empties every op row and every ratio', () => {
    const input: ResultsInput = {
      ...referenceSession,
      trials: referenceSession.trials.filter((t) => t.kind !== 'combined'),
      runs: [
        failed('baseline', 'warmup'),
        failed('baseline'),
        ...referenceSession.runs.filter((r) => !r.trialKey.startsWith('baseline') && r.trialKey !== combined.key),
        ok('baseline_fake_gems_op', 9900.5, 1480),
        ok('baseline_gems_enable', 9800, 0), // the reference's "not reported" 0 prints empty too
      ],
    };
    assert.equal(
      formatHistoryCsv(historyRows(input)),
      HEADER +
        'baseline,,,,\r\n' +
        'baseline_gems_fake_op,,9900.50,1480.00,\r\n' +
        'baseline_gems_enable,,9800.00,,\r\n' +
        'mm,flagos,,,\r\n' +
        'rms_norm,flagos,,,\r\n' +
        'rms_norm,vendor,,,\r\n' +
        'rms_norm,reference,,,\r\n' +
        'silu_and_mul,flagos,,,\r\n',
    );
  });

  it('before any run: the baseline row alone', () => {
    const input: ResultsInput = { ...referenceSession, trials: [baseline], runs: [] };
    assert.equal(formatHistoryCsv(historyRows(input)), `${HEADER}baseline,,,,\r\n`);
  });

  it('a trial with no finished run yet has no row', () => {
    const input: ResultsInput = { ...referenceSession, runs: referenceSession.runs.filter((r) => r.trialKey !== mm.key) };
    assert.equal(
      historyRows(input).some((r) => r.op === 'mm'),
      false,
    );
  });

  it('the session metric picks the better attention run', () => {
    const input: ResultsInput = { ...referenceSession, objective: objectiveFor('output') };
    const row = historyRows({
      ...input,
      runs: [...input.runs.filter((r) => r.trialKey !== rmsFlashInfer.key), ok(rmsFlashInfer.key, 10110, 1600)],
    }).find((r) => r.backend === 'reference');
    assert.deepEqual(row, { op: 'rms_norm', backend: 'reference', total: 10110, output: 1600, ratio: 1.011 });
  });

  it('a result beats none in an attention pair, whichever comes first', () => {
    const input: ResultsInput = {
      ...referenceSession,
      runs: [...referenceSession.runs.filter((r) => r.trialKey !== rmsFlashAttn.key), failed(rmsFlashAttn.key)],
    };
    assert.equal(historyRows(input).find((r) => r.backend === 'reference')?.total, 9990);
  });

  it('noise-aware: means of measured runs and the final combination only', () => {
    const validated = combinedTrial({ silu_and_mul: 'flagos' }, 'combined_validate');
    const input: ResultsInput = {
      policy: 'noise-aware',
      objective: objectiveFor('total'),
      trials: [baseline, silu, combined, validated],
      runs: [
        ok('baseline', 20000, 2000, 'warmup'), // warm-ups are not measurements
        ok('baseline', 10000, 1500),
        ok('baseline', 10010, null), // output averaged over the runs reporting it
        failed('baseline'),
        ok('baseline', 10020, 1520),
        ok(silu.key, 10100, 1510),
        ok(silu.key, 10200, 1530),
        ok(combined.key, 11000, 1600), // not the final combination
        ok(validated.key, 10150, 1515),
      ],
      ops: { silu_and_mul: ['flagos'] },
      finalCombinedKey: validated.key,
      estimates: [],
    };
    assert.equal(
      formatHistoryCsv(historyRows(input)),
      HEADER +
        'baseline,,10010.00,1510.00,1.0000\r\n' +
        'silu_and_mul,flagos,10150.00,1520.00,1.0140\r\n' +
        'combined_best,,10150.00,1515.00,1.0140\r\n',
    );
    assert.equal(historyRows({ ...input, finalCombinedKey: null }).length, 2, 'noise-aware shows no unvalidated combination');
  });

  it('screening: every row shows the estimate decided with, an operator never measured alone included', () => {
    const input: ResultsInput = {
      policy: 'screening',
      objective: objectiveFor('total'),
      trials: [baseline, mm],
      runs: [ok('baseline', 10000, 1500), ok(mm.key, 9000, 1400, 'warmup'), ok(mm.key, 8700, 1300)],
      ops: { silu_and_mul: ['flagos'], mm: ['flagos'] },
      finalCombinedKey: null,
      estimates: [{ op: 'silu_and_mul', backend: 'flagos', estimate: 0.012 }],
      trialEstimates: { 'op:silu_and_mul:flagos': { estimate: 0.012, low: 0.004, high: 0.02 }, [mm.key]: { estimate: -0.12, low: -0.13, high: -0.11 } },
      chosen: null,
    };
    const rows = historyRows(input);
    assert.equal(formatHistoryCsv(rows), HEADER + 'baseline,,10000.00,1500.00,1.0000\r\n' + 'silu_and_mul,flagos,10120.00,1518.00,1.0120\r\n' + 'mm,flagos,8800.00,1320.00,0.8800\r\n');
    assert.deepEqual(rows.find((r) => r.op === 'silu_and_mul')?.estimated, { low: 1.004, high: 1.02 });
    // Without an estimate a measured operator shows the mean of its measured runs.
    const onlySilu = { 'op:silu_and_mul:flagos': { estimate: 0.012, low: 0.004, high: 0.02 } };
    assert.equal(historyRows({ ...input, trialEstimates: onlySilu }).find((r) => r.op === 'mm')?.total, 8700);
  });

  it('quotes fields as csv.writer does', () => {
    assert.equal(
      formatHistoryCsv([{ op: 'a,b', backend: 'say "hi"', total: null, output: null, ratio: null }]),
      `${HEADER}"a,b","say ""hi""",,,\r\n`,
    );
  });
});

describe('op_config.json', () => {
  it('lists tuned ops in table order with the best backend ratio', () => {
    assert.equal(
      formatOpConfigJson(opConfigEntries(referenceSession)),
      '[\n' +
        '  {\n    "op_name": "silu_and_mul",\n    "backend": "flagos",\n    "vendor": null,\n    "performance_ratio": 1.01\n  },\n' +
        '  {\n    "op_name": "rms_norm",\n    "backend": "flagos",\n    "vendor": null,\n    "performance_ratio": 1.012\n  },\n' +
        '  {\n    "op_name": "mm",\n    "backend": "native",\n    "vendor": null,\n    "performance_ratio": null\n  }\n' +
        ']',
    );
  });

  it('without a baseline every op is native with no ratio; untried ops are left out', () => {
    const input: ResultsInput = {
      ...referenceSession,
      runs: referenceSession.runs.filter((r) => r.trialKey !== 'baseline' && r.trialKey !== silu.key),
    };
    assert.deepEqual(opConfigEntries(input), [
      { op_name: 'rms_norm', backend: 'native', vendor: null, performance_ratio: null },
      { op_name: 'mm', backend: 'native', vendor: null, performance_ratio: null },
    ]);
  });

  it('a ratio of exactly 1 is native and prints as 1.0', () => {
    const input: ResultsInput = { ...referenceSession, runs: [ok('baseline', 10000, 1), ok(silu.key, 10000, 1)] };
    assert.equal(
      formatOpConfigJson(opConfigEntries(input)),
      '[\n  {\n    "op_name": "silu_and_mul",\n    "backend": "native",\n    "vendor": null,\n    "performance_ratio": 1.0\n  }\n]',
    );
    assert.equal(formatOpConfigJson([]), '[]');
  });
});

describe('trialValue', () => {
  it('reference: the last run, else the last success, else nothing', () => {
    assert.equal(trialValue('reference', [ok('k', 1, 1, 'warmup'), ok('k', 2, 2)])?.['total_tokens_per_s'], 2);
    assert.equal(trialValue('reference', [ok('k', 1, 1, 'warmup'), failed('k')])?.['total_tokens_per_s'], 1);
    assert.equal(trialValue('reference', [failed('k', 'warmup'), failed('k')]), null);
  });

  it('noise-aware: only successful measured runs; requests averaged where reported', () => {
    assert.equal(trialValue('noise-aware', [ok('k', 1, 1, 'warmup'), failed('k')]), null);
    assert.deepEqual(trialValue('noise-aware', [ok('k', 10, null, 'measure', null), ok('k', 20, null, 'measure', 3)]), {
      total_tokens_per_s: 15,
      requests_per_s: 3,
    });
  });
});

describe('Python-compatible numbers', () => {
  it('formatFixed equals f"{x:.Nf}" (exact binary value, ties to even)', () => {
    // [x, .2f, .4f] as CPython 3 prints them
    const cases: [number, string, string][] = [
      [0.125, '0.12', '0.1250'],
      [0.375, '0.38', '0.3750'],
      [1.005, '1.00', '1.0050'],
      [2.675, '2.67', '2.6750'],
      [12345.675, '12345.67', '12345.6750'],
      [2.5, '2.50', '2.5000'],
      [-0.125, '-0.12', '-0.1250'],
      [-0, '-0.00', '-0.0000'],
      [0, '0.00', '0.0000'],
      [0.045, '0.04', '0.0450'],
      [26237.355, '26237.35', '26237.3550'],
      [3748.185, '3748.18', '3748.1850'],
      [0.00005, '0.00', '0.0001'],
      [5e-324, '0.00', '0.0000'],
      [1e21, '1000000000000000000000.00', '1000000000000000000000.0000'],
      [1.2345678901234569e23, '123456789012345685803008.00', '123456789012345685803008.0000'],
    ];
    for (const [x, two, four] of cases) {
      assert.equal(formatFixed(x, 2), two, `${x} .2f`);
      assert.equal(formatFixed(x, 4), four, `${x} .4f`);
    }
    assert.equal((0.125).toFixed(2), '0.13', 'the reason formatFixed exists');
    assert.equal(formatFixed(1.5, 0), '2');
    assert.equal(formatFixed(Number.NaN, 2), 'nan');
  });

  it('pythonFloatRepr equals repr(float)', () => {
    const cases: [number, string][] = [
      [1, '1.0'],
      [0.1, '0.1'],
      [1e16, '1e+16'],
      [1.5e16, '1.5e+16'],
      [1e-5, '1e-05'],
      [0.0001, '0.0001'],
      [1.0123456789, '1.0123456789'],
      [123456789, '123456789.0'],
      [1e22, '1e+22'],
      [2.5e-7, '2.5e-07'],
      [0.1 + 0.2, '0.30000000000000004'],
      [1e15, '1000000000000000.0'],
      [9999999999999998, '9999999999999998.0'],
      [-1.25, '-1.25'],
      [0, '0.0'],
    ];
    for (const [x, repr] of cases) assert.equal(pythonFloatRepr(x), repr, String(x));
  });

  it('pythonJson escapes like ensure_ascii=True', () => {
    assert.equal(pythonJson([{ op_name: 'a\u00e9\u007f"\n', x: 1 }]), '[\n  {\n    "op_name": "a\\u00e9\\u007f\\"\\n",\n    "x": 1.0\n  }\n]');
    assert.equal(pythonJson({}), '{}');
  });
});

describe('noise-aware artifacts agree with the decision', () => {
  // Raw means say every operator lost (drift, cold runs); the model, which decided, says otherwise.
  const set = combinedTrial({ silu_and_mul: 'flagos', rms_norm: 'reference' }, 'combined_best', 'FLASHINFER');
  const input: ResultsInput = {
    policy: 'noise-aware',
    objective: objectiveFor('total'),
    trials: [baseline, silu, rmsFlagos, rmsFlashAttn, rmsFlashInfer, mm, set],
    runs: [
      ok('baseline', 10000, 2000),
      ok(silu.key, 9900, 1980),
      ok(rmsFlagos.key, 9950, 1990),
      ok(rmsFlashAttn.key, 9800, 1960),
      ok(rmsFlashInfer.key, 9850, 1970),
      ok(mm.key, 8000, 1600),
      ok(set.key, 9990, 1998),
    ],
    ops: { silu_and_mul: ['flagos'], rms_norm: ['flagos', 'reference'], mm: ['flagos'] },
    finalCombinedKey: set.key,
    estimates: [],
    trialEstimates: {
      [silu.key]: { estimate: 0.01, low: 0.004, high: 0.016 },
      [rmsFlagos.key]: { estimate: -0.002, low: -0.008, high: 0.004 },
      [rmsFlashAttn.key]: { estimate: 0.006, low: 0, high: 0.012 },
      [rmsFlashInfer.key]: { estimate: 0.004, low: -0.002, high: 0.01 },
      [mm.key]: { estimate: -0.12, low: -0.13, high: -0.11 },
    },
    chosen: { opBackends: set.opBackends, attention: 'FLASHINFER', estimate: { estimate: 0.0125, low: 0.01, high: 0.015 } },
  };

  it('history.csv shows the estimates: the chosen attention variant, the set\'s validated speed-up', () => {
    assert.equal(
      formatHistoryCsv(historyRows(input)),
      HEADER +
        'baseline,,10000.00,2000.00,1.0000\r\n' +
        'combined_best,,10125.00,2025.00,1.0125\r\n' +
        'silu_and_mul,flagos,10100.00,2020.00,1.0100\r\n' +
        'rms_norm,reference,10040.00,2008.00,1.0040\r\n' +
        'rms_norm,flagos,9980.00,1996.00,0.9980\r\n' +
        'mm,flagos,8800.00,1760.00,0.8800\r\n',
    );
    const rms = historyRows(input).find((r) => r.op === 'rms_norm' && r.backend === 'reference');
    assert.deepEqual(rms?.estimated, { low: 0.998, high: 1.01 });
  });

  it('op_config.json marks exactly the chosen set flagos, with the estimated ratio', () => {
    assert.deepEqual(opConfigEntries(input), [
      { op_name: 'silu_and_mul', backend: 'flagos', vendor: null, performance_ratio: 1.01 },
      { op_name: 'rms_norm', backend: 'flagos', vendor: null, performance_ratio: 1.004 },
      { op_name: 'mm', backend: 'native', vendor: null, performance_ratio: 0.88 },
    ]);
  });

  it('before a set is chosen, nothing is flagos and the better attention variant is shown', () => {
    const midSession: ResultsInput = { ...input, chosen: null, finalCombinedKey: null };
    assert.ok(opConfigEntries(midSession).every((e) => e.backend === 'native'));
    assert.equal(historyRows(midSession).find((r) => r.op === 'rms_norm' && r.backend === 'reference')?.ratio, 1.006);
  });

  it('the reference policy ignores estimates', () => {
    const reference: ResultsInput = { ...input, policy: 'reference' };
    const { trialEstimates: _e, chosen: _c, ...plain } = reference;
    assert.equal(formatHistoryCsv(historyRows(reference)), formatHistoryCsv(historyRows(plain)));
    assert.deepEqual(opConfigEntries(reference), opConfigEntries(plain));
  });
});
