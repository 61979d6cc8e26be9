import assert from 'node:assert/strict';
import { toThroughput } from '../support/metrics.js';
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { isProcessAlive, killProcessGroup, LocalRunner, processEnvironHasRunKey } from '../../src/runners/local.js';
import { isProcessGroupAlive, processesWithRunKey } from '../../src/runners/process-group.js';
import { readFileSync } from 'node:fs';

function readPgrp(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[2]);
}
import type { RunRequest } from '../../src/tuner/ports.js';
import { baselineTrial, gemsEnableTrial } from '../../src/tuner/spaces/operators.js';

let dir = '';
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'autotune-local-runner-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** A stand-in for `vllm`: a CommonJS node script (the temp dir has no package.json). */
async function fakeVllm(name: string, body: string): Promise<string> {
  const path = join(dir, name);
  await writeFile(path, `#!${process.execPath}\n'use strict';\nconst fs = require('node:fs');\n${body}\n`, { mode: 0o755 });
  return path;
}

function request(name: string, vllmBin: string, overrides: Partial<RunRequest> = {}): RunRequest {
  return {
    trial: gemsEnableTrial(),
    passthrough: ['--model', 'fake/model', '--input-len', '16'],
    vllmBin,
    baseEnv: { PATH: process.env['PATH'], HOME: undefined },
    logPath: join(dir, name, 'logs', 'run.log'),
    configPath: join(dir, name, 'config.yaml'),
    oplistPath: join(dir, name, 'oplist.txt'),
    outputJsonPath: join(dir, name, 'out.json'),
    runKey: `test:${name}`,
    timeoutMs: 10_000,
    ...overrides,
  };
}

const runner = new LocalRunner({ killGraceMs: 200 });

async function waitForFile(path: string): Promise<string> {
  for (let i = 0; i < 200; i++) {
    const text = await readFile(path, 'utf8').catch(() => '');
    if (text.length > 0) return text;
    await sleep(10);
  }
  throw new Error(`${path} never appeared`);
}

// A broken group kill would hang rather than fail; the timeout turns that into a failure.
describe('LocalRunner', { timeout: 15_000 }, () => {
  it('runs a successful benchmark: env, argv, streamed log and echo, merged result, oplist', async () => {
    const bin = await fakeVllm('vllm-ok', `
      const args = process.argv.slice(2);
      console.log('argv ' + JSON.stringify(args));
      console.log('env ' + JSON.stringify({ key: process.env.AUTOTUNE_RUN_KEY, config: process.env.VLLM_FL_CONFIG, use: process.env.USE_FLAGGEMS, home: process.env.HOME ?? null }));
      console.error('\\x1b[32mINFO\\x1b[0m stderr line █ é');
      fs.writeFileSync(process.env.FLAGGEMS_ENABLE_OPLIST_PATH, '[DEBUG] flag_gems.ops.mm.mm: GEMS MM\\n[DEBUG] vllm_fl.dispatch.ops.rms_norm: default.flagos\\n');
      fs.writeFileSync(args[args.indexOf('--output-json') + 1], JSON.stringify({ requests_per_second: 7.150102, tokens_per_second: 4656.1464 }));
      process.stdout.write('Processed prompts: 100%| est. speed input: 1.00 toks/s, output: 2.00 toks/s\\r');
      console.log('Throughput: 7.15 requests/s, 4656.00 total tokens/s, 1072.15 output tokens/s');
    `);
    const echoed: string[] = [];
    const spawned: number[] = [];
    const req = request('ok', bin, { echo: (chunk) => echoed.push(chunk), onStart: ({ pid }) => spawned.push(pid ?? 0) });
    const result = await runner.run(req);

    assert.equal(result.outcome, 'ok', result.failure ?? '');
    assert.equal(result.exitCode, 0);
    assert.equal(result.signal, null);
    assert.equal(result.failure, null);
    assert.deepEqual(toThroughput(result.metrics), { requestsPerSec: 7.150102, totalTokensPerSec: 4656.1464, outputTokensPerSec: 1072.15 });
    assert.deepEqual(result.executedOps, ['mm', 'rms_norm']);
    assert.ok(result.durationMs > 0);
    assert.equal(spawned.length, 1);

    const log = await readFile(req.logPath, 'utf8');
    assert.equal(echoed.join(''), log);
    assert.ok(log.includes('stderr line █ é'));
    assert.ok(log.includes(`argv ${JSON.stringify(['bench', 'throughput', ...req.passthrough, '--output-json', req.outputJsonPath])}`));
    assert.ok(log.includes(`env ${JSON.stringify({ key: req.runKey, config: req.configPath, use: '1', home: null })}`));
  });

  it('replaces a previous log and never reads stale oplist or output-json files', async () => {
    const bin = await fakeVllm('vllm-no-files', `console.log('Throughput: 2.00 requests/s, 300.00 total tokens/s, 100.00 output tokens/s');`);
    const req = request('stale', bin);
    const first = await runner.run(req);
    assert.equal(first.outcome, 'ok');
    await writeFile(req.logPath, 'OLD CONTENT\n'.repeat(1000));
    await writeFile(req.oplistPath, '[DEBUG] flag_gems.ops.stale.stale_op: GEMS STALE\n');
    await writeFile(req.outputJsonPath ?? '', JSON.stringify({ requests_per_second: 99, tokens_per_second: 9999 }));

    const result = await runner.run(req);
    assert.equal(result.outcome, 'ok');
    assert.deepEqual(toThroughput(result.metrics), { requestsPerSec: 2, totalTokensPerSec: 300, outputTokensPerSec: 100 });
    assert.equal(result.executedOps, null, 'the stale oplist was deleted before the run');
    assert.equal(await readFile(req.logPath, 'utf8'), 'Throughput: 2.00 requests/s, 300.00 total tokens/s, 100.00 output tokens/s\n');
  });

  it('does not read the oplist for trials that do not record it, nor ask for --output-json when told not to', async () => {
    const bin = await fakeVllm('vllm-args', `
      fs.writeFileSync(process.env.FLAGGEMS_ENABLE_OPLIST_PATH, '[DEBUG] flag_gems.ops.mm.mm: GEMS MM\\n');
      console.log(process.argv.slice(2).join(' '));
      console.log('Throughput: 1.00 requests/s, 2.00 tokens/s');
    `);
    const req = request('no-oplist', bin, { trial: baselineTrial(), outputJsonPath: null });
    const result = await runner.run(req);
    assert.equal(result.outcome, 'ok');
    assert.equal(result.executedOps, null);
    assert.deepEqual(toThroughput(result.metrics), { requestsPerSec: 1, totalTokensPerSec: 2, outputTokensPerSec: null });
    assert.ok((await readFile(req.logPath, 'utf8')).startsWith('bench throughput --model fake/model --input-len 16\n'));
  });

  it('classifies a failing benchmark from its output', async () => {
    const bin = await fakeVllm('vllm-oom', `
      console.error('(EngineCore_DP0 pid=1) ERROR 09-24 10:11:40 [core.py:700] EngineCore failed to start.');
      console.error('(EngineCore_DP0 pid=1) ERROR 09-24 10:11:40 [core.py:700] torch.OutOfMemoryError: CUDA out of memory. Tried to allocate 1.95 GiB.');
      console.error('RuntimeError: Engine core initialization failed. See root cause above. Failed core proc(s): {}');
      process.exitCode = 1;
    `);
    const result = await runner.run(request('oom', bin));
    assert.equal(result.outcome, 'oom');
    assert.equal(result.exitCode, 1);
    assert.equal(toThroughput(result.metrics), null);
    assert.equal(result.failure, 'CUDA out of memory: torch.OutOfMemoryError: CUDA out of memory. Tried to allocate 1.95 GiB.');
  });

  it('reports a plain nonzero exit and a clean exit without a result', async () => {
    const failing = await fakeVllm('vllm-exit3', `console.log('something went wrong'); process.exitCode = 3;`);
    const failed = await runner.run(request('exit3', failing));
    assert.equal(failed.outcome, 'nonzero_exit');
    assert.equal(failed.exitCode, 3);
    assert.equal(failed.failure, 'exited with code 3: something went wrong');

    const silent = await fakeVllm('vllm-silent', `console.log('done');`);
    const noResult = await runner.run(request('silent', silent));
    assert.equal(noResult.outcome, 'no_result');
    assert.equal(noResult.exitCode, 0);
  });

  it('kills the whole process group on timeout, escalating to SIGKILL', async () => {
    const bin = await fakeVllm('vllm-hang', `
      const { spawn } = require('node:child_process');
      const child = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'inherit' });
      fs.writeFileSync(process.env.GRANDCHILD_PID_FILE, String(child.pid));
      process.on('SIGTERM', () => console.log('ignoring SIGTERM'));
      console.log('started');
      setInterval(() => {}, 1000);
    `);
    const pidFile = join(dir, 'hang-grandchild.pid');
    let leader = 0;
    const req = request('hang', bin, {
      timeoutMs: 600,
      baseEnv: { PATH: process.env['PATH'], GRANDCHILD_PID_FILE: pidFile },
      onStart: ({ pid }) => (leader = pid ?? 0),
    });
    const running = runner.run(req);
    const grandchild = Number(await waitForFile(pidFile));
    assert.ok(isProcessAlive(grandchild));
    const result = await running;

    assert.equal(result.outcome, 'timeout');
    assert.equal(result.signal, 'SIGKILL');
    assert.equal(result.failure, 'timed out before printing a result');
    assert.ok(result.durationMs >= 600 && result.durationMs < 5000, String(result.durationMs));
    assert.ok((await readFile(req.logPath, 'utf8')).includes('ignoring SIGTERM'), 'SIGTERM came first');
    assert.equal(isProcessAlive(grandchild), false);
    assert.equal(isProcessGroupAlive(leader), false);
  });

  it('sweeps children that outlive a benchmark which exited normally, without waiting for the timeout', async () => {
    // One survivor keeps the output pipe open (the run would otherwise last until the timeout), one does not.
    const bin = await fakeVllm('vllm-orphan', `
      const { spawn } = require('node:child_process');
      const holder = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'inherit' });
      const quiet = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' });
      fs.writeFileSync(process.env.GRANDCHILD_PID_FILE, holder.pid + ' ' + quiet.pid);
      console.log('Throughput: 1.00 requests/s, 2.00 total tokens/s, 3.00 output tokens/s');
      process.exit(0);
    `);
    const pidFile = join(dir, 'orphan-grandchildren.pid');
    const result = await runner.run(request('orphan', bin, { timeoutMs: 8000, baseEnv: { PATH: process.env['PATH'], GRANDCHILD_PID_FILE: pidFile } }));
    assert.equal(result.outcome, 'ok');
    assert.ok(result.durationMs < 4000, String(result.durationMs));
    for (const pid of (await readFile(pidFile, 'utf8')).split(' ')) assert.equal(isProcessAlive(Number(pid)), false, pid);
  });

  it('owns descendants that left the process group and hold the pipe: the timeout still ends the run', async () => {
    // setsid: a new session and group, out of reach of a group kill, keeping stdout open and ignoring SIGTERM.
    const bin = await fakeVllm('vllm-escape', `
      const { spawn } = require('node:child_process');
      const escapee = spawn(process.execPath, ['-e', "process.on('SIGTERM', () => {}); setInterval(() => {}, 1000)"], { stdio: 'inherit', detached: true });
      fs.writeFileSync(process.env.GRANDCHILD_PID_FILE, String(escapee.pid));
      console.log('started');
      setInterval(() => {}, 1000);
    `);
    const pidFile = join(dir, 'escape-grandchild.pid');
    let leader = 0;
    const req = request('escape', bin, {
      timeoutMs: 700,
      baseEnv: { PATH: process.env['PATH'], GRANDCHILD_PID_FILE: pidFile },
      onStart: (handle) => (leader = handle.pid ?? 0),
    });
    const running = runner.run(req);
    const escapee = Number(await waitForFile(pidFile));
    assert.notEqual(readPgrp(escapee), leader, 'the escapee left the group');
    const result = await running;
    assert.equal(result.outcome, 'timeout');
    assert.ok(result.durationMs < 5000, String(result.durationMs));
    assert.equal(isProcessAlive(escapee), false, 'killed through its run key');
    assert.deepEqual(processesWithRunKey((key) => key === req.runKey), []);
  });

  it('stops reading a pipe held by a descendant it cannot recognise, once the tree it knows is gone', async () => {
    // The holder drops AUTOTUNE_RUN_KEY and leaves the group: nothing can identify it, so reading stops.
    const bin = await fakeVllm('vllm-stranger', `
      const { spawn } = require('node:child_process');
      const env = { ...process.env };
      delete env.AUTOTUNE_RUN_KEY;
      const holder = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 30000)'], { stdio: 'inherit', detached: true, env });
      fs.writeFileSync(process.env.GRANDCHILD_PID_FILE, String(holder.pid));
      console.log('Throughput: 1.00 requests/s, 2.00 total tokens/s, 3.00 output tokens/s');
      process.exit(0);
    `);
    const pidFile = join(dir, 'stranger.pid');
    const result = await runner.run(request('stranger', bin, { timeoutMs: 20_000, baseEnv: { PATH: process.env['PATH'], GRANDCHILD_PID_FILE: pidFile } }));
    const holder = Number(await readFile(pidFile, 'utf8'));
    try {
      assert.equal(result.outcome, 'ok');
      assert.ok(result.durationMs < 5000, String(result.durationMs));
    } finally {
      process.kill(holder, 'SIGKILL');
    }
  });

  it('an abort kills the group and reports interrupted', async () => {
    const bin = await fakeVllm('vllm-wait', `console.log('ready'); setInterval(() => {}, 1000);`);
    const controller = new AbortController();
    let leader = 0;
    const result = await runner.run(request('abort', bin, {
      signal: controller.signal,
      onStart: ({ pid }) => {
        leader = pid ?? 0;
        setTimeout(() => controller.abort(), 100);
      },
    }));
    assert.equal(result.outcome, 'interrupted');
    assert.equal(result.signal, 'SIGTERM');
    assert.equal(isProcessGroupAlive(leader), false);
  });

  it('an already aborted request starts nothing', async () => {
    const bin = await fakeVllm('vllm-never', `fs.writeFileSync(process.env.FLAGGEMS_ENABLE_OPLIST_PATH, 'ran');`);
    let spawned = false;
    const req = request('pre-aborted', bin, { signal: AbortSignal.abort(), onStart: () => (spawned = true) });
    const result = await runner.run(req);
    assert.equal(result.outcome, 'interrupted');
    assert.equal(spawned, false);
    await assert.rejects(readFile(req.oplistPath));
  });

  it('a missing executable is a spawn error naming it, also written to the log', async () => {
    const onPath = request('missing', 'autotune-no-such-vllm', { baseEnv: { PATH: dir } });
    const result = await runner.run(onPath);
    assert.equal(result.outcome, 'spawn_error');
    assert.equal(result.exitCode, null);
    assert.equal(result.failure, "vllm executable not found: 'autotune-no-such-vllm' is not on PATH (set --vllm-bin)");
    assert.ok((await readFile(onPath.logPath, 'utf8')).includes('is not on PATH'));

    const absolute = await runner.run(request('missing-abs', join(dir, 'nope', 'vllm')));
    assert.equal(absolute.outcome, 'spawn_error');
    assert.match(absolute.failure ?? '', /vllm executable not found: '.*\/nope\/vllm' does not exist/);
  });
});

describe('process helpers', () => {
  it('recognise a child by its run key, and treat a vanished group as dead', async () => {
    const child = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], {
      env: { AUTOTUNE_RUN_KEY: 'session-1:baseline:0' },
      detached: true,
      stdio: 'ignore',
    });
    const pid = child.pid ?? 0;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    try {
      assert.equal(isProcessAlive(pid), true);
      assert.equal(processEnvironHasRunKey(pid, 'session-1:baseline:0'), true);
      assert.equal(processEnvironHasRunKey(pid, 'session-1:baseline:1'), false);
      assert.equal(processEnvironHasRunKey(process.pid, 'session-1:baseline:0'), false);
    } finally {
      assert.equal(killProcessGroup(pid, 'SIGKILL'), true);
    }
    await exited;
    assert.equal(isProcessAlive(pid), false);
    assert.equal(killProcessGroup(pid, 'SIGTERM'), false, 'ESRCH is not an error');
    assert.equal(processEnvironHasRunKey(pid, 'session-1:baseline:0'), false);
  });
});
