import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { fitModel, suspectPairs, type ModelRun } from '../../../../src/tuner/policies/screen/regression.js';
import { seededRandom } from '../../../../src/tuner/policies/noise/schedule.js';

interface World {
  readonly effects: readonly number[];
  readonly sigma: number;
  readonly runs: number;
  /** Extra log terms per run: stalls, a level shift, an interaction. */
  readonly extra?: (seq: number, factors: readonly number[], random: () => number) => number;
  readonly cold?: number;
  readonly seed?: number;
}

/** A session of random half designs with an anchor every 6 runs. */
function session(w: World): ModelRun[] {
  const random = seededRandom(w.seed ?? 1);
  const normal = () => Math.sqrt(-2 * Math.log(random() + 1e-12)) * Math.cos(2 * Math.PI * random());
  const runs: ModelRun[] = [];
  const cold = w.cold ?? -0.05;
  let seq = 1;
  const anchor = (ordinal: number): void => {
    runs.push({ seq, y: 10 + w.sigma * normal() + (w.extra?.(seq, [], random) ?? 0), factors: [], label: null, ordinal, fresh: false, gems: false, anchor: true });
    seq += 1;
  };
  for (let i = 1; i <= 3; i++) anchor(i);
  let anchors = 3;
  for (let i = 0; i < w.runs; i++) {
    const factors = w.effects.map((_, j) => j).filter(() => random() < 0.5);
    const y = 10 + cold + factors.reduce((s, j) => s + (w.effects[j] ?? 0), 0) + w.sigma * normal() + (w.extra?.(seq, factors, random) ?? 0);
    runs.push({ seq, y, factors, label: null, ordinal: 0, fresh: false, gems: true, anchor: false });
    seq += 1;
    if (i % 6 === 5) anchor(++anchors);
  }
  return runs;
}

function fit(runs: ModelRun[], candidates: number, pairs: [number, number][] = []) {
  return fitModel(runs, { candidates, labels: 0, pairs }, { previous: null, reselect: true });
}

const EFFECTS = [0.01, 0.006, -0.13, 0, 0, 0, -0.004, 0.002, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];

describe('screening regression', () => {
  it('recovers every effect from group runs, a 13% loser included, with honest standard errors', () => {
    const f = fit(session({ effects: EFFECTS, sigma: 0.004, runs: 60 }), EFFECTS.length);
    EFFECTS.forEach((e, j) => {
      const b = f.b[j] ?? NaN;
      const se = f.bSe[j] ?? NaN;
      assert.ok(Math.abs(b - e) < 4 * se + 0.001, `candidate ${j}: ${b} vs ${e} (se ${se})`);
      assert.ok(se > 0.0005 && se < 0.003, `candidate ${j}: se ${se}`);
    });
    assert.ok(Math.abs(f.cold + 0.05) < 0.01, `cold ${f.cold}`);
    assert.ok(f.sigmaGems > 0.0025 && f.sigmaGems < 0.006, `sigma ${f.sigmaGems}`);
  });

  it('is not moved by one-sided stalls and heavy tails: they are weighted down', () => {
    const stalls = (_: number, factors: readonly number[], random: () => number) => (factors.length > 0 && random() < 0.1 ? Math.log(0.85) : 0);
    const f = fit(session({ effects: EFFECTS, sigma: 0.004, runs: 60, extra: stalls, seed: 3 }), EFFECTS.length);
    assert.ok(f.downweighted >= 3, `${f.downweighted} run(s) weighted down`);
    for (const j of [0, 1, 3, 4]) assert.ok(Math.abs((f.b[j] ?? 0) - (EFFECTS[j] ?? 0)) < 0.004, `candidate ${j}: ${f.b[j]}`);
    assert.ok(f.sigmaGems < 0.008, `scale ${f.sigmaGems} not inflated by the stalls`);
  });

  it('finds a level shift of the whole node and keeps it out of the effects', () => {
    const shift = (seq: number) => (seq >= 40 ? Math.log(0.95) : 0);
    const runs = session({ effects: EFFECTS, sigma: 0.003, runs: 72, extra: shift, seed: 4 });
    const f = fit(runs, EFFECTS.length);
    assert.equal(f.shifts.length, 1);
    const s = f.shifts[0];
    assert.ok(s !== undefined && Math.abs(s.at - 40) <= 3 && Math.abs(s.size - Math.log(0.95)) < 0.01, JSON.stringify(f.shifts));
    for (const j of [0, 1, 3]) assert.ok(Math.abs((f.b[j] ?? 0) - (EFFECTS[j] ?? 0)) < 0.004, `candidate ${j}: ${f.b[j]}`);
    // Without the shift the same runs find none.
    assert.equal(fit(session({ effects: EFFECTS, sigma: 0.003, runs: 72, seed: 4 }), EFFECTS.length).shifts.length, 0);
  });

  it('points at an interacting pair through the residuals and then estimates it', () => {
    const pair = (_: number, factors: readonly number[]) => (factors.includes(4) && factors.includes(5) ? 0.012 : 0);
    const runs = session({ effects: EFFECTS, sigma: 0.003, runs: 80, extra: pair, seed: 5 });
    const main = fit(runs, EFFECTS.length);
    const suspects = suspectPairs(runs, main, EFFECTS.map((_, j) => j).filter((j) => j !== 2), 3.5, 8);
    assert.deepEqual(suspects, [[4, 5]]);
    const withPair = fit(runs, EFFECTS.length, [[4, 5]]);
    assert.ok(Math.abs((withPair.pairs[0] ?? 0) - 0.012) < 3 * (withPair.pairSe[0] ?? 1), `pair ${withPair.pairs[0]}`);
  });

  it('stays solvable with more candidates than runs (supersaturated), shrinking unsupported effects', () => {
    const many = Array.from({ length: 60 }, (_, j) => (j === 0 ? 0.02 : 0));
    const f = fit(session({ effects: many, sigma: 0.003, runs: 30 }), many.length);
    assert.ok((f.b[0] ?? 0) > 0.01, `winner ${f.b[0]}`);
    for (let j = 1; j < 60; j++) assert.ok(Math.abs(f.b[j] ?? 1) < 0.01, `candidate ${j}: ${f.b[j]}`);
  });

  it('gives a barely enabled candidate a data-only standard error by its few runs', () => {
    let seen = 0;
    const runs = session({ effects: EFFECTS, sigma: 0.006, runs: 60, seed: 5 }).map((r) => {
      if (!r.factors.includes(0)) return r;
      seen += 1;
      return seen <= 3 ? r : { ...r, factors: r.factors.filter((j) => j !== 0), y: r.y - (EFFECTS[0] ?? 0) };
    });
    const f = fit(runs, EFFECTS.length);
    // Three runs against about thirty: about sqrt(10 / 2) times wider.
    assert.ok((f.bSeData[0] ?? 0) > 2 * (f.bSeData[1] ?? Infinity), `rare ${f.bSeData[0]} vs half ${f.bSeData[1]}`);
    // A candidate in half the runs: data-only and posterior agree within a factor of two.
    assert.ok((f.bSeData[1] ?? 0) < 2 * (f.bSe[1] ?? 0) && (f.bSeData[1] ?? 0) > 0.5 * (f.bSe[1] ?? 0), `data ${f.bSeData[1]} vs posterior ${f.bSe[1]}`);
  });

  it('measures a backend against runs without its operator, not against its other backends', () => {
    // Candidates 0 and 1 are two backends of one operator: every factor run has one of them, so
    // only the baseline anchors have the operator off.
    const runs = session({ effects: EFFECTS, sigma: 0.006, runs: 60, seed: 7 }).map((r) => {
      if (r.factors.length === 0) return r;
      const others = r.factors.filter((j) => j > 1);
      return { ...r, factors: [r.seq % 2 === 0 ? 0 : 1, ...others] };
    });
    const groups = EFFECTS.map((_, j) => (j === 1 ? 0 : j));
    const alone = fitModel(runs, { candidates: EFFECTS.length, labels: 0, pairs: [] }, { previous: null, reselect: true });
    const grouped = fitModel(runs, { candidates: EFFECTS.length, labels: 0, pairs: [], groups }, { previous: null, reselect: true });
    const anchors = runs.filter((r) => r.factors.length === 0).length;
    const half = runs.filter((r) => r.factors.includes(0)).length;
    // With the operator's other backend counted as "off", about 30 runs against 30; with only the
    // anchors as off, 30 against about 13: sqrt((1/30 + 1/13) / (2/30)) = 1.3 times wider.
    for (const j of [0, 1]) {
      const ratio = (grouped.bSeData[j] ?? 0) / (alone.bSeData[j] ?? Infinity);
      assert.ok(ratio > 1.15, `candidate ${j}: ${grouped.bSeData[j]} vs ${alone.bSeData[j]} (${half} runs with it, ${anchors} anchors)`);
    }
    // Other candidates keep their contrast.
    assert.ok(Math.abs((grouped.bSeData[3] ?? 0) - (alone.bSeData[3] ?? 1)) < 1e-9, `${grouped.bSeData[3]} vs ${alone.bSeData[3]}`);
  });

  it('follows strong drift through the anchors, so a set measured between anchors at the end is not misjudged', () => {
    // The node drifts (a random walk of 0.16% a run, slowing 0.05% a run), refitted as a session
    // does; the set (+3%) then alternates with baseline anchors, as in validation.
    const errors: number[] = [];
    const ses: number[] = [];
    for (let seed = 1; seed <= 40; seed++) {
      const random = seededRandom(seed);
      const normal = () => Math.sqrt(-2 * Math.log(random() + 1e-12)) * Math.cos(2 * Math.PI * random());
      const levels: number[] = [];
      for (let t = 0, walk = 0; t < 200; t++) levels.push((walk += -0.0005 + 0.0016 * normal()));
      const runs: ModelRun[] = [];
      let seq = 1;
      let ordinal = 0;
      let fitted: ReturnType<typeof fitModel> | null = null;
      const at = (s: number) => 10 + (levels[s] ?? 0);
      const anchor = (): void => {
        runs.push({ seq, y: at(seq) + 0.004 * normal(), factors: [], label: null, ordinal: ++ordinal, fresh: false, gems: false, anchor: true });
        seq += 1;
      };
      for (let i = 0; i < 3; i++) anchor();
      for (let i = 0; i < 70; i++) {
        const factors = EFFECTS.map((_, j) => j).filter(() => random() < 0.5);
        runs.push({ seq, y: at(seq) - 0.05 + factors.reduce((sum, j) => sum + (EFFECTS[j] ?? 0), 0) + 0.006 * normal(), factors, label: null, ordinal: 0, fresh: false, gems: true, anchor: false });
        seq += 1;
        if (i % 7 === 6) anchor();
        if (i % 6 === 5) fitted = fitModel(runs, { candidates: EFFECTS.length, labels: 0, pairs: [] }, { previous: fitted, reselect: true });
      }
      for (let pair = 0; pair < 5; pair++) {
        runs.push({ seq, y: at(seq) + 0.03 + 0.006 * normal(), factors: [], label: 0, ordinal: pair + 1, fresh: false, gems: true, anchor: false });
        seq += 1;
        anchor();
        fitted = fitModel(runs, { candidates: EFFECTS.length, labels: 1, pairs: [] }, { previous: fitted, reselect: false });
      }
      errors.push((fitted?.labels[0] ?? NaN) - 0.03);
      ses.push(fitted?.labelSe[0] ?? NaN);
    }
    const rms = Math.sqrt(errors.reduce((sum, e) => sum + e * e, 0) / errors.length);
    // Fitting the drift from the fit's own noise let a stiff level inflate that noise: 0.55% and
    // four sets off by more than 1% here. The set's runs 2-4 have cold terms of their own, which
    // under drift this strong only their prior pins (0.33% rms and every set within 1% when a
    // fitted decay curve took the penalty left after the warm-up as known; one set of the 40 is
    // now 1.3% low, 3.4 standard errors). No set may look faster than it is by more than three
    // of its standard errors, nor be off by more than 1.5% either way.
    assert.ok(rms < 0.005, `set estimates off by ${rms} (rms)`);
    const shown = errors.map((e, i) => `${e.toFixed(4)}/${(ses[i] ?? NaN).toFixed(4)}`).join(' ');
    assert.ok(
      errors.every((e, i) => e < 3 * (ses[i] ?? 0)),
      shown,
    );
    assert.ok(
      errors.every((e) => Math.abs(e) < 0.015),
      shown,
    );
  });

  it('never makes a first run faster: with every factor run a new configuration, the gains stay in the effects', () => {
    // Three anchors, then each operator alone once (first run of its configuration, first use of
    // its backend): only the priors tie the cold and first-use terms to the effects, and a free
    // fit would call the common gain "cold runs are faster" and shrink the effects toward zero.
    const L = Math.log;
    const runs: ModelRun[] = [
      { seq: 1, y: L(183), factors: [], label: null, ordinal: 1, fresh: false, gems: false, anchor: true },
      { seq: 2, y: L(184), factors: [], label: null, ordinal: 2, fresh: false, gems: false, anchor: true },
      { seq: 3, y: L(182.5), factors: [], label: null, ordinal: 3, fresh: false, gems: false, anchor: true },
      { seq: 4, y: L(238), factors: [0], label: null, ordinal: 0, fresh: true, gems: true, anchor: false },
      { seq: 5, y: L(225), factors: [1], label: null, ordinal: 0, fresh: true, gems: true, anchor: false },
    ];
    const f = fit(runs, 3);
    assert.ok(f.cold < 1e-9 && f.fresh < 1e-9, `cold ${f.cold}, fresh ${f.fresh}`);
    assert.ok((f.b[0] ?? 0) > 0.2 && (f.b[1] ?? 0) > 0.15, `effects ${[...f.b].join(', ')}`);
    assert.ok(Math.abs(f.b[2] ?? 1) < 0.005, `the unmeasured one stays near zero: ${f.b[2]}`);
  });

  it('sees no level shift in plain noise of 1.5%', () => {
    for (const seed of [6, 7, 8]) assert.equal(fit(session({ effects: EFFECTS, sigma: 0.015, runs: 72, seed }), EFFECTS.length).shifts.length, 0, `seed ${seed}`);
  });

  it('takes no stalled last anchor for a level shift', () => {
    // A set validated in pairs at the end of a session whose last anchor stalls (-20%): a group
    // of two anchors after a link has no median one stall cannot move, and a "shift" there let
    // the level follow the stall down and the set look 20% faster.
    const runs = session({ effects: EFFECTS, sigma: 0.004, runs: 48, seed: 9 });
    let seq = runs.length + 1;
    let ordinal = runs.filter((r) => r.anchor).length;
    for (let k = 0; k < 3; k++) {
      runs.push({ seq: seq++, y: 10.03 + (k === 0 ? -0.05 : 0), factors: [], label: 0, ordinal: k, fresh: false, gems: true, anchor: false });
      if (k > 0) runs.push({ seq: seq++, y: 10 + (k === 2 ? Math.log(0.8) : 0.001), factors: [], label: null, ordinal: ++ordinal, fresh: false, gems: false, anchor: true });
    }
    const f = fitModel(runs, { candidates: EFFECTS.length, labels: 1, pairs: [] }, { previous: null, reselect: true });
    assert.equal(f.shifts.length, 0, JSON.stringify(f.shifts));
    assert.ok(Math.abs((f.labels[0] ?? 0) - 0.03) < 0.006, `set ${f.labels[0]} (se ${f.labelSe[0]})`);

  });

  it("gives a set measured after one warm-up an interval that holds under either cache semantics", () => {
    // Cold penalties of 3-7%: per configuration, fading to 30% on each further run (the set's
    // measured runs still pay part of it), or per operator (its runs pay nothing). 200 sessions
    // each; the set's one-sided 95% lower bound must hold in about 95% of them. The warm-up
    // runs, as the policy runs it, but is not booked: the policy keeps a set's first run out of
    // the model.
    for (const semantics of ['configuration', 'operator'] as const) {
      let below = 0;
      const sessions = 200;
      for (let rep = 1; rep <= sessions; rep++) {
        const random = seededRandom(1000 + rep);
        const normal = () => Math.sqrt(-2 * Math.log(random() + 1e-12)) * Math.cos(2 * Math.PI * random());
        const penalty = 0.03 + 0.04 * random();
        const coldOf = (k: number) => (semantics === 'configuration' ? Math.log1p(-penalty * 0.3 ** k) : k === 0 ? Math.log1p(-penalty) : 0);
        const effects = Array.from({ length: 20 }, (_, j) => (j < 3 ? 0.01 : j === 3 ? -0.13 : 0.001 * normal()));
        const runs: ModelRun[] = [];
        let seq = 1;
        let ordinal = 0;
        const anchor = (): void => {
          runs.push({ seq: seq++, y: 10 + coldOf(ordinal) + 0.004 * normal(), factors: [], label: null, ordinal: ordinal++, fresh: false, gems: false, anchor: true });
        };
        for (let i = 0; i < 3; i++) anchor();
        const used = new Set<number>();
        for (let i = 0; i < 40; i++) {
          const factors = effects.map((_, j) => j).filter(() => random() < 0.5);
          // Every design run is a new configuration; per operator, only one that enables an
          // operator no earlier run had pays the penalty.
          const fresh = factors.some((j) => !used.has(j));
          for (const j of factors) used.add(j);
          const cold = semantics === 'configuration' ? coldOf(0) : fresh ? Math.log1p(-penalty) : 0;
          const y = 10 + cold + factors.reduce((sum, j) => sum + (effects[j] ?? 0), 0) + 0.006 * normal();
          runs.push({ seq: seq++, y, factors, label: null, ordinal: 0, fresh, gems: true, anchor: false });
          if (i % 6 === 5) anchor();
        }
        const truth = 0.01 + 0.03 * random();
        for (let k = 0; k < 3; k++) {
          // Per operator, the set's operators all ran before: even its first run is warm.
          const cold = semantics === 'configuration' ? coldOf(k) : 0;
          const y = 10 + truth + cold + 0.006 * normal();
          if (k > 0) runs.push({ seq, y, factors: [], label: 0, ordinal: k, fresh: false, gems: true, anchor: false });
          seq += 1;
          if (k > 0) anchor();
        }
        const f = fitModel(runs, { candidates: effects.length, labels: 1, pairs: [] }, { previous: null, reselect: true });
        if ((f.labels[0] ?? 0) - 1.645 * (f.labelSe[0] ?? 0) > truth) below += 1;
      }
      assert.ok(below / sessions <= 0.08, `${semantics}: truth below the lower bound in ${below} of ${sessions}`);
    }
  });
});
