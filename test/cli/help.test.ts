import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { RUN_FLAGS } from '../../src/cli/args.js';
import { HELP, wantsHelp } from '../../src/cli/help.js';
import { minimumBudget } from '../../src/tuner/policies/minimum-budget.js';
import { ROOT } from '../support/cli.js';

describe('help', () => {
  it('lists every option of the tuning command and of the verbs', () => {
    for (const flag of [...RUN_FLAGS, '--json', '--limit', '--force', '--wait', '--csv', '--db', '--quiet', '--version']) {
      assert.match(HELP, new RegExp(`(^|[\\s\\[])${flag}[\\s=\\],]`, 'm'), flag);
    }
  });

  it("states the budget minimum the parser enforces", () => {
    assert.match(HELP, new RegExp(`at least ${minimumBudget('noise-aware', 2).invocations} for\\s+noise-aware`));
    assert.equal(minimumBudget('reference', 4).invocations, 3 * 4, 'help says 3 x --num-runs');
  });

  it('is asked for by --help or -h anywhere before a literal --', () => {
    assert.equal(wantsHelp(['--model', 'm', '--help']), true);
    assert.equal(wantsHelp(['--model', 'm', '-h', '--ops', 'a']), true);
    assert.equal(wantsHelp(['--model', 'm', '--', '--help']), false);
    assert.equal(wantsHelp(['--model', 'm', '--helpful']), false);
  });

  it('states every exit status, as the README does', () => {
    const readme = readFileSync(`${ROOT}/README.md`, 'utf8');
    for (const status of ['0', '1', '2', '3', '70', '127', '130']) {
      assert.match(HELP, new RegExp(`\\b${status} [a-z]`), `help: ${status}`);
      assert.match(readme, new RegExp(`\\| ${status} \\|`), `README: ${status}`);
    }
  });
});
