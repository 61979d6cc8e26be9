/** What `npm run build` starts from and what the published package holds. */
import assert from 'node:assert/strict';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { execa } from 'execa';
import { ROOT } from '../support/cli.js';

describe('packaging', () => {
  it('builds from a clean dist: the build removes dist first', async () => {
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> };
    assert.match(pkg.scripts['build'] ?? '', /^node scripts\/clean-dist\.mjs && /);
    const dir = mkdtempSync(join(tmpdir(), 'autotune-clean-'));
    try {
      mkdirSync(join(dir, 'scripts'));
      mkdirSync(join(dir, 'dist', 'test'), { recursive: true });
      writeFileSync(join(dir, 'dist', 'test', 'stale.test.js'), '');
      copyFileSync(join(ROOT, 'scripts', 'clean-dist.mjs'), join(dir, 'scripts', 'clean-dist.mjs'));
      const r = await execa(process.execPath, [join(dir, 'scripts', 'clean-dist.mjs')], { reject: false });
      assert.equal(r.exitCode, 0, r.stderr);
      assert.equal(existsSync(join(dir, 'dist')), false);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('ships the CLI and the vLLM argument lists, and no tests or benchmarks', async () => {
    const r = await execa('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: ROOT, reject: false });
    assert.equal(r.exitCode, 0, r.stderr);
    const [packed] = JSON.parse(r.stdout) as { files: { path: string }[] }[];
    const files = (packed?.files ?? []).map((f) => f.path);
    for (const needed of ['dist/src/cli/main.js', 'configs/vllm-args/bench-throughput.json', 'README.md', 'package.json']) assert.ok(files.includes(needed), needed);
    const unwanted = files.filter((f) => /^(dist\/)?(test|bench)\//.test(f) || /\.test\.js$/.test(f));
    assert.deepEqual(unwanted, []);
  });
});
