import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { autoTuneConfigOps } from '../../src/cli/session-options.js';
import { AutotuneError } from '../../src/errors.js';
import { runDirPath, runFiles, runFileStem } from '../../src/store/run-dir.js';
import { discoverOps } from '../../src/tuner/discovery.js';
import { combinedTrial, opTrial } from '../../src/tuner/spaces/operators.js';
import { writeFileSync } from 'node:fs';

const refused = (fn: () => unknown, code: string, message: RegExp): void =>
  assert.throws(fn, (e: unknown) => e instanceof AutotuneError && e.code === code && message.test(e.message));

describe('names that reach the filesystem', () => {
  it('cannot leave the run directory, whatever the path layer is given', () => {
    const dir = '/tmp/autotune_x/run';
    assert.equal(runDirPath(dir, 'autotune_raw', '0001_op_mm_flagos_benchmark.json'), '/tmp/autotune_x/run/autotune_raw/0001_op_mm_flagos_benchmark.json');
    for (const segments of [['..', 'x'], ['../x.log'], ['a/../../x'], ['/etc/passwd'], ['.'], [''], ['autotune_raw', '..']]) {
      refused(() => runDirPath(dir, ...segments), 'E_IO', /outside the run directory/);
    }
    const stem = runFileStem(7, 'op_../../../../tmp/x/ESCAPED_flagos', 'measure', null);
    refused(() => runFiles(dir, stem), 'E_IO', /refusing to write/);
  });

  it('are identifiers before a trial is built from them', () => {
    assert.throws(() => opTrial('../../pwn', 'flagos'), /not an identifier/);
    assert.throws(() => combinedTrial({ 'a,b': 'flagos' }), /not an identifier/);
    assert.equal(opTrial('flag_gems.mm', 'flagos').prefix, 'op_flag_gems.mm_flagos');
  });

  it("drop what round 1c's log names that is not an operator name", () => {
    const found = discoverOps({ explicitOps: null, configOps: null }, ['mm', '../../pwn', 'a,b', 'add']);
    assert.deepEqual(Object.keys(found.final).filter((op) => ['mm', 'add', '../../pwn', 'a,b'].includes(op)).sort(), ['add', 'mm']);
  });
});

describe('VLLM_FL_CONFIG', () => {
  const dir = mkdtempSync(join(tmpdir(), 'autotune-config-'));
  const config = (name: string, text: string): NodeJS.ProcessEnv => {
    const path = join(dir, name);
    writeFileSync(path, text);
    return { VLLM_FL_CONFIG: path };
  };

  it('gives the operators and backends of an auto_tune file', () => {
    const env = config('ok.yaml', 'action: auto_tune\nop_backends:\n  rms_norm: [flagos, vendor]\n  mm: "flagos|reference"\n  add:\n');
    assert.deepEqual(autoTuneConfigOps(env), { rms_norm: ['flagos', 'vendor'], mm: ['flagos', 'reference'], add: [] });
    assert.equal(autoTuneConfigOps({}), null);
    assert.equal(autoTuneConfigOps({ VLLM_FL_CONFIG: ' ' }), null);
    assert.equal(autoTuneConfigOps(config('serve.yaml', 'op_backends:\n  mm: [flagos]\n')), null, 'a config for serving is not a tuning request');
  });

  it('is an E_CONFIG error, naming the problem, when missing, malformed or naming unknown things', () => {
    refused(() => autoTuneConfigOps({ VLLM_FL_CONFIG: join(dir, 'missing.yaml') }), 'E_CONFIG', /missing\.yaml: no such file/);
    refused(() => autoTuneConfigOps(config('bad.yaml', 'action: [auto_tune\n')), 'E_CONFIG', /cannot be read/);
    refused(() => autoTuneConfigOps(config('list.yaml', '- a\n- b\n')), 'E_CONFIG', /not a YAML mapping/);
    refused(() => autoTuneConfigOps(config('noops.yaml', 'action: auto_tune\n')), 'E_CONFIG', /needs an op_backends mapping/);
    refused(() => autoTuneConfigOps(config('empty.yaml', 'action: auto_tune\nop_backends: {}\n')), 'E_CONFIG', /names no operator/);
    refused(() => autoTuneConfigOps(config('pwn.yaml', 'action: auto_tune\nop_backends:\n  ../../pwn: [flagos]\n')), 'E_CONFIG', /"\.\.\/\.\.\/pwn" is not an operator name/);
    refused(() => autoTuneConfigOps(config('comma.yaml', 'action: auto_tune\nop_backends:\n  "a,b": [flagos]\n')), 'E_CONFIG', /"a,b" is not an operator name/);
    refused(() => autoTuneConfigOps(config('backend.yaml', 'action: auto_tune\nop_backends:\n  mm: [flagos, cuda]\n')), 'E_CONFIG', /unknown backend "cuda"/);
    refused(() => autoTuneConfigOps(config('num.yaml', 'action: auto_tune\nop_backends:\n  mm: 3\n')), 'E_CONFIG', /must be a list of backends/);
    rmSync(dir, { recursive: true, force: true });
  });
});
