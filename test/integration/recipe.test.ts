/**
 * The serving recipe applied as a user would: the simulator's benchmark run with the recipe's
 * environment measures what the session validated, and `export --recipe` rebuilds the files.
 */
import assert from 'node:assert/strict';
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { execa } from 'execa';
import { combinedTrial } from '../../src/tuner/spaces/operators.js';
import type { ServeRecipe } from '../../src/tuner/recipe.js';
import { autotune, BENCH_ARGS, onlyRunDir, sandbox, SIM_BIN, type Sandbox } from '../support/cli.js';

interface Exported {
  final: { opBackends: Record<string, 'flagos' | 'vendor' | 'reference'>; attention: 'FLASH_ATTN' | 'FLASHINFER' | null; validated: boolean; speedup: number | null };
  runs: { trial: string; kind: string; outcome: string; totalTokensPerSec: number | null }[];
}

const mean = (xs: readonly number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;

describe('serving recipe on the simulator', () => {
  let box: Sandbox;
  let runDir: string;
  let recipe: ServeRecipe;
  let exported: Exported;
  const args = [...BENCH_ARGS, '--num-prompts', '200', '--load-format', 'dummy'];

  before(async () => {
    box = sandbox('demo');
    const run = await autotune(box, [...args, '--quiet']);
    assert.equal(run.exitCode, 0, run.all);
    runDir = onlyRunDir(box);
    recipe = JSON.parse(readFileSync(join(runDir, 'serve_recipe.json'), 'utf8')) as ServeRecipe;
    const ex = await autotune(box, ['export', runDir, '--json', '-']);
    exported = JSON.parse(ex.stdout) as Exported;
  });
  after(() => rmSync(box.dir, { recursive: true, force: true }));

  it('serves the validated set with the measured engine arguments', () => {
    assert.equal(exported.final.validated, true);
    assert.deepEqual(recipe.opBackends, exported.final.opBackends);
    assert.deepEqual(recipe.argv, ['vllm', 'serve', '/models/Qwen3-4B', '--load-format', 'dummy']);
    assert.ok(recipe.dropped.includes('--num-prompts'));
    assert.equal(recipe.env['VLLM_FL_CONFIG'], join(runDir, 'best_config.yaml'));
    const shell = readFileSync(join(runDir, 'serve_recipe.sh'), 'utf8');
    assert.match(shell, /^unset VLLM_FL_FLAGOS_BLACKLIST$/m);
    assert.match(shell, /^exec vllm serve \/models\/Qwen3-4B --load-format dummy "\$@"$/m);
  });

  it("reproduces the validated configuration's throughput within noise", async () => {
    const key = combinedTrial(exported.final.opBackends, 'combined_best', exported.final.attention).key;
    const measured = exported.runs.filter((r) => r.trial === key && r.kind === 'measure' && r.outcome === 'ok').map((r) => r.totalTokensPerSec as number);
    const baseline = exported.runs.filter((r) => r.trial === 'baseline' && r.kind === 'measure' && r.outcome === 'ok').map((r) => r.totalTokensPerSec as number);
    assert.ok(measured.length > 0 && baseline.length > 0);
    // The user's shell: their own environment, minus what the recipe unsets, plus what it exports.
    const env: Record<string, string> = { ...box.env };
    for (const name of recipe.unset) delete env[name];
    Object.assign(env, recipe.env);
    const served: number[] = [];
    for (let i = 0; i < 3; i++) {
      const r = await execa(join(SIM_BIN, 'vllm'), ['bench', 'throughput', ...args], { env, extendEnv: false, cwd: box.dir, reject: false });
      const m = /Throughput: [\d.]+ requests\/s, ([\d.]+) total tokens\/s/.exec(r.stdout + r.stderr);
      assert.ok(m !== null, r.stdout + r.stderr);
      served.push(Number(m[1]));
    }
    // Against the validated speed-up over the baseline's measured runs: the set's own runs follow
    // its one warm-up and still carry what is left of the demo scenario's fading cold penalty
    // (4%, 30% of it on the next run), which the model's estimate takes out and the recipe's
    // warm runs do not pay.
    const speedup = exported.final.speedup ?? NaN;
    const gap = Math.abs(mean(served) / (mean(baseline) * (1 + speedup)) - 1);
    assert.ok(gap < 0.01, `served ${mean(served).toFixed(1)} vs validated ${(mean(baseline) * (1 + speedup)).toFixed(1)} tok/s`);
    assert.ok(gap < speedup / 2, `the served throughput is nearer the validated set (${(speedup * 100).toFixed(2)}% over baseline) than the baseline`);
  });

  it('export --recipe regenerates the same files', async () => {
    const out = join(box.dir, 'again');
    const r = await autotune(box, ['export', runDir, '--recipe', out]);
    assert.equal(r.exitCode, 0, r.all);
    assert.equal(readFileSync(join(out, 'serve_recipe.json'), 'utf8'), readFileSync(join(runDir, 'serve_recipe.json'), 'utf8'));
    assert.equal(readFileSync(join(out, 'serve_recipe.sh'), 'utf8'), readFileSync(join(runDir, 'serve_recipe.sh'), 'utf8'));
  });
});
