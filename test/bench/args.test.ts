/** The benchmarks' command lines: --help, and one line with exit status 2 for a bad option or value. */
import assert from 'node:assert/strict';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';
import { execa } from 'execa';

const BENCH = resolve(fileURLToPath(new URL('../../bench', import.meta.url)));
const bench = (name: string, args: readonly string[]) => execa(process.execPath, [join(BENCH, `${name}.js`), ...args], { reject: false, all: true });

describe('benchmark command lines', () => {
  it('print their usage for --help and exit 0', async () => {
    for (const name of ['decisions', 'engine', 'policy', 'slots']) {
      const r = await bench(name, ['--help']);
      assert.equal(r.exitCode, 0, `${name}: ${r.all}`);
      assert.match(r.stdout, new RegExp(`^usage: node dist/bench/${name}\\.js `));
    }
  });

  it('refuse a bad option or value in one line and the usage, exit 2, without a stack trace', async () => {
    const cases: [string, string[], RegExp][] = [
      ['decisions', ['--bogus'], /^Unknown option '--bogus'/],
      ['decisions', ['--split', 'x'], /^--split must be heldout, tuning or tuning-generated, not x$/m],
      ['decisions', ['--seeds', '0'], /^--seeds must be a whole number >= 1, not 0$/m],
      ['decisions', ['--cold', 'warm'], /^--cold must list configuration and\/or operator, not warm$/m],
      ['decisions', ['--policies', 'tiers'], /^--policies: tiers is not one of noise-aware, screening/m],
      ['decisions', ['--split', 'tuning', '--scenarios', 'typical,nope'], /^--scenarios: nope names no scenario or class of the tuning split$/m],
      ['engine', ['--seeds', 'x'], /^--seeds must be a whole number >= 1, not NaN$/m],
      ['policy', ['--sessions', '0'], /^--sessions must be a whole number >= 1, not 0$/m],
      ['slots', ['--sleep-ms', '0'], /^--sleep-ms must be a number > 0, not 0$/m],
    ];
    for (const [name, args, message] of cases) {
      const r = await bench(name, args);
      assert.equal(r.exitCode, 2, `${name} ${args.join(' ')}: ${r.all}`);
      assert.equal(r.stdout, '');
      assert.match(r.stderr, message);
      assert.match(r.stderr, new RegExp(`\\nusage: node dist/bench/${name}\\.js `));
      assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
      assert.equal(r.stderr.trim().split('\n').length, 2);
    }
  });
});
