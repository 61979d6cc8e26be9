import assert from 'node:assert/strict';
import { fromThroughput } from '../../src/tuner/metrics.js';
import { objectiveFor } from '../../src/tuner/objective.js';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import {
  formatAutotuneOpsYaml,
  formatBestConfigYaml,
  formatRunConfigYaml,
  writeAutotuneOps,
  writeBestConfig,
  writeHistoryCsv,
  writeOpConfigJson,
  writeRunConfig,
} from '../../src/store/artifacts.js';
import { atomicWriteFile } from '../../src/store/atomic-write.js';
import { createRunDir, runDirName, runFiles, runFileStem } from '../../src/store/run-dir.js';
import type { ResultsInput } from '../../src/tuner/results.js';
import { opTrial } from '../../src/tuner/spaces/operators.js';
import { tempDir } from './helpers.js';

// Expected texts were produced by PyYAML 6 `yaml.safe_dump(payload, sort_keys=False, allow_unicode=False)`.
describe('YAML formats (PyYAML safe_dump, byte for byte)', () => {
  it('best_config', () => {
    assert.equal(
      formatBestConfigYaml({ rms_norm: 'flagos', silu_and_mul: 'vendor' }),
      'op_backends:\n  rms_norm:\n  - flagos\n  silu_and_mul:\n  - vendor\n',
    );
    assert.equal(formatBestConfigYaml({}), 'op_backends: {}\n');
  });

  it('per-run config', () => {
    assert.equal(formatRunConfigYaml({}), '{}\n');
    assert.equal(formatRunConfigYaml(opTrial('rms_norm', 'reference', 'FLASHINFER').config), 'op_backends:\n  rms_norm:\n  - reference\n');
  });

  it('autotune_ops', () => {
    assert.equal(
      formatAutotuneOpsYaml({ rms_norm: ['flagos', 'vendor', 'reference'], mm: ['flagos'] }),
      'action: auto_tune\nop_backends:\n  rms_norm:\n  - flagos\n  - vendor\n  - reference\n  mm:\n  - flagos\n',
    );
    assert.equal(formatAutotuneOpsYaml({}), 'action: auto_tune\nop_backends: {}\n');
  });

  it('quotes YAML 1.1 keywords as PyYAML does', () => {
    assert.equal(formatBestConfigYaml({ on: 'flagos', yes: 'vendor' }), "op_backends:\n  'on':\n  - flagos\n  'yes':\n  - vendor\n");
  });
});

describe('file names', () => {
  it('runFileStem pads the counter like %04d', () => {
    assert.equal(runFileStem(1, 'baseline', 'warmup', 1), '0001_baseline_warmup_1');
    assert.equal(runFileStem(2, 'baseline', 'measure', null), '0002_baseline_benchmark');
    assert.equal(runFileStem(12345, 'op_rms_norm_flagos', 'measure', null), '12345_op_rms_norm_flagos_benchmark');
    assert.throws(() => runFileStem(3, 'baseline', 'warmup', null), /warm-up needs its index/);
  });

  it('runFiles puts configs in autotune_configs', () => {
    assert.deepEqual(runFiles('/r', '0001_baseline_benchmark'), {
      logPath: '/r/0001_baseline_benchmark.log',
      configPath: '/r/autotune_configs/0001_baseline_benchmark.yaml',
    });
  });

  it('run directories use local time and never collide', () => {
    const at = new Date(2026, 0, 2, 3, 4, 5);
    assert.equal(runDirName(at), 'autotune_20260102_030405');
    const base = join(tempDir(), 'autotune_logs');
    assert.equal(createRunDir(base, at), join(base, 'autotune_20260102_030405'));
    assert.equal(createRunDir(base, at), join(base, 'autotune_20260102_030405_2'));
    assert.equal(createRunDir(base, at), join(base, 'autotune_20260102_030405_3'));
    assert.deepEqual(readdirSync(base).sort(), ['autotune_20260102_030405', 'autotune_20260102_030405_2', 'autotune_20260102_030405_3']);
  });

  it('a run directory that cannot be created is an E_IO error', () => {
    const file = join(tempDir(), 'not-a-dir');
    writeFileSync(file, 'x');
    assert.throws(() => createRunDir(file), { code: 'E_IO' });
  });
});

describe('atomicWriteFile', () => {
  it('creates directories, replaces the whole file and leaves no temp file', () => {
    const dir = join(tempDir(), 'a', 'b');
    const path = join(dir, 'history.csv');
    atomicWriteFile(path, 'first version, longer than the second\n');
    atomicWriteFile(path, 'second\n');
    assert.equal(readFileSync(path, 'utf8'), 'second\n');
    assert.deepEqual(readdirSync(dir), ['history.csv']);
  });

  it('on failure throws E_IO naming the path, removes its temp file and creates nothing', () => {
    const dir = tempDir();
    const target = join(dir, 'best_config.yaml');
    mkdirSync(join(target, 'occupied'), { recursive: true }); // rename over a non-empty directory fails
    assert.throws(
      () => atomicWriteFile(target, 'op_backends: {}\n'),
      (e: unknown) => (e as { code: string }).code === 'E_IO' && (e as Error).message.startsWith(`cannot write ${target}: `),
    );
    assert.deepEqual(readdirSync(dir), ['best_config.yaml']);
    assert.deepEqual(readdirSync(target), ['occupied']);
  });

  it('an existing file keeps its old content when the directory cannot take the write', () => {
    const dir = tempDir();
    const blocker = join(dir, 'file');
    writeFileSync(blocker, 'old');
    assert.throws(() => atomicWriteFile(join(blocker, 'child.yaml'), 'new'), { code: 'E_IO' });
    assert.equal(readFileSync(blocker, 'utf8'), 'old');
  });
});

describe('artifact writers', () => {
  const input: ResultsInput = {
    policy: 'reference',
    objective: objectiveFor('total'),
    trials: [
      { key: 'baseline', kind: 'baseline', prefix: 'baseline', op: null, backend: null, attention: null },
      { key: 'op:rms_norm:flagos', kind: 'op', prefix: 'op_rms_norm_flagos', op: 'rms_norm', backend: 'flagos', attention: null },
    ],
    runs: [
      { trialKey: 'baseline', kind: 'measure', outcome: 'ok', metrics: fromThroughput({ requestsPerSec: 1, totalTokensPerSec: 1000, outputTokensPerSec: 100 }) },
      { trialKey: 'op:rms_norm:flagos', kind: 'measure', outcome: 'ok', metrics: fromThroughput({ requestsPerSec: 1, totalTokensPerSec: 1010, outputTokensPerSec: 101 }) },
    ],
    ops: { rms_norm: ['flagos'] },
    finalCombinedKey: null,
    estimates: [],
  };

  it('write every reference file under the run directory', () => {
    const runDir = tempDir();
    assert.equal(writeHistoryCsv(runDir, '../elsewhere/my.csv', input), join(runDir, 'my.csv'));
    assert.equal(
      readFileSync(join(runDir, 'my.csv'), 'utf8'),
      'op,backend,total_throughput(tokens/s),output_throughput(tokens/s),performance_ratio\r\n' +
        'baseline,,1000.00,100.00,1.0000\r\n' +
        'rms_norm,flagos,1010.00,101.00,1.0100\r\n',
    );
    writeOpConfigJson(runDir, input);
    assert.equal(
      readFileSync(join(runDir, 'op_config.json'), 'utf8'),
      '[\n  {\n    "op_name": "rms_norm",\n    "backend": "flagos",\n    "vendor": null,\n    "performance_ratio": 1.01\n  }\n]',
    );
    writeBestConfig(runDir, { rms_norm: 'flagos' }, 'temp');
    writeBestConfig(runDir, {}, 'final');
    assert.equal(readFileSync(join(runDir, 'best_config_temp.yaml'), 'utf8'), 'op_backends:\n  rms_norm:\n  - flagos\n');
    assert.equal(readFileSync(join(runDir, 'best_config.yaml'), 'utf8'), 'op_backends: {}\n');
    const { configPath } = runFiles(runDir, '0001_baseline_benchmark');
    writeRunConfig(configPath, {});
    assert.equal(readFileSync(configPath, 'utf8'), '{}\n');
    writeAutotuneOps(runDir, { type: 'ops', initial: { rms_norm: ['flagos'], mm: ['flagos'] }, final: { rms_norm: ['flagos'] }, source: 'config' });
    assert.equal(readFileSync(join(runDir, 'autotune_ops.initial.yaml'), 'utf8'), 'action: auto_tune\nop_backends:\n  rms_norm:\n  - flagos\n  mm:\n  - flagos\n');
    assert.equal(readFileSync(join(runDir, 'autotune_ops.yaml'), 'utf8'), 'action: auto_tune\nop_backends:\n  rms_norm:\n  - flagos\n');
    assert.deepEqual(readdirSync(runDir).sort(), [
      'autotune_configs',
      'autotune_ops.initial.yaml',
      'autotune_ops.yaml',
      'best_config.yaml',
      'best_config_temp.yaml',
      'my.csv',
      'op_config.json',
    ]);
  });
});
