/** Background sessions: start, list, status, stop (graceful and forced), resume, export. */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { execa } from 'execa';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { alive, autotune, BENCH_ARGS, onlyRunDir, sandbox, type Sandbox } from '../support/cli.js';

interface StatusJson {
  id: string;
  state: string;
  worker: { pid: number; host: string } | null;
  runs: { done: number; ok: number; interrupted: number };
  trial: { index: number; current: string | null };
  etaSec: number | null;
}

async function status(box: Sandbox, id: string): Promise<StatusJson> {
  const r = await autotune(box, ['status', id, '--json']);
  assert.equal(r.exitCode, 0, r.all);
  return JSON.parse(r.stdout) as StatusJson;
}

async function until<T>(what: string, probe: () => Promise<T | null>, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== null) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}


/** The pid of the benchmark currently running for the session, once there is one. */
function runningBenchmarkPid(box: Sandbox): number | null {
  const db = new Database(join(box.dir, 'autotune_logs', 'autotune.db'), { readonly: true });
  try {
    const row = db.prepare(`SELECT pid FROM runs WHERE outcome = 'running' AND pid IS NOT NULL`).get() as { pid: number } | undefined;
    return row?.pid ?? null;
  } finally {
    db.close();
  }
}

async function startBackground(box: Sandbox): Promise<string> {
  const r = await autotune(box, [...BENCH_ARGS, '--background', 'true']);
  assert.equal(r.exitCode, 0, r.all);
  const id = /Started session (\S+) in the background/.exec(r.stdout)?.[1];
  assert.ok(id !== undefined, r.stdout);
  assert.match(r.stdout, /autotune status /);
  assert.match(r.stdout, /autotune stop /);
  return id;
}

function onlyRunDirUnder(base: string): string {
  const dirs = readdirSync(base).filter((d) => d.startsWith('autotune_2'));
  assert.equal(dirs.length, 1);
  return join(base, dirs[0] as string);
}

describe('background sessions', () => {
  it('runs detached to completion while status and list report it', async () => {
    const box = sandbox('demo', { VLLM_SIM_TIME_SCALE: '0.1' });
    const id = await startBackground(box);
    const running = await until('a running status', async () => {
      const s = await status(box, id);
      return s.state === 'running' && s.runs.done >= 1 ? s : null;
    });
    assert.ok(running.worker !== null && alive(running.worker.pid));
    assert.ok(running.trial.index >= 1);
    const list = await autotune(box, ['list']);
    assert.match(list.stdout, new RegExp(`${id}\\s+/models/Qwen3-4B\\s+running`));
    const done = await until('completion', async () => {
      const s = await status(box, id);
      return s.state === 'completed' ? s : null;
    }, 60_000);
    assert.equal(done.runs.interrupted, 0);
    const runDir = onlyRunDir(box);
    assert.ok(existsSync(join(runDir, 'best_config.yaml')));
    const log = readFileSync(join(runDir, 'autotune.log'), 'utf8').trim().split('\n');
    assert.ok(log.some((line) => (JSON.parse(line) as { event?: string }).event === 'done'));
    const listJson = JSON.parse((await autotune(box, ['list', '--json'])).stdout) as { id: string; state: string }[];
    assert.deepEqual(listJson.map((s) => [s.id, s.state]), [[id, 'completed']]);
  });

  it('stops gracefully, killing the running benchmark, then resumes to the same end', async () => {
    const box = sandbox('demo', { VLLM_SIM_TIME_SCALE: '1' });
    const id = await startBackground(box);
    await until('a finished run', async () => ((await status(box, id)).runs.done >= 1 ? true : null));
    const benchPid = await until('a benchmark in flight', async () => runningBenchmarkPid(box));
    const stop = await autotune(box, ['stop', id]);
    assert.equal(stop.exitCode, 0, stop.all);
    assert.match(stop.stdout, /stopped/);
    assert.equal(alive(benchPid), false, 'the benchmark survived the stop');
    const stopped = await status(box, id);
    assert.equal(stopped.state, 'stopped');
    assert.ok(stopped.runs.interrupted >= 1);
    assert.equal(stopped.worker, null);

    const again = await autotune(box, ['stop', id]);
    assert.equal(again.exitCode, 1);
    assert.match(again.stderr, /is not running \(stopped\)/);

    const csvMid = await autotune(box, ['export', id, '--csv', '-']);
    assert.equal(csvMid.exitCode, 0, csvMid.all);
    assert.match(csvMid.stdout, /^op,backend,total_throughput/);

    const resumed = await autotune(box, ['resume', id, '--quiet'], { VLLM_SIM_TIME_SCALE: '0.05' });
    assert.equal(resumed.exitCode, 0, resumed.all);
    assert.match(resumed.stdout, /Resuming: \d+ completed runs restored/);
    const runDir = onlyRunDir(box);
    const exported = await autotune(box, ['export', runDir, '--csv', join(box.dir, 'out.csv'), '--json', join(box.dir, 'out.json')]);
    assert.equal(exported.exitCode, 0, exported.all);
    assert.equal(readFileSync(join(box.dir, 'out.csv'), 'utf8'), readFileSync(join(runDir, 'history.csv'), 'utf8'));
    const json = JSON.parse(readFileSync(join(box.dir, 'out.json'), 'utf8')) as { runs: { outcome: string; totalTokensPerSec: number | null }[] };
    assert.ok(json.runs.some((r) => r.outcome === 'interrupted'));
    assert.ok(json.runs.filter((r) => r.outcome === 'ok').every((r) => typeof r.totalTokensPerSec === 'number'));
  });

  it('refuses to resume a live session, naming its worker pid', async () => {
    const box = sandbox('demo', { VLLM_SIM_TIME_SCALE: '1' });
    const id = await startBackground(box);
    const s = await until('a worker', async () => {
      const v = await status(box, id);
      return v.worker !== null ? v : null;
    });
    const second = await autotune(box, ['resume', id]);
    assert.equal(second.exitCode, 1);
    assert.match(second.stderr, new RegExp(`already being run by pid ${s.worker?.pid}`));
    assert.equal((await autotune(box, ['stop', id, '--force'])).exitCode, 0);
  });

  it('force-stops a worker that does not answer (SIGSTOPped) and leaves no benchmark behind', async () => {
    const box = sandbox('demo', { VLLM_SIM_TIME_SCALE: '1' });
    const id = await startBackground(box);
    const benchPid = await until('a benchmark in flight', async () => runningBenchmarkPid(box));
    const worker = (await status(box, id)).worker;
    assert.ok(worker !== null);
    process.kill(worker.pid, 'SIGSTOP');
    try {
      const polite = await autotune(box, ['stop', id, '--wait', '1']);
      assert.equal(polite.exitCode, 1);
      assert.match(polite.stderr, /did not stop within 1 s; use `autotune stop .* --force`/);
      const forced = await autotune(box, ['stop', id, '--force']);
      assert.equal(forced.exitCode, 0, forced.all);
      await until('the worker to die', async () => (alive(worker.pid) ? null : true), 5000);
      await until('the benchmark to die', async () => (alive(benchPid) ? null : true), 5000);
      assert.equal((await status(box, id)).state, 'stopped');
    } finally {
      if (alive(worker.pid)) process.kill(worker.pid, 'SIGKILL');
    }
  });
});

describe('foreground sessions', () => {
  it('stops on Ctrl-C like `stop` does: benchmark killed, run interrupted, session resumable', async () => {
    const box = sandbox('demo', { VLLM_SIM_TIME_SCALE: '1' });
    const child = autotune(box, [...BENCH_ARGS, '--quiet']);
    const benchPid = await until('a benchmark in flight', async () => {
      try {
        return runningBenchmarkPid(box);
      } catch {
        return null; // database not created yet
      }
    });
    child.kill('SIGINT');
    const r = await child;
    assert.equal(r.exitCode, 130, r.all);
    assert.match(r.stdout, /Received SIGINT/);
    assert.equal(alive(benchPid), false);
    const db = new Database(join(box.dir, 'autotune_logs', 'autotune.db'), { readonly: true });
    const state = db.prepare('SELECT state FROM sessions').get() as { state: string };
    const runs = db.prepare('SELECT outcome FROM runs').all() as { outcome: string }[];
    db.close();
    assert.equal(state.state, 'stopped');
    assert.equal(runs.at(-1)?.outcome, 'interrupted');
  });
});

describe('bad session input', () => {
  it('names an unknown session id', async () => {
    const box = sandbox('demo');
    await autotune(box, [...BENCH_ARGS, '--ops', 'add', '--num-runs', '1', '--quiet']);
    const r = await autotune(box, ['status', 'no-such-session']);
    assert.equal(r.exitCode, 1);
    assert.equal(r.stderr.trim().split('\n').length, 1);
    assert.match(r.stderr, /^autotune: no session no-such-session in /);
  });

  it('rejects a directory that is not a run directory', async () => {
    const box = sandbox('demo');
    const r = await autotune(box, ['resume', box.dir]);
    assert.equal(r.exitCode, 1);
    assert.match(r.stderr, /^autotune: .* is not an autotune run directory/);
  });

  it('refuses a database written by a newer autotune, and leaves it untouched', async () => {
    const box = sandbox('demo');
    const dbPath = join(box.dir, 'future.db');
    const db = new Database(dbPath);
    db.pragma('user_version = 999');
    db.close();
    const before = readFileSync(dbPath);
    for (const args of [['list', '--db', dbPath], [...BENCH_ARGS, '--autotune-db', dbPath]]) {
      const r = await autotune(box, args);
      assert.equal(r.exitCode, 3, r.all);
      assert.match(r.stderr, /^autotune: database .* newer autotune/);
    }
    assert.deepEqual(readFileSync(dbPath), before);
  });

  it('stops with one line when the disk fills, and resumes once there is room again', async (t) => {
    const box = sandbox('typical');
    const mountPoint = join(box.dir, 'tiny');
    mkdirSync(mountPoint);
    const mounted = await execa('mount', ['-t', 'tmpfs', '-o', 'size=200k', 'tmpfs', mountPoint], { reject: false });
    if (mounted.exitCode !== 0) {
      t.skip('cannot mount a small tmpfs here (needs root)');
      return;
    }
    try {
      const out = join(mountPoint, 'logs');
      const full = await autotune(box, [...BENCH_ARGS, '--output-dir', out, '--ops', 'add,mul,cat,silu', '--policy', 'reference', '--quiet']);
      assert.equal(full.exitCode, 1, full.all);
      assert.equal(full.stderr.trim().split('\n').length, 1, full.stderr);
      assert.match(full.stderr, /^autotune: (database error \(SQLITE_FULL\)|.*ENOSPC|cannot)/);
      await execa('mount', ['-o', 'remount,size=64m', mountPoint]);
      const db = new Database(join(out, 'autotune.db'), { readonly: true });
      assert.deepEqual(db.pragma('integrity_check'), [{ integrity_check: 'ok' }]);
      const { id } = db.prepare('SELECT id FROM sessions').get() as { id: string };
      db.close();
      const resumed = await autotune(box, ['resume', id, '--db', join(out, 'autotune.db'), '--quiet']);
      assert.equal(resumed.exitCode, 0, resumed.all);
      assert.ok(existsSync(join(onlyRunDirUnder(out), 'best_config.yaml')));
    } finally {
      await execa('umount', ['-l', mountPoint], { reject: false });
    }
  });

  it('reports an output directory that cannot be written in one line', async () => {
    const box = sandbox('demo');
    writeFileSync(join(box.dir, 'a-file'), 'not a directory');
    for (const dir of ['/proc/autotune-cannot-write-here', join(box.dir, 'a-file', 'logs')]) {
      const r = await autotune(box, [...BENCH_ARGS, '--output-dir', dir]);
      assert.equal(r.exitCode, 1, r.all);
      assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
      assert.match(r.stderr, /^autotune: cannot create directory /);
    }
  });
});
