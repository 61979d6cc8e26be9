/**
 * `--policy reference` writes history.csv, best_config.yaml and op_config.json byte for byte
 * as release 0.1.0 did (test/fixtures/reference-goldens), on scenarios that cover every
 * result format, failures, vendor and reference backends, and a session that keeps nothing.
 */
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { autotune, BENCH_ARGS, onlyRunDir, ROOT, sandbox } from '../support/cli.js';

const GOLDENS = join(ROOT, 'test', 'fixtures', 'reference-goldens');
const SCENARIOS = ['demo', 'failures', 'old-format', 'serve-legacy', 'vendor-wins', 'nothing-helps'];

describe('reference policy: release 0.1.0 artifacts', () => {
  for (const scenario of SCENARIOS) {
    it(`${scenario}: artifacts identical to release 0.1.0`, async () => {
      const box = sandbox(scenario);
      const r = await autotune(box, [...BENCH_ARGS, '--quiet', '--policy', 'reference', '--timeout', '2']);
      assert.equal(r.exitCode, 0, r.all);
      const runDir = onlyRunDir(box);
      const golden = join(GOLDENS, scenario);
      assert.ok(readdirSync(golden).length === 3);
      for (const file of ['history.csv', 'best_config.yaml', 'op_config.json']) {
        assert.ok(existsSync(join(runDir, file)), file);
        assert.equal(readFileSync(join(runDir, file), 'utf8'), readFileSync(join(golden, file), 'utf8'), `${scenario}/${file}`);
      }
    });
  }
});
