/**
 * The runner contract, held against every runner: a run starts and reports its handle, its
 * output lands in its log, its exit is classified, a timeout and a stop end it with nothing of
 * it left running, and an orphan is reaped through the handle stored in the database, or by
 * its run key when no handle was stored (and only when it is ours).
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { LocalRunner } from '../../src/runners/local.js';
import { isProcessGroupAlive } from '../../src/runners/process-group.js';
import { openStore } from '../../src/store/db.js';
import { beginRun, loadRuns, setRunHandle } from '../../src/store/runs.js';
import { createSession } from '../../src/store/sessions.js';
import type { RunHandle, RunRequest, Runner } from '../../src/tuner/ports.js';
import { baselineTrial } from '../../src/tuner/spaces/operators.js';
import { InProcessRunner } from '../support/in-process-runner.js';
import { SKIP_SLURM, startSlurmCluster, type SlurmCluster } from '../support/slurm.js';
import { DEFAULT_SLURM_OPTIONS } from '../../src/runners/slurm/options.js';
import { SlurmRunner } from '../../src/runners/slurm/runner.js';
import { isLive } from '../../src/runners/slurm/job-state.js';

const dir = mkdtempSync(join(tmpdir(), 'autotune-runner-contract-'));
after(() => rmSync(dir, { recursive: true, force: true }));

interface Harness {
  readonly runner: Runner;
  readonly vllmBin: string;
  /** Whether anything of the run is still alive (for a process: its whole group). */
  alive(handle: RunHandle): boolean;
}

function writeContractVllm(bin: string): void {
  writeFileSync(
    bin,
    `#!${process.execPath}
'use strict';
const what = process.argv[4];
if (what === 'ok') { console.log('Throughput: 1.00 requests/s, 100.00 total tokens/s, 50.00 output tokens/s'); process.exit(0); }
if (what === 'fail') { console.error('boom'); process.exit(1); }
require('node:child_process').spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' });
console.log('started');
setInterval(() => {}, 1000);
`,
    { mode: 0o755 },
  );
}

/** A stand-in `vllm` whose first argument after `bench throughput` picks its behaviour; `hang` leaves a grandchild too. */
function localHarness(): Harness {
  const bin = join(dir, 'vllm-contract');
  writeContractVllm(bin);
  const runner = new LocalRunner({ killGraceMs: 200 });
  return { runner, vllmBin: bin, alive: (h) => h.pid !== null && isProcessGroupAlive(h.pid) };
}

function inProcessHarness(): Harness {
  const runner = new InProcessRunner();
  return { runner, vllmBin: 'none', alive: (h) => runner.alive(h.id) };
}

let cluster: SlurmCluster | null = null;
after(() => cluster?.stop());

/** The same stand-in, run as SLURM jobs on a real one-node cluster; alive while SLURM says the job is. */
function slurmHarness(): Harness {
  if (cluster === null) {
    cluster = startSlurmCluster({ ctld: 6917, slurmd: 6918 });
    Object.assign(process.env, cluster.env);
  }
  const bin = join(dir, 'vllm-contract-slurm');
  writeContractVllm(bin);
  const runner = new SlurmRunner(DEFAULT_SLURM_OPTIONS, { pollMs: 100 });
  const alive = (h: RunHandle): boolean => {
    const out = spawnSync('scontrol', ['show', 'job', '-o', h.id], { encoding: 'utf8' }).stdout;
    const state = /JobState=(\S+)/.exec(out)?.[1];
    return state !== undefined && isLive(state);
  };
  return { runner, vllmBin: bin, alive };
}

let n = 0;
function request(h: Harness, behaviour: string, overrides: Partial<RunRequest> = {}): RunRequest {
  const name = `r${++n}`;
  return {
    trial: baselineTrial(),
    passthrough: [behaviour],
    vllmBin: h.vllmBin,
    baseEnv: { PATH: process.env['PATH'] },
    logPath: join(dir, name, 'run.log'),
    configPath: join(dir, name, 'config.yaml'),
    oplistPath: join(dir, name, 'oplist.txt'),
    outputJsonPath: null,
    runKey: `contract:${name}`,
    timeoutMs: 10_000,
    ...overrides,
  };
}

async function until(check: () => boolean): Promise<void> {
  for (let i = 0; i < 2000 && !check(); i++) await sleep(10);
  assert.ok(check(), 'condition never held');
}

const HARNESSES = [
  ['LocalRunner', localHarness, false],
  ['InProcessRunner', inProcessHarness, false],
  ['SlurmRunner', slurmHarness, SKIP_SLURM],
] as const;

for (const [label, make, skip] of HARNESSES) {
  describe(`runner contract: ${label}`, { timeout: 60_000, skip }, () => {
    let h: Harness;
    before(() => {
      h = make();
    });

    it('starts, reports its handle, writes its output to the log and echo, and classifies the exit', async () => {
      const handles: RunHandle[] = [];
      const echoed: string[] = [];
      const req = request(h, 'ok', { onStart: (x) => handles.push(x), echo: (c) => echoed.push(c) });
      const ok = await h.runner.run(req);
      assert.equal(ok.outcome, 'ok', ok.failure ?? '');
      assert.equal(ok.metrics?.['total_tokens_per_s'], 100);
      assert.equal(handles.length, 1);
      assert.equal(handles[0]?.runner, h.runner.name);
      assert.match(readFileSync(req.logPath, 'utf8'), /100\.00 total tokens\/s/);
      assert.match(echoed.join(''), /100\.00 total tokens\/s/);
      const failed = await h.runner.run(request(h, 'fail'));
      assert.equal(failed.outcome, 'nonzero_exit');
      assert.equal(failed.metrics, null);
    });

    it('a timeout ends the run and leaves nothing of it running', async () => {
      let handle: RunHandle | null = null;
      const r = await h.runner.run(request(h, 'hang', { timeoutMs: 300, onStart: (x) => (handle = x) }));
      assert.equal(r.outcome, 'timeout');
      assert.ok(handle !== null);
      await until(() => !h.alive(handle as RunHandle));
    });

    it('a stop ends the run as interrupted and leaves nothing of it running', async () => {
      const controller = new AbortController();
      let handle: RunHandle | null = null;
      const running = h.runner.run(request(h, 'hang', { signal: controller.signal, onStart: (x) => (handle = x) }));
      await until(() => handle !== null);
      await sleep(100);
      controller.abort();
      const r = await running;
      assert.equal(r.outcome, 'interrupted');
      await until(() => !h.alive(handle as RunHandle));
    });

    it('reaps an orphan through the handle stored in the database, and only when it is ours', async () => {
      const store = openStore(':memory:');
      try {
        const session = createSession(store, { runDir: join(dir, `run-dir-${label}`), policy: 'reference', args: [], options: {}, env: {} });
        const begun = beginRun(store, session.id, { trial: baselineTrial(), kind: 'measure', warmupIndex: null, step: 0, slot: 0, files: (seq) => ({ logPath: `${seq}.log`, configPath: `${seq}.yaml` }) });
        const req = request(h, 'hang', { onStart: (x) => setRunHandle(store, begun.runId, x.runner, x.id, x.pid) });
        const running = h.runner.run(req);
        await until(() => loadRuns(store, session.id)[0]?.handle !== null);
        await sleep(100);
        const stored = loadRuns(store, session.id)[0];
        assert.ok(stored?.handle != null && stored.runner !== null);
        const handle: RunHandle = { runner: stored.runner, id: stored.handle, pid: stored.pid };
        assert.equal(handle.runner, h.runner.name);
        assert.equal(h.runner.reap({ handle, runKey: 'someone-else' }), false, 'a run that is not ours is left alone');
        assert.equal(h.alive(handle), true);
        assert.equal(h.runner.reap({ handle, runKey: req.runKey }), true);
        const r = await running;
        assert.notEqual(r.outcome, 'ok');
        await until(() => !h.alive(handle));
        assert.equal(h.runner.reap({ handle, runKey: req.runKey }), false, 'nothing left to reap');
      } finally {
        store.close();
      }
    });

    it('reaps an orphan whose start was never recorded by its run key alone', async () => {
      let handle: RunHandle | null = null;
      const req = request(h, 'hang', { onStart: (x) => (handle = x) });
      const running = h.runner.run(req);
      await until(() => handle !== null);
      await sleep(100);
      assert.equal(h.runner.reap({ handle: null, runKey: 'someone-else' }), false, 'a run that is not ours is left alone');
      assert.equal(h.runner.reap({ handle: null, runKey: req.runKey }), true);
      const r = await running;
      assert.notEqual(r.outcome, 'ok');
      await until(() => !h.alive(handle as RunHandle));
    });
  });
}
