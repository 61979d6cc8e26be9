import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseVerbArgs } from '../../src/cli/verb-args.js';
import { AutotuneError } from '../../src/errors.js';

const RESUME = { values: ['--db'], switches: ['--quiet'], booleans: ['--background'] };

describe('parseVerbArgs', () => {
  it('reads --background of resume strictly: a boolean word, or none for true', () => {
    assert.equal(parseVerbArgs(['ID', '--background', 'TRUE'], RESUME).booleans['--background'], true);
    assert.equal(parseVerbArgs(['ID', '--background', '0'], RESUME).booleans['--background'], false);
    assert.equal(parseVerbArgs(['ID', '--background'], RESUME).booleans['--background'], true);
    const bare = parseVerbArgs(['--background', 'ID', '--quiet'], RESUME);
    assert.equal(bare.booleans['--background'], true);
    assert.deepEqual(bare.positional, ['ID']);
    assert.throws(() => parseVerbArgs(['ID', '--background=yes'], RESUME), (e: unknown) => e instanceof AutotuneError && e.code === 'E_USAGE' && /true, 1, false or 0/.test(e.message));
    // `yes` is no boolean word, so it is a second session: refused, never read as false.
    assert.throws(() => parseVerbArgs(['ID', '--background', 'yes'], RESUME), /expected at most one session/);
  });

  it('takes --autotune-db as --db, the tuning command name for it', () => {
    assert.equal(parseVerbArgs(['--autotune-db', 'x.db'], RESUME).values['--db'], 'x.db');
    assert.equal(parseVerbArgs(['--autotune-db=y.db'], RESUME).values['--db'], 'y.db');
  });

  it('refuses unknown options', () => {
    assert.throws(() => parseVerbArgs(['--polciy'], RESUME), /unknown option `--polciy`/);
  });
});
