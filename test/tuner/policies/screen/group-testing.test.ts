import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FailureIsolation } from '../../../../src/tuner/policies/screen/group-testing.js';

/** Runs the isolation against a set of truly failing candidates until nothing is left to test. */
function isolate(failing: ReadonlySet<number>, design: number[][]): { iso: FailureIsolation; tests: number } {
  const iso = new FailureIsolation();
  const outcome = (cs: readonly number[]) => (cs.some((c) => failing.has(c)) ? 'oom' : 'ok');
  let tests = 0;
  for (const run of design) {
    const live = run.filter((c) => !iso.isRetired(c));
    iso.record(live, outcome(live));
    for (let g = iso.nextTest(); g !== null; g = iso.nextTest()) {
      iso.tested(g, outcome(g));
      tests += 1;
      if (tests > 100) throw new Error('group testing did not end');
    }
  }
  return { iso, tests };
}

describe('group testing of failures', () => {
  const all = Array.from({ length: 32 }, (_, i) => i);

  it('finds one failing candidate among 32 in log2(32) tests and retires only it', () => {
    const { iso, tests } = isolate(new Set([19]), [all]);
    assert.equal(tests, 5);
    assert.ok(iso.isRetired(19));
    assert.equal(iso.retiredCount, 1);
    assert.match(iso.reasonOf(19) ?? '', /run ended with oom; isolated by group testing/);
  });

  it('finds several failures across design runs without retiring a good candidate', () => {
    const failing = new Set([3, 17, 30]);
    const halves = [all.filter((c) => c % 2 === 0), all.filter((c) => c % 2 === 1), all.slice(0, 16), all.slice(16), all];
    const { iso } = isolate(failing, halves);
    for (const c of all) assert.equal(iso.isRetired(c), failing.has(c), `candidate ${c}`);
  });

  it('clears candidates of successful runs, so a failure among cleared ones is blamed on the one left', () => {
    const iso = new FailureIsolation();
    iso.record([1, 2, 3], 'ok');
    iso.record([1, 2, 3, 4], 'engine_failure');
    assert.ok(iso.isRetired(4));
    assert.equal(iso.nextTest(), null);
  });

  it('ignores a failure whose every candidate ran fine elsewhere', () => {
    const iso = new FailureIsolation();
    iso.record([1, 2], 'ok');
    iso.record([1, 2], 'timeout');
    assert.equal(iso.retiredCount, 0);
    assert.equal(iso.nextTest(), null);
  });
});
