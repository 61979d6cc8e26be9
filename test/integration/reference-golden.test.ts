/**
 * `--policy reference` output is frozen: every artifact, the console summary and `export`
 * must stay byte for byte what the released version wrote for the same simulated session.
 * `AUTOTUNE_UPDATE_GOLDEN=1` rewrites the goldens (only for a deliberate format change).
 */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it, before, after } from 'node:test';
import { autotune, BENCH_ARGS, onlyRunDir, ROOT, sandbox, type Sandbox } from '../support/cli.js';

const GOLDEN = join(ROOT, 'test', 'fixtures', 'golden');
const UPDATE = process.env['AUTOTUNE_UPDATE_GOLDEN'] === '1';

const CASES = [
  { name: 'reference-demo', scenario: 'demo', args: [] as string[] },
  { name: 'reference-typical', scenario: 'typical', args: ['--num-runs', '1'] },
  { name: 'reference-failures', scenario: 'failures', args: ['--num-runs', '1', '--timeout', '2'] },
] as const;

const ARTIFACT_FILES = ['history.csv', 'op_config.json', 'best_config.yaml', 'best_config_temp.yaml', 'autotune_ops.yaml', 'autotune_ops.initial.yaml'];

/** Machine-specific parts (paths, times, ids) replaced by placeholders; everything else kept. */
function normalise(text: string, box: Sandbox, runDir: string, sessionId: string): string {
  return text
    .split(runDir).join('<RUN>')
    .split(box.dir).join('<DIR>')
    .split(sessionId).join('<SESSION>')
    .replace(/\(\d+\.\d s\)/g, '(<T> s)')
    .replace(/"(startedAt|endedAt|createdAt)": "[^"]*"/g, '"$1": "<TIME>"')
    .replace(/"durationMs": [\d.]+/g, '"durationMs": "<MS>"')
    .replace(/"(pid|seed)": \d+/g, '"$1": "<N>"')
    .replace(/"handle": "\d+"/g, '"handle": "<N>"');
}

function compare(name: string, file: string, actual: string): void {
  const path = join(GOLDEN, name, file);
  if (UPDATE) {
    mkdirSync(join(GOLDEN, name), { recursive: true });
    writeFileSync(path, actual);
    return;
  }
  assert.ok(existsSync(path), `missing golden ${path}`);
  assert.equal(actual, readFileSync(path, 'utf8'), `${name}/${file} differs from its golden`);
}

for (const c of CASES) {
  describe(`--policy reference golden: ${c.name}`, () => {
    let box: Sandbox;
    let runDir: string;
    let sessionId: string;
    let stdout: string;

    before(async () => {
      box = sandbox(c.scenario);
      const r = await autotune(box, [...BENCH_ARGS, '--policy', 'reference', '--quiet', ...c.args]);
      assert.equal(r.exitCode, 0, r.all);
      stdout = r.stdout;
      runDir = onlyRunDir(box);
      sessionId = (JSON.parse(readFileSync(join(runDir, 'autotune_session.json'), 'utf8')) as { session: string }).session;
    });
    after(() => rmSync(box.dir, { recursive: true, force: true }));

    it('writes the same artifacts', () => {
      for (const file of ARTIFACT_FILES) {
        const path = join(runDir, file);
        compare(c.name, file, existsSync(path) ? readFileSync(path, 'utf8') : '<absent>\n');
      }
    });

    it('prints the same console output', () => {
      compare(c.name, 'stdout.txt', normalise(stdout, box, runDir, sessionId));
    });

    it('exports the same history and JSON', async () => {
      const csv = await autotune(box, ['export', sessionId]);
      assert.equal(csv.exitCode, 0, csv.all);
      compare(c.name, 'export.csv', csv.stdout);
      const json = await autotune(box, ['export', sessionId, '--json', '-']);
      assert.equal(json.exitCode, 0, json.all);
      // The options echo the command line, whose flag names are not part of the reference format.
      const doc = JSON.parse(json.stdout) as { session: Record<string, unknown> };
      delete doc.session['options'];
      compare(c.name, 'export.json', normalise(`${JSON.stringify(doc, null, 2)}\n`, box, runDir, sessionId));
    });
  });
}
