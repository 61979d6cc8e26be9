/**
 * Session lifecycle under races and signals, as a user meets them: stop during a background
 * start, a second Ctrl-C, SIGHUP, a worker taken over while stalled, a live session resumed
 * twice, runs that never started or never measured, foreign databases, lost artifacts.
 * Every test checks /proc for processes still carrying one of the session's run keys.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { execa } from 'execa';
import { processesWithRunKey } from '../../src/runners/process-group.js';
import { alive, autotune, BENCH_ARGS, CLI, invocations, onlyRunDir, sandbox, type Sandbox } from '../support/cli.js';

const dbOf = (box: Sandbox): string => join(box.dir, 'autotune_logs', 'autotune.db');

function query<T>(box: Sandbox, sql: string, ...params: unknown[]): T[] {
  if (!existsSync(dbOf(box))) return [];
  const db = new Database(dbOf(box), { readonly: true });
  try {
    return db.prepare(sql).all(...params) as T[];
  } catch {
    return []; // not created yet
  } finally {
    db.close();
  }
}

function session(box: Sandbox): { id: string; state: string; lease_pid: number | null; stop_requested_at: number | null } | null {
  return query<{ id: string; state: string; lease_pid: number | null; stop_requested_at: number | null }>(box, 'SELECT id, state, lease_pid, stop_requested_at FROM sessions')[0] ?? null;
}

async function until<T>(what: string, probe: () => T | null | Promise<T | null>, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== null) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(25);
  }
}

function orphans(sessionId: string): number[] {
  return processesWithRunKey((key) => key.startsWith(`${sessionId}:`));
}

/** Every row of every table, for before/after comparisons. */
function dump(box: Sandbox): string {
  const db = new Database(dbOf(box), { readonly: true });
  try {
    return ['sessions', 'trials', 'runs', 'decisions'].map((t) => JSON.stringify(db.prepare(`SELECT * FROM ${t} ORDER BY rowid`).all())).join('\n');
  } finally {
    db.close();
  }
}

/** The recorded environment is reapplied on resume; this makes the resumed runs instant. */
function instantOnResume(box: Sandbox): void {
  const db = new Database(dbOf(box));
  db.prepare(`UPDATE sessions SET env_json = json_set(env_json, '$.VLLM_SIM_TIME_SCALE', '0')`).run();
  db.close();
}

function hashFiles(dir: string, names: readonly string[]): Record<string, string> {
  return Object.fromEntries(names.filter((n) => existsSync(join(dir, n))).map((n) => [n, createHash('sha256').update(readFileSync(join(dir, n))).digest('hex')]));
}

/**
 * A stand-in for `vllm` that starts a child, writes both pids to $FIXTURE_PIDS, and hangs;
 * with IGNORE_TERM=1 both ignore SIGTERM, with ESCAPE=1 the child leaves the process group
 * (setsid) and keeps the output pipe open.
 */
function hostileVllm(box: Sandbox): string {
  const path = join(box.dir, 'hostile-vllm');
  writeFileSync(
    path,
    `#!${process.execPath}
'use strict';
const { spawn } = require('node:child_process');
const fs = require('node:fs');
const ignore = process.env.IGNORE_TERM === '1';
const childCode = (ignore ? "process.on('SIGTERM', () => {});" : '') + 'setInterval(() => {}, 1000);';
const child = spawn(process.execPath, ['-e', childCode], { stdio: 'inherit', detached: process.env.ESCAPE === '1' });
if (ignore) process.on('SIGTERM', () => console.log('ignoring SIGTERM'));
fs.writeFileSync(process.env.FIXTURE_PIDS, process.pid + ' ' + child.pid);
console.log('started');
setInterval(() => {}, 1000);
`,
    { mode: 0o755 },
  );
  return path;
}

async function fixturePids(box: Sandbox): Promise<number[]> {
  const file = join(box.dir, 'fixture.pids');
  const text = await until('the fixture to start', () => {
    const t = existsSync(file) ? readFileSync(file, 'utf8') : '';
    return t.includes(' ') ? t : null;
  });
  return text.split(' ').map(Number);
}

const FIXTURE_ARGS = (bin: string): string[] => [...BENCH_ARGS, '--vllm-bin', bin, '--ops', 'add', '--policy', 'reference', '--num-runs', '1', '--quiet'];

describe('signals in the foreground', () => {
  it('a second Ctrl-C inside the grace period SIGKILLs the benchmark tree, then exits 130', async () => {
    const box = sandbox('demo', { FIXTURE_PIDS: '' });
    box.env['FIXTURE_PIDS'] = join(box.dir, 'fixture.pids');
    const child = autotune(box, FIXTURE_ARGS(hostileVllm(box)), { IGNORE_TERM: '1', ESCAPE: '1' });
    const pids = await fixturePids(box);
    const id = (await until('the session', () => session(box))).id;
    child.kill('SIGINT');
    await sleep(300);
    const second = Date.now();
    child.kill('SIGINT');
    const r = await child;
    assert.equal(r.exitCode, 130, r.all);
    assert.ok(Date.now() - second < 3000, `exited ${Date.now() - second} ms after the second Ctrl-C (the grace is 5 s)`);
    for (const pid of pids) assert.equal(alive(pid), false, `pid ${pid} survived`);
    assert.deepEqual(orphans(id), []);
    assert.equal(session(box)?.state, 'stopped');
    assert.equal(query<{ outcome: string }>(box, 'SELECT outcome FROM runs ORDER BY seq DESC LIMIT 1')[0]?.outcome, 'interrupted');
  });

  it('SIGHUP stops a foreground session like SIGTERM, the escaped child included', async () => {
    const box = sandbox('demo');
    box.env['FIXTURE_PIDS'] = join(box.dir, 'fixture.pids');
    const child = autotune(box, FIXTURE_ARGS(hostileVllm(box)), { ESCAPE: '1' });
    const pids = await fixturePids(box);
    const id = (await until('the session', () => session(box))).id;
    child.kill('SIGHUP');
    const r = await child;
    assert.equal(r.exitCode, 130, r.all);
    assert.match(r.stdout, /Received SIGHUP/);
    for (const pid of pids) assert.equal(alive(pid), false, `pid ${pid} survived`);
    assert.deepEqual(orphans(id), []);
    assert.equal(session(box)?.state, 'stopped');
  });
});

describe('background start, stop and resume', () => {
  it('a stop issued while the background start is under way survives: the session stays stopped', async () => {
    const box = sandbox('demo', { VLLM_SIM_TIME_SCALE: '1' });
    const start = autotune(box, [...BENCH_ARGS, '--ops', 'add', '--policy', 'reference', '--background', 'true']);
    const row = await until('the session row', () => session(box));
    const stop = await autotune(box, ['stop', row.id]);
    assert.equal(stop.exitCode, 0, stop.all);
    const started = await start;
    assert.equal(started.exitCode, 0, started.all);
    await sleep(3000);
    const after = session(box);
    assert.equal(after?.state, 'stopped');
    assert.equal(after?.lease_pid, null);
    assert.equal(after?.stop_requested_at, null, 'the worker acknowledged the request');
    assert.equal(query(box, `SELECT 1 FROM runs WHERE outcome = 'running'`).length, 0);
    assert.deepEqual(orphans(row.id), []);
    // Resuming later runs it to the end.
    instantOnResume(box);
    const resumed = await autotune(box, ['resume', row.id, '--quiet'], { VLLM_SIM_TIME_SCALE: '0' });
    assert.equal(resumed.exitCode, 0, resumed.all);
  });

  it('resume --background of a live session is refused up front; autotune.log stays JSON lines', async () => {
    const box = sandbox('demo', { VLLM_SIM_TIME_SCALE: '1' });
    const start = await autotune(box, [...BENCH_ARGS, '--background', 'true']);
    assert.equal(start.exitCode, 0, start.all);
    const row = await until('a worker', () => {
      const s = session(box);
      return s?.lease_pid !== null && s?.state === 'running' ? s : null;
    });
    const second = await autotune(box, ['resume', row.id, '--background', 'true']);
    assert.equal(second.exitCode, 1, second.all);
    assert.doesNotMatch(second.stdout, /Started/);
    assert.match(second.stderr, /^autotune: session .* is already being run by pid \d+/);
    assert.equal(second.stderr.trim().split('\n').length, 1);
    assert.equal((await autotune(box, ['stop', row.id])).exitCode, 0);
    for (const line of readFileSync(join(onlyRunDir(box), 'autotune.log'), 'utf8').trim().split('\n')) JSON.parse(line);
    assert.deepEqual(orphans(row.id), []);
  });

  it('--background with --autotune-db :memory: is a usage error', async () => {
    const box = sandbox('demo');
    const r = await autotune(box, [...BENCH_ARGS, '--background', 'true', '--autotune-db', ':memory:']);
    assert.equal(r.exitCode, 2, r.all);
    assert.match(r.stderr, /^autotune: `--background true` needs a database file/);
  });

  it('a background worker that dies at once is reported as one line with a non-zero status', async () => {
    const box = sandbox('demo');
    const first = await autotune(box, [...BENCH_ARGS, '--ops', 'add', '--num-runs', '1', '--policy', 'reference', '--quiet']);
    assert.equal(first.exitCode, 0, first.all);
    const id = session(box)?.id ?? '';
    const db = new Database(dbOf(box));
    db.prepare(`UPDATE sessions SET state = 'stopped', options_json = json_set(options_json, '$.policy', 'bogus')`).run();
    db.close();
    const r = await autotune(box, ['resume', id, '--background', 'true']);
    assert.notEqual(r.exitCode, 0, r.all);
    assert.doesNotMatch(r.stdout, /Started/);
    assert.match(r.stderr, /^autotune: the background worker for session .* failed at once: stored session options are damaged/);
    assert.equal(r.stderr.trim().split('\n').length, 1);
  });

  it('a worker that stalled and was taken over writes nothing once it continues', async () => {
    const box = sandbox('demo', { VLLM_SIM_TIME_SCALE: '1' });
    const start = await autotune(box, [...BENCH_ARGS, '--ops', 'add', '--policy', 'reference', '--background', 'true']);
    assert.equal(start.exitCode, 0, start.all);
    const row = await until('a benchmark in flight', () => {
      const s = session(box);
      const running = query<{ pid: number | null }>(box, `SELECT pid FROM runs WHERE outcome = 'running' AND pid IS NOT NULL`);
      return s !== null && s.lease_pid !== null && running.length > 0 ? s : null;
    });
    const worker = row.lease_pid ?? 0;
    process.kill(worker, 'SIGSTOP');
    try {
      // Its heartbeat stops; pretend the stale limit has passed.
      const db = new Database(dbOf(box));
      db.prepare('UPDATE sessions SET lease_heartbeat_at = lease_heartbeat_at - 3600000').run();
      db.close();
      instantOnResume(box);
      const successor = await autotune(box, ['resume', row.id, '--quiet'], { VLLM_SIM_TIME_SCALE: '0' });
      assert.equal(successor.exitCode, 0, successor.all);
      const runDir = onlyRunDir(box);
      const files = ['history.csv', 'best_config.yaml', 'best_config_temp.yaml', 'op_config.json', 'autotune_ops.yaml', 'autotune.log'];
      const before = { db: dump(box), files: hashFiles(runDir, files), entries: readdirSync(runDir).sort() };
      process.kill(worker, 'SIGCONT');
      await until('the old worker to exit', () => (alive(worker) ? null : true), 15_000);
      assert.equal(dump(box), before.db, 'the database changed after the old worker continued');
      assert.deepEqual(hashFiles(runDir, files), before.files);
      assert.deepEqual(readdirSync(runDir).sort(), before.entries);
      assert.deepEqual(orphans(row.id), []);
    } finally {
      if (alive(worker)) process.kill(worker, 'SIGKILL');
    }
  });

  it('two workers on one session: the second is refused and changes nothing', async () => {
    const box = sandbox('demo', { VLLM_SIM_TIME_SCALE: '1' });
    await autotune(box, [...BENCH_ARGS, '--background', 'true']);
    const row = await until('a worker', () => {
      const s = session(box);
      return s?.lease_pid !== null && s?.state === 'running' ? s : null;
    });
    const second = execa(process.execPath, [CLI, 'resume', row.id, '--db', dbOf(box), '--worker'], { cwd: box.dir, env: box.env, extendEnv: false, reject: false, all: true });
    const r = await second;
    assert.equal(r.exitCode, 1, r.all);
    assert.match(r.stderr, /already being run by pid/);
    assert.equal(session(box)?.lease_pid, row.lease_pid);
    assert.equal((await autotune(box, ['stop', row.id])).exitCode, 0);
    assert.deepEqual(orphans(row.id), []);
  });
});

describe('runs that never start or never measure', () => {
  it('a run that could not start is not replayed: after fixing PATH, resume measures the baseline', async () => {
    const box = sandbox('demo');
    const missing = await autotune(box, [...BENCH_ARGS, '--ops', 'add', '--num-runs', '1', '--policy', 'reference', '--quiet'], { PATH: '/usr/bin:/bin' });
    assert.equal(missing.exitCode, 127, missing.all);
    const id = session(box)?.id ?? '';
    const resumed = await autotune(box, ['resume', id, '--quiet']);
    assert.equal(resumed.exitCode, 0, resumed.all);
    const runs = query<{ step: number; outcome: string; trial_key: string }>(box, 'SELECT step, outcome, trial_key FROM runs ORDER BY seq');
    assert.deepEqual(runs.slice(0, 2), [
      { step: 0, outcome: 'spawn_error', trial_key: 'baseline' },
      { step: 0, outcome: 'ok', trial_key: 'baseline' },
    ]);
    assert.equal(session(box)?.state, 'completed');
    const history = readFileSync(join(onlyRunDir(box), 'history.csv'), 'utf8');
    assert.match(history.split('\n')[1] ?? '', /^baseline,/);
    assert.doesNotMatch(history, /^baseline,[^,]*,0(\.0+)?,/m, 'the baseline row has a measurement');
  });

  for (const [name, setup] of [
    ['prints garbage', (box: Sandbox): Record<string, string> => ({ PATH: `${fixtureDir(box, 'echo "garbage \\x00 output"; exit 0')}:/usr/bin:/bin` })],
    ['prints nothing and exits 1', (box: Sandbox): Record<string, string> => ({ PATH: `${fixtureDir(box, 'exit 1')}:/usr/bin:/bin` })],
    ['is given a scenario file that does not exist', (): Record<string, string> => ({ VLLM_SIM_SCENARIO: '/nonexistent/scenario.yaml' })],
  ] as const) {
    it(`a session whose every run fails (vllm ${name}) fails with the runs' root cause`, async () => {
      const box = sandbox('demo');
      for (const policy of ['reference', 'noise-aware']) {
        rmSync(join(box.dir, 'autotune_logs'), { recursive: true, force: true });
        const r = await autotune(box, [...BENCH_ARGS, '--ops', 'add', '--num-runs', '1', '--policy', policy, '--quiet'], setup(box));
        assert.equal(r.exitCode, 1, r.all);
        assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
        assert.match(r.stderr, /^autotune: no benchmark run produced a measurement \((\d+) of \1 failed\): \S/);
        assert.equal(session(box)?.state, 'failed');
        assert.equal(existsSync(join(onlyRunDir(box), 'best_config.yaml')), false, 'no "best: baseline" answer');
      }
    });
  }
});

function fixtureDir(box: Sandbox, body: string): string {
  const dir = join(box.dir, 'fixture-bin');
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'vllm'), `#!/bin/sh\n${body}\n`, { mode: 0o755 });
  return dir;
}

describe('artifacts and databases', () => {
  it('export --artifacts rewrites every artifact of a completed session, byte for byte', async () => {
    const box = sandbox('demo');
    const r = await autotune(box, [...BENCH_ARGS, '--ops', 'add,mul', '--quiet']);
    assert.equal(r.exitCode, 0, r.all);
    const runDir = onlyRunDir(box);
    const names = ['history.csv', 'best_config.yaml', 'best_config_temp.yaml', 'op_config.json', 'autotune_ops.initial.yaml', 'autotune_ops.yaml'];
    const before = hashFiles(runDir, names);
    assert.equal(Object.keys(before).length, names.length);
    for (const name of names) rmSync(join(runDir, name));
    const exported = await autotune(box, ['export', runDir, '--artifacts']);
    assert.equal(exported.exitCode, 0, exported.all);
    assert.equal(exported.stdout, '', 'nothing on stdout unless asked');
    assert.deepEqual(hashFiles(runDir, names), before);
  });

  it('export --artifacts refuses a session that has not completed', async () => {
    const box = sandbox('demo');
    await autotune(box, [...BENCH_ARGS, '--quiet'], { PATH: '/usr/bin:/bin' });
    const r = await autotune(box, ['export', session(box)?.id ?? '', '--artifacts']);
    assert.equal(r.exitCode, 1, r.all);
    assert.match(r.stderr, /^autotune: session .* is failed; --artifacts rewrites the artifacts of a completed session/);
  });

  it('a foreign SQLite file given as --db is refused and left byte for byte as it was', async () => {
    const box = sandbox('demo');
    const path = join(box.dir, 'app.db');
    const db = new Database(path);
    db.exec(`CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT); INSERT INTO notes (body) VALUES ('keep me')`);
    db.close();
    const before = readFileSync(path);
    for (const args of [[...BENCH_ARGS, '--autotune-db', path, '--quiet'], ['list', '--db', path], ['status', '--db', path]]) {
      const r = await autotune(box, args);
      assert.equal(r.exitCode, 1, r.all);
      assert.match(r.stderr, /^autotune: .*app\.db is not an autotune database \(it holds tables notes\)/);
    }
    assert.deepEqual(readFileSync(path), before);
    assert.equal(existsSync(`${path}-wal`), false, 'never switched to WAL');
    assert.deepEqual(invocations(box), []);
  });
});
