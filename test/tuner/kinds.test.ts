/** Trial kinds as open data: each search space declares its own, and no reader names one. */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, it } from 'node:test';
import { kindInfo } from '../../src/tuner/spaces/kinds.js';
import { engineTrial } from '../../src/tuner/spaces/engine.js';
import { DEFAULT_ENGINE, DEFAULT_OPERATOR_SET, gridTrials } from '../../src/tuner/spaces/grid.js';
import { baselineTrial, combinedTrial, fakeGemsTrial, gemsEnableTrial, opTrial, OPERATOR_STAGE_ORDER } from '../../src/tuner/spaces/operators.js';
import { ROOT } from '../support/cli.js';

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? sources(path) : path.endsWith('.ts') ? [path] : [];
  });
}

describe('trial kinds', () => {
  it('reads each kind as the space that makes its trials declares it', () => {
    assert.deepEqual(
      [baselineTrial(), fakeGemsTrial(), gemsEnableTrial(), opTrial('mm', 'flagos'), combinedTrial({ mm: 'flagos' }, 'combined_best', null)].map((t) => [t.kind, kindInfo(t.kind).role, kindInfo(t.kind).anchor]),
      [['baseline', 'baseline', true], ['fake_gems', 'gems', false], ['gems_enable', 'gems', false], ['op', 'operator', false], ['combined', 'combined', false]],
    );
    const [point] = gridTrials({ benchmark: 'latency', points: [{ key: 'b1', workload: { batch_size: 1 } }], operatorSets: [DEFAULT_OPERATOR_SET], engines: [DEFAULT_ENGINE] });
    assert.deepEqual(kindInfo(point?.kind), { kind: 'point', role: 'configuration', anchor: false });
    assert.deepEqual(kindInfo(engineTrial({ 'max-num-seqs': 8 }, 't1', null).kind), { kind: 'engine', role: 'configuration', anchor: false });
  });

  it('reads a kind no space declares as a plain configuration', () => {
    assert.deepEqual(kindInfo('speculative'), { kind: 'speculative', role: 'configuration', anchor: false });
    assert.deepEqual(kindInfo(undefined), { kind: '', role: 'configuration', anchor: false });
  });

  it('is named only by the search spaces: no reader compares a kind or a round with a literal', () => {
    const declared = [...OPERATOR_STAGE_ORDER.map((s) => s.kind), 'point', 'engine'].join('|');
    const rounds = OPERATOR_STAGE_ORDER.map((s) => s.round).join('|');
    const literal = new RegExp(`(kind|round)\\s*[!=]==\\s*'(${declared}|${rounds})'|case '(${declared})':|kindValue\\('`);
    const offenders = sources(join(ROOT, 'src'))
      .filter((file) => !relative(ROOT, file).startsWith(join('src', 'tuner', 'spaces')))
      .filter((file) => literal.test(readFileSync(file, 'utf8')))
      .map((file) => relative(ROOT, file));
    assert.deepEqual(offenders, []);
  });
});
