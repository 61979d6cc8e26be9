import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseRunArgs } from '../../src/cli/args.js';
import { readSessionOptions, SESSION_OPTIONS_VERSION, sessionOptionsFrom } from '../../src/cli/session-options.js';
import { AutotuneError } from '../../src/errors.js';
import type { JsonObject } from '../../src/store/records.js';

/** Stored options exactly as a session created before the options had a version holds them. */
const UNVERSIONED: JsonObject = {
  numRuns: 2,
  metric: 'output',
  minGain: 0.005,
  budget: null,
  seed: 12345,
  timeoutSec: 7200,
  vllmBin: 'vllm',
  csvName: 'history.csv',
  policy: 'noise-aware',
  discovery: { explicitOps: ['mm'], configOps: null },
};

describe('stored session options', () => {
  it('reads an old row without a version as version 1, with today’s defaults', () => {
    const o = readSessionOptions(UNVERSIONED);
    assert.equal(o.version, SESSION_OPTIONS_VERSION);
    assert.equal(o.metric, 'output');
    assert.equal(o.bench, 'throughput');
    assert.deepEqual(o.objective, { metric: 'output_tokens_per_s', direction: 'maximize', constraints: [] });
    assert.equal(o.workload, null);
    assert.deepEqual(o.discovery, { explicitOps: ['mm'], configOps: null });
  });

  it('reads back what a new session stores', () => {
    const run = { ...parseRunArgs(['--model', 'm', '--ops', 'mm']), backends: ['vendor' as const] };
    const stored = JSON.parse(JSON.stringify(sessionOptionsFrom(run, 'id', {}))) as JsonObject;
    assert.equal(stored['version'], SESSION_OPTIONS_VERSION);
    assert.deepEqual(readSessionOptions(stored), sessionOptionsFrom(run, 'id', {}));
  });

  it('refuses options from a newer autotune, and damaged ones', () => {
    assert.throws(
      () => readSessionOptions({ ...UNVERSIONED, version: SESSION_OPTIONS_VERSION + 1 }),
      (e: unknown) => e instanceof AutotuneError && e.code === 'E_DB_TOO_NEW' && e.exitStatus === 3,
    );
    assert.throws(
      () => readSessionOptions({ ...UNVERSIONED, numRuns: 'two' }),
      (e: unknown) => e instanceof AutotuneError && e.code === 'E_DB' && e.message === 'stored session options are damaged at numRuns: must be integer',
    );
    assert.throws(() => readSessionOptions({ ...UNVERSIONED, surprise: 1 }), (e: unknown) => e instanceof AutotuneError && e.code === 'E_DB');
    const { discovery: _dropped, ...noDiscovery } = UNVERSIONED;
    assert.throws(() => readSessionOptions(noDiscovery), (e: unknown) => e instanceof AutotuneError && e.code === 'E_DB');
  });
});
