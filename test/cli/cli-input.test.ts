/** Bad tuning command lines, as a user types them, against the built CLI: one line, exit status, nothing written or run. */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { autotune, BENCH_ARGS, invocations, sandbox, type Sandbox } from '../support/cli.js';

const boxes: Sandbox[] = [];
function box(): Sandbox {
  const b = sandbox('demo');
  boxes.push(b);
  return b;
}

/** Refused with `status` and one stderr line matching `message`, before any database, run directory or vllm run. */
async function refused(args: readonly string[], status: number, message: RegExp, env: Record<string, string> = {}, b: Sandbox = box()): Promise<void> {
  const r = await autotune(b, args, env);
  assert.equal(r.exitCode, status, r.all);
  const lines = r.stderr.split('\n').filter((l) => l !== '');
  assert.equal(lines.length, 1, r.stderr);
  assert.match(lines[0] ?? '', message);
  assert.doesNotMatch(r.all, /\n\s+at /, 'no stack trace');
  assert.equal(existsSync(join(b.dir, 'autotune_logs')), false, 'no run directory or database');
  assert.deepEqual(invocations(b), [], 'vllm never ran');
}

after(() => {
  for (const b of boxes) rmSync(b.dir, { recursive: true, force: true });
});

describe('the tuning command refuses bad input before anything starts', () => {
  it('refuses operator names that would lead out of the run directory', async () => {
    const b = box();
    const outside = join(b.dir, 'x');
    mkdirSync(outside);
    await refused([...BENCH_ARGS, '--ops', `rms_norm,../../../..${outside}/ESCAPED`, '--num-runs', '1'], 2, /`--ops`: `\.\.\/.*ESCAPED` is not an operator name/, {}, b);
    assert.deepEqual(readdirSync(outside), []);
  });

  it('refuses an empty --ops instead of hours of full discovery', async () => {
    await refused([...BENCH_ARGS, '--ops', ',,'], 2, /`--ops` names no operator/);
  });

  it('refuses a --csv-path that would overwrite an artifact', async () => {
    for (const name of ['autotune_session.json', 'best_config.yaml', 'autotune.log']) {
      await refused([...BENCH_ARGS, '--csv-path', name], 2, new RegExp(`would overwrite the session's own \`${name.replace('.', '\\.')}\``));
    }
  });

  it('refuses a missing, malformed or unknown-backend VLLM_FL_CONFIG with one E_CONFIG line', async () => {
    const b = box();
    const bad = join(b.dir, 'bad.yaml');
    writeFileSync(bad, 'action: auto_tune\nop_backends:\n  rms_norm: [flagos, turbo]\n');
    const pwn = join(b.dir, 'pwn.yaml');
    writeFileSync(pwn, 'action: auto_tune\nop_backends:\n  ../../pwn: [flagos]\n');
    await refused([...BENCH_ARGS], 2, /^autotune: VLLM_FL_CONFIG .*missing\.yaml: no such file/, { VLLM_FL_CONFIG: join(b.dir, 'missing.yaml') }, b);
    await refused([...BENCH_ARGS], 2, /unknown backend "turbo"/, { VLLM_FL_CONFIG: bad }, b);
    await refused([...BENCH_ARGS, '--ops', 'mm'], 2, /"\.\.\/\.\.\/pwn" is not an operator name/, { VLLM_FL_CONFIG: pwn }, b);
  });

  it('refuses --background values it cannot read, and a budget below the minimum', async () => {
    await refused([...BENCH_ARGS, '--background', 'yes'], 2, /Expected `--background` to be true, 1, false or 0/);
    await refused([...BENCH_ARGS, '--budget', '3'], 2, /`--budget 3` is below the 10 invocations the screening policy needs/);
  });

  it('refuses misspelt own options with a did-you-mean, and old names with the new one', async () => {
    await refused([...BENCH_ARGS, '--polciy', 'reference'], 2, /did you mean `--policy`/);
    await refused([...BENCH_ARGS, '--num-run', '1'], 2, /did you mean `--num-runs`/);
    await refused([...BENCH_ARGS, '--metric', 'output'], 2, /now `--autotune-metric`/);
  });

  it('prints help and runs nothing for --help or -h anywhere among its own arguments', async () => {
    for (const args of [[...BENCH_ARGS, '--help'], [...BENCH_ARGS, '--ops', 'mm', '-h', '--num-runs', '1']]) {
      const b = box();
      const r = await autotune(b, args);
      assert.equal(r.exitCode, 0, r.all);
      assert.match(r.stdout, /^autotune: find the fastest set/);
      assert.equal(existsSync(join(b.dir, 'autotune_logs')), false);
      assert.deepEqual(invocations(b), []);
    }
  });
});

describe("vLLM's own options", () => {
  it("reach vLLM: --seed is vLLM's, --autotune-seed autotune's", async () => {
    const b = box();
    const r = await autotune(b, [...BENCH_ARGS, '--seed', '7', '--autotune-seed', '3', '--ops', 'rms_norm', '--num-runs', '1', '--policy', 'reference', '--quiet']);
    assert.equal(r.exitCode, 0, r.all);
    const seen = invocations(b);
    assert.ok(seen.length > 0);
    for (const inv of seen) {
      const argv = inv.argv ?? [];
      assert.deepEqual(argv.slice(argv.indexOf('--seed'), argv.indexOf('--seed') + 2), ['--seed', '7']);
      assert.equal(argv.includes('--autotune-seed'), false);
    }
  });
});
