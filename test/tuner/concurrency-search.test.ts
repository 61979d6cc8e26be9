import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DEFAULT_CONCURRENCY_SEARCH, nextConcurrencyStep, verdictOf, type ConcurrencyObservation, type ConcurrencySearchOptions } from '../../src/tuner/concurrency-search.js';
import { parseSlos } from '../../src/tuner/slo.js';

const slos = parseSlos('tpot_mean_ms<=50');

/** A deterministic world: TPOT grows linearly with concurrency, with a repeatable +-spread wobble per run. */
function world(msPerSequence: number, spread: number) {
  return (c: number, run: number): number => (10 + msPerSequence * c) * (1 + spread * Math.sin(c * 7.1 + run * 3.3));
}

function search(options: ConcurrencySearchOptions, measure: (c: number, run: number) => number | null) {
  const observations: ConcurrencyObservation[] = [];
  for (let i = 0; i < 200; i++) {
    const step = nextConcurrencyStep(slos, options, observations);
    if (step.kind === 'done') return { step, observations };
    const run = observations.filter((o) => o.concurrency === step.concurrency).length;
    observations.push({ concurrency: step.concurrency, sample: [measure(step.concurrency, run)] });
  }
  throw new Error('search did not end');
}

describe('max concurrency under the SLO', () => {
  const options = { ...DEFAULT_CONCURRENCY_SEARCH, max: 1024 };

  it('finds the largest feasible concurrency with far fewer probes than a linear scan', () => {
    // TPOT = 10 + 0.25 c: the limit 50 is met up to c = 160, with the 5 % margin up to c = 150.
    const { step, observations } = search(options, world(0.25, 0));
    assert.equal(step.kind, 'done');
    assert.ok(step.kind === 'done' && step.best !== null && step.best >= 130 && step.best <= 160, JSON.stringify(step));
    assert.ok(step.kind === 'done' && step.firstInfeasible !== null && step.firstInfeasible > (step.best ?? 0));
    const distinct = new Set(observations.map((o) => o.concurrency)).size;
    assert.ok(distinct <= 14, `${distinct} concurrencies probed`);
  });

  it('never credits a concurrency that only holds by noise: near the limit it measures again, then refuses', () => {
    const { step, observations } = search(options, world(0.25, 0.04));
    assert.ok(step.kind === 'done' && step.best !== null);
    // Every concurrency it accepted holds with margin on the noise-free curve.
    assert.ok(10 + 0.25 * (step.kind === 'done' ? (step.best ?? 0) : 0) <= 50);
    assert.ok(observations.some((o, i) => observations.findIndex((p) => p.concurrency === o.concurrency) !== i), 'some point was measured more than once');
    assert.ok(observations.every((o) => observations.filter((p) => p.concurrency === o.concurrency).length <= options.maxRuns));
  });

  it('answers null when even the smallest concurrency breaks the SLO, and max when everything holds', () => {
    const none = search(options, () => 80);
    assert.deepEqual(none.step, { kind: 'done', best: null, firstInfeasible: 1 });
    const all = search({ ...options, max: 100 }, () => 20);
    assert.deepEqual(all.step, { kind: 'done', best: 100, firstInfeasible: null });
  });

  it('treats a failed run (no statistic) as a breach', () => {
    const { step } = search(options, (c) => (c >= 16 ? null : 20));
    assert.ok(step.kind === 'done' && step.best !== null && step.best >= 14 && step.best < 16, JSON.stringify(step));
  });

  it('is a pure function of the observations: a replay asks for the same next probe', () => {
    const { observations } = search(options, world(0.25, 0.04));
    const half = observations.slice(0, Math.floor(observations.length / 2));
    assert.deepEqual(nextConcurrencyStep(slos, options, half), nextConcurrencyStep(slos, options, [...half]));
    const next = nextConcurrencyStep(slos, options, half);
    assert.equal(next.kind, 'measure');
    assert.equal(next.kind === 'measure' ? next.concurrency : 0, observations[half.length]?.concurrency);
  });

  it('judges one point: clear pass, clear fail, undecided near the limit', () => {
    const o = DEFAULT_CONCURRENCY_SEARCH;
    assert.equal(verdictOf(slos, [[30]], o), 'feasible');
    assert.equal(verdictOf(slos, [[70]], o), 'infeasible');
    assert.equal(verdictOf(slos, [[48]], o), 'undecided');
    assert.equal(verdictOf(slos, [[40], [55]], o), 'undecided');
  });
});
