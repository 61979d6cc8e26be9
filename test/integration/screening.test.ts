/**
 * A screening-policy session through the built CLI on the simulator: crashing operators are
 * isolated, the set is validated, history.csv shows model estimates for operators never
 * measured alone, and the export marks them as estimates.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { autotune, BENCH_ARGS, onlyRunDir, sandbox } from '../support/cli.js';

describe('a screening-policy session on the failures scenario', () => {
  it('validates a set, isolates the failures and exports model estimates as such', async () => {
    // A fixed seed: the session's operator order (and so its outcome) would otherwise follow the random session id.
    const box = sandbox('failures');
    const result = await autotune(box, [...BENCH_ARGS, '--policy', 'screening', '--autotune-seed', '7', '--quiet', '--timeout', '3']);
    assert.equal(result.exitCode, 0, result.all);
    assert.match(result.stdout, /Validated speed-up: \+\d+\.\d\d%, lower bound \+\d+\.\d\d% at a one-sided error rate of 5% over all looks/);
    const runDir = onlyRunDir(box);

    const out = join(box.dir, 'out.json');
    const exported = await autotune(box, ['export', runDir, '--json', out]);
    assert.equal(exported.exitCode, 0, exported.all);
    const json = JSON.parse(readFileSync(out, 'utf8')) as { decisions: { subject: string; verdict: string; basis: string; estimate: number | null; low: number | null; high: number | null; reason: string }[] };
    const failed = json.decisions.filter((d) => d.verdict === 'failed').map((d) => d.subject).sort();
    // softmax oom, cumsum hang, argmax no result, index_select kernel fault, rotary_embedding's flagos engine crash.
    assert.deepEqual(failed, ['op:argmax:flagos', 'op:cumsum:flagos', 'op:index_select:flagos', 'op:rotary_embedding:flagos', 'op:softmax:flagos']);
    const mul = json.decisions.find((d) => d.subject === 'op:mul:flagos');
    assert.ok(mul !== undefined && mul.verdict === 'kept', JSON.stringify(mul));
    assert.equal(mul.basis, 'model');
    assert.ok(mul.low !== null && mul.high !== null && mul.low < (mul.estimate ?? NaN) && (mul.estimate ?? NaN) < mul.high);

    // Its history.csv row is the baseline scaled by the model's estimate.
    const csv = readFileSync(join(runDir, 'history.csv'), 'utf8').split('\r\n');
    const base = Number(csv.find((l) => l.startsWith('baseline,,'))?.split(',')[2]);
    const row = csv.find((l) => l.startsWith('mul,flagos,'))?.split(',');
    assert.ok(row !== undefined, csv.join('\n'));
    assert.ok(Math.abs(Number(row[2]) - base * (1 + (mul.estimate ?? 0))) < 0.01, `${row.join(',')} vs ${base} x ${mul.estimate}`);
    assert.match(readFileSync(join(runDir, 'best_config.yaml'), 'utf8'), /mul:\n\s+- flagos/);
  });
});
