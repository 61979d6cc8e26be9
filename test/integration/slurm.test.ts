/**
 * Whole simulated tuning sessions through the SLURM runner, on a real one-node cluster
 * (test/support/slurm-cluster.sh): a stop cancels the job in flight; the tuner is SIGKILLed
 * while jobs run, and resume adopts a job that finished while it was down and one that was
 * still running, without running either again; the decisions equal the local runner's; a job
 * is killed by its SLURM time limit. Fails where SLURM is not installed (CI installs it);
 * AUTOTUNE_SKIP_SLURM=1 skips it.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import Database from 'better-sqlite3';
import { execa } from 'execa';
import { autotune, BENCH_ARGS, CLI, invocations, onlyRunDir, sandbox, type Sandbox } from '../support/cli.js';
import { SKIP_SLURM, startSlurmCluster, type SlurmCluster } from '../support/slurm.js';

const SESSION = [...BENCH_ARGS, '--ops', 'mul,silu,mm', '--policy', 'reference', '--num-runs', '1', '--autotune-seed', '11', '--quiet', '--no-progress'];
const SLURM = ['--autotune-runner', 'slurm', '--slurm-partition', 'debug'];

interface RunRow {
  readonly seq: number;
  readonly outcome: string;
  readonly handle: string | null;
  readonly runner: string | null;
  readonly failure: string | null;
  readonly log_path: string;
}

function dbPath(box: Sandbox): string {
  return join(box.dir, 'autotune_logs', 'autotune.db');
}

function query<T>(box: Sandbox, sql: string): T[] {
  if (!existsSync(dbPath(box))) return [];
  const db = new Database(dbPath(box), { readonly: true });
  try {
    return db.prepare(sql).all() as T[];
  } catch {
    return []; // the schema is not there yet
  } finally {
    db.close();
  }
}

const runs = (box: Sandbox): RunRow[] => query<RunRow>(box, 'SELECT seq, outcome, handle, runner, failure, log_path FROM runs ORDER BY seq');
const sessionId = (box: Sandbox): string | null => query<{ id: string }>(box, 'SELECT id FROM sessions')[0]?.id ?? null;

function jobState(cluster: SlurmCluster, jobId: string): string | null {
  const out = spawnSync('scontrol', ['show', 'job', '-o', jobId], { env: { ...process.env, ...cluster.env }, encoding: 'utf8' }).stdout;
  return /JobState=(\S+)/.exec(out)?.[1] ?? null;
}

function liveJobs(cluster: SlurmCluster): string[] {
  const out = spawnSync('squeue', ['-h', '-o', '%i %j %T'], { env: { ...process.env, ...cluster.env }, encoding: 'utf8' }).stdout;
  return out.split('\n').filter((l) => l.trim() !== '');
}

async function until<T>(what: string, probe: () => T | null | undefined | false, ms = 60_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = probe();
    if (value !== null && value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(100);
  }
}

/** A run whose job SLURM reports RUNNING right now. */
function runningJob(box: Sandbox, cluster: SlurmCluster, after = 0): RunRow | null {
  return runs(box).find((r) => r.seq > after && r.outcome === 'running' && r.handle !== null && jobState(cluster, r.handle) === 'RUNNING') ?? null;
}

function start(box: Sandbox, args: readonly string[]) {
  return execa(process.execPath, [CLI, ...args], { cwd: box.dir, env: box.env, extendEnv: false, reject: false, all: true });
}

describe('the SLURM runner on a real cluster', { skip: SKIP_SLURM, timeout: 240_000 }, () => {
  let cluster: SlurmCluster;
  before(() => {
    cluster = startSlurmCluster({ ctld: 6817, slurmd: 6818 });
  });
  after(() => cluster?.stop());

  it('runs a session through stop, two SIGKILLs and resumes that adopt its jobs, with the local runner\'s decisions; a time limit kills a job', async () => {
    // Started first: SLURM enforces time limits in whole minutes, checked every 30 s.
    const limited = sandbox('demo', { VLLM_SIM_TIME_SCALE: '200', ...cluster.env });
    const limitedRun = start(limited, [...SESSION, ...SLURM, '--slurm-time-limit', '1', '--timeout', '600']);

    const local = sandbox('demo');
    const reference = await autotune(local, SESSION);
    assert.equal(reference.exitCode, 0, reference.all);

    const box = sandbox('demo', { VLLM_SIM_TIME_SCALE: '2', ...cluster.env });
    const first = start(box, [...SESSION, ...SLURM]);
    const id = await until('the session', () => sessionId(box));
    const stoppedRow = await until('a job in flight after two finished runs', () => (runs(box).filter((r) => r.outcome === 'ok').length >= 2 ? runningJob(box, cluster) : null));
    const stop = await autotune(box, ['stop', id]);
    assert.equal(stop.exitCode, 0, stop.all);
    assert.equal((await first).exitCode, 130);
    const stopped = runs(box).find((r) => r.seq === stoppedRow.seq);
    assert.equal(stopped?.outcome, 'interrupted');
    assert.equal(stopped?.runner, 'slurm');
    assert.equal(jobState(cluster, stoppedRow.handle ?? ''), 'CANCELLED', 'stop cancels the job in flight');

    // The tuner dies while a job runs; the job finishes while nothing watches it.
    const second = start(box, ['resume', id, '--quiet', '--no-progress']);
    const finishedWhileDown = await until('a job of the resumed session', () => runningJob(box, cluster, stoppedRow.seq));
    second.kill('SIGKILL');
    await second;
    await until('the job to complete on its own', () => jobState(cluster, finishedWhileDown.handle ?? '') === 'COMPLETED');

    // Resume adopts it; the tuner dies again while the next job runs, and resume adopts that one still running.
    const third = start(box, ['resume', id, '--quiet', '--no-progress']);
    const runningWhileDown = await until('the next job', () => runningJob(box, cluster, finishedWhileDown.seq));
    third.kill('SIGKILL');
    const thirdResult = await third;
    assert.match(thirdResult.all ?? '', new RegExp(`following slurm job ${finishedWhileDown.handle} \\(run ${finishedWhileDown.seq}\\)`));
    assert.equal(jobState(cluster, runningWhileDown.handle ?? ''), 'RUNNING');
    const last = await autotune(box, ['resume', id, '--quiet', '--no-progress']);
    assert.equal(last.exitCode, 0, last.all);
    assert.match(last.all, new RegExp(`following slurm job ${runningWhileDown.handle} \\(run ${runningWhileDown.seq}\\)`));

    const rows = runs(box);
    for (const adopted of [finishedWhileDown, runningWhileDown]) {
      const row = rows.find((r) => r.seq === adopted.seq);
      assert.equal(row?.outcome, 'ok', `run ${adopted.seq} adopted from job ${adopted.handle}`);
      assert.equal(row?.handle, adopted.handle, 'the adopted job is the run, not a new submission');
      assert.match(readFileSync(row.log_path, 'utf8'), new RegExp(`adopted SLURM job ${adopted.handle}`));
    }
    // Only the cancelled run ran twice; the adopted jobs ran once.
    assert.equal(invocations(box).length, invocations(local).length + 1);
    for (const file of ['best_config.yaml', 'op_config.json']) {
      assert.equal(readFileSync(join(onlyRunDir(box), file), 'utf8'), readFileSync(join(onlyRunDir(local), file), 'utf8'), file);
    }
    assert.equal(query<{ state: string }>(box, 'SELECT state FROM sessions')[0]?.state, 'completed');

    // The time-limited session's first job outlived its minute.
    const limitedId = await until('the time-limited session', () => sessionId(limited));
    const timedOut = await until('the job killed by its time limit', () => runs(limited).find((r) => r.outcome !== 'running'), 150_000);
    assert.equal(timedOut.outcome, 'timeout', timedOut.failure ?? '');
    assert.match(timedOut.failure ?? '', /SLURM time limit \(TIMEOUT\)/);
    assert.match(readFileSync(timedOut.log_path, 'utf8'), /DUE TO TIME LIMIT/);
    const limitedStop = await autotune(limited, ['stop', limitedId]);
    assert.equal(limitedStop.exitCode, 0, limitedStop.all);
    await limitedRun;
    await until('no job left in the queue', () => liveJobs(cluster).length === 0, 30_000);
  });
  it('a sweep keeps --slurm-max-jobs 2 jobs in flight and measures exactly what one local slot measures', async () => {
    const sweep = ['sweep', 'latency', '--model', 'm', '--batch-sizes', '1,8,32', '--input-lens', '128,256', '--output-lens', '32', '--num-iters', '3', '--quiet'];
    const local = sandbox('typical');
    const one = await autotune(local, sweep);
    assert.equal(one.exitCode, 0, one.all);

    const box = sandbox('typical', { VLLM_SIM_SLEEP_MS: '1500', ...cluster.env });
    const run = start(box, [...sweep, ...SLURM, '--slurm-max-jobs', '2']);
    // squeue lists this sweep's jobs; at most two may run at once, and two must at some point.
    let most = 0;
    let done = false;
    void run.then(() => (done = true));
    while (!done) {
      most = Math.max(most, liveJobs(cluster).filter((l) => / autotune-[0-9a-f]+ RUNNING$/.test(l)).length);
      await sleep(100);
    }
    const result = await run;
    assert.equal(result.exitCode, 0, result.all);
    assert.equal(most, 2, 'two jobs ran at once, never more');
    const rows = runs(box);
    assert.equal(rows.length, 6, 'one run per point');
    assert.ok(rows.every((r) => r.outcome === 'ok' && r.runner === 'slurm' && r.handle !== null));
    // The same runs and noise draws as one local slot: the results table is the same, order included.
    const table = (b: Sandbox): string => readFileSync(join(onlyRunDir(b), 'sweep.csv'), 'utf8');
    assert.equal(table(box), table(local));
  });

  it('runs a latency sweep with --slurm-max-jobs 2: two jobs in flight at once, the local one-slot results', async () => {
    const JOB = 'version: 1\nbench: latency\nargs: {model: m, num-iters: 10}\nworkload: {batch_sizes: [1, 4, 16, 64], input_lens: 128, output_lens: 32}\n';
    const local = sandbox('typical');
    writeFileSync(join(local.dir, 'sweep.yaml'), JOB);
    const reference = await autotune(local, ['run', 'sweep.yaml', '--quiet', '--no-progress']);
    assert.equal(reference.exitCode, 0, reference.all);

    // Every job sleeps long enough for a second one to start beside it.
    const box = sandbox('typical', { VLLM_SIM_SLEEP_MS: '2500', ...cluster.env });
    writeFileSync(join(box.dir, 'sweep.yaml'), JOB);
    const sweep = start(box, ['run', 'sweep.yaml', ...SLURM, '--slurm-max-jobs', '2', '--quiet', '--no-progress']);
    let most = 0;
    const watch = setInterval(() => {
      most = Math.max(most, liveJobs(cluster).filter((l) => l.endsWith(' RUNNING')).length);
    }, 200);
    const done = await sweep;
    clearInterval(watch);
    assert.equal(done.exitCode, 0, done.all);
    assert.equal(most, 2, 'two jobs ran at once, never more');

    const rows = query<{ seq: number; step: number; slot: number; outcome: string; runner: string; log_path: string }>(box, 'SELECT seq, step, slot, outcome, runner, log_path FROM runs ORDER BY seq');
    assert.deepEqual(rows.map((r) => [r.seq, r.step, r.outcome, r.runner]), [1, 2, 3, 4].map((seq) => [seq, seq - 1, 'ok', 'slurm']));
    assert.deepEqual([...new Set(rows.map((r) => r.slot))].sort(), [0, 1], 'both job slots were used');
    // What the jobs themselves recorded: one started before another ended.
    const spans = rows.map((r) => {
      const raw = join(onlyRunDir(box), 'autotune_raw');
      const jobDir = readdirSync(raw).find((d) => d.startsWith(String(r.seq).padStart(4, '0')) && d.endsWith('.slurm'));
      assert.ok(jobDir !== undefined, `job directory of run ${r.seq}`);
      return [statSync(join(raw, jobDir, 'started')).mtimeMs, statSync(join(raw, jobDir, 'exit-status')).mtimeMs] as const;
    });
    assert.ok(spans.some(([s, e], i) => spans.some(([s2], j) => j !== i && s2 >= s && s2 < e)), 'two jobs overlapped');
    // Deterministic whatever the completion order: the one-slot local sweep's table, file for file.
    const csv = (b: Sandbox): string => readFileSync(join(onlyRunDir(b), 'sweep.csv'), 'utf8');
    assert.equal(csv(box), csv(local));
    const files = (b: Sandbox): string[] => readdirSync(join(onlyRunDir(b), 'autotune_raw')).filter((f) => !f.endsWith('.slurm')).sort();
    assert.deepEqual(files(box), files(local));
    await until('no job left in the queue', () => liveJobs(cluster).length === 0, 30_000);
  });
});
