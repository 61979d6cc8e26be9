/**
 * A session's artifacts tell one story (the default, screening policy): history.csv, op_config.json,
 * best_config.yaml, the summary and `export --json` all come from the estimates that made
 * the decision (the `typical` scenario, where raw means put every operator below baseline).
 */
import assert from 'node:assert/strict';
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it, before, after } from 'node:test';
import { parse } from 'yaml';
import { formatFixed } from '../../src/tuner/results.js';
import { autotune, BENCH_ARGS, onlyRunDir, sandbox, type Sandbox } from '../support/cli.js';

interface ExportDoc {
  decisions: { subject: string; estimate: number | null; low: number | null; high: number | null }[];
  final: { opBackends: Record<string, string>; attention: string | null; speedup: number | null; low: number | null; high: number | null; validated: boolean };
  history: { op: string; backend: string | null; ratio: number | null; estimated: boolean; ratioLow: number | null; ratioHigh: number | null }[];
}

describe('the default policy\'s artifacts agree', () => {
  let box: Sandbox;
  let runDir: string;
  let doc: ExportDoc;
  let csv: string[][];
  let stdout: string;

  before(async () => {
    box = sandbox('typical');
    const r = await autotune(box, [...BENCH_ARGS, '--quiet']);
    assert.equal(r.exitCode, 0, r.all);
    stdout = r.stdout;
    runDir = onlyRunDir(box);
    const sessionId = (JSON.parse(readFileSync(join(runDir, 'autotune_session.json'), 'utf8')) as { session: string }).session;
    const exported = await autotune(box, ['export', sessionId, '--json', '-']);
    assert.equal(exported.exitCode, 0, exported.all);
    doc = JSON.parse(exported.stdout) as ExportDoc;
    csv = readFileSync(join(runDir, 'history.csv'), 'utf8')
      .trim()
      .split('\r\n')
      .slice(1)
      .map((l) => l.split(','));
  });
  after(() => rmSync(box.dir, { recursive: true, force: true }));

  it('chooses a validated set (the scenario this test is about)', () => {
    assert.ok(doc.final.validated && Object.keys(doc.final.opBackends).length > 0);
  });

  it('op_config.json marks exactly best_config.yaml\'s operators flagos', () => {
    const best = (parse(readFileSync(join(runDir, 'best_config.yaml'), 'utf8')) as { op_backends: Record<string, string[]> }).op_backends;
    const entries = JSON.parse(readFileSync(join(runDir, 'op_config.json'), 'utf8')) as { op_name: string; backend: string; performance_ratio: number | null }[];
    assert.deepEqual(entries.filter((e) => e.backend === 'flagos').map((e) => e.op_name).sort(), Object.keys(best).sort());
    const estimates = new Map(doc.decisions.map((d) => [d.subject, d.estimate]));
    for (const e of entries.filter((x) => x.backend === 'flagos')) {
      const backend = doc.final.opBackends[e.op_name] as string;
      const key = `op:${e.op_name}:${backend}${backend === 'reference' ? `:${doc.final.attention}` : ''}`;
      const estimate = estimates.get(key);
      assert.ok(estimate !== undefined && estimate !== null, key);
      assert.ok(Math.abs((e.performance_ratio ?? NaN) - (1 + estimate)) < 1e-12, `${e.op_name}: ${e.performance_ratio} vs 1 + ${estimate}`);
    }
  });

  it('history.csv rows carry the estimates, and combined_best the validated speed-up the summary prints', () => {
    const combined = csv.find((r) => r[0] === 'combined_best');
    assert.equal(combined?.[4], formatFixed(1 + (doc.final.speedup ?? NaN), 4));
    assert.match(stdout, new RegExp(`speed-up vs baseline: \\+${((doc.final.speedup ?? NaN) * 100).toFixed(2)}%`));
    for (const [op, backend] of Object.entries(doc.final.opBackends)) {
      const shown = csv.find((r) => r[0] === op && r[1] === backend);
      const row = doc.history.find((h) => h.op === op && h.backend === backend);
      assert.ok(shown !== undefined && row !== undefined, `${op} ${backend}`);
      assert.equal(shown[4], formatFixed(row.ratio ?? NaN, 4));
      assert.equal(row.estimated, true);
    }
    // Chosen operators are not all shown below the baseline any more.
    assert.ok(Object.entries(doc.final.opBackends).some(([op, b]) => Number(csv.find((r) => r[0] === op && r[1] === b)?.[4]) > 1));
  });

  it('export --json marks estimated rows with their interval', () => {
    const estimated = doc.history.filter((h) => h.estimated);
    assert.ok(estimated.length > 0);
    for (const h of estimated) {
      assert.ok(h.ratioLow !== null && h.ratioHigh !== null && h.ratio !== null, `${h.op} ${h.backend}`);
      assert.ok(h.ratioLow <= h.ratio && h.ratio <= h.ratioHigh, `${h.op} ${h.backend}: ${h.ratioLow} ${h.ratio} ${h.ratioHigh}`);
    }
    const baseline = doc.history.find((h) => h.op === 'baseline');
    assert.equal(baseline?.estimated, false);
  });
});
