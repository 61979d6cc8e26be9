/**
 * Kills the tuning process with SIGKILL at many random instants, resumes each time, and
 * checks the end result equals an uninterrupted session's.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { execa } from 'execa';
import { processesWithRunKey } from '../../src/runners/process-group.js';
import { alive, autotune, BENCH_ARGS, CLI, committedSessionId, invocations, onlyRunDir, sandbox, type Sandbox } from '../support/cli.js';

const ARGS = [...BENCH_ARGS, '--autotune-seed', '11', '--quiet'];
const KILLS = 20;
// Slow enough that kills land both inside benchmark runs and between them.
const TIME_SCALE = '0.05';

/** A deterministic stream of delays, so a failure can be reproduced. */
function* delays(seed: number): Generator<number> {
  let x = seed;
  for (;;) {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    yield 60 + (x % 440);
  }
}


/**
 * Starts the CLI and SIGKILLs it `ms` after `ready()` holds, unless it finished first.
 * Waiting for readiness keeps a slow start on a loaded machine from eating the delay.
 */
async function runOrKill(
  box: Sandbox,
  args: readonly string[],
  ms: number,
  ready: () => boolean = () => true,
): Promise<{ finished: boolean; exitCode: number | undefined; all: string }> {
  const child = execa(process.execPath, [CLI, ...args], { cwd: box.dir, env: box.env, extendEnv: false, reject: false, all: true });
  let exited = false;
  void child.then(() => {
    exited = true;
  });
  while (!exited && !ready()) await sleep(10);
  const cancel = new AbortController();
  const timer = sleep(ms, 'timeout' as const, { signal: cancel.signal }).catch(() => 'cancelled' as const);
  const outcome = await Promise.race([child.then(() => 'done' as const), timer]);
  cancel.abort();
  if (outcome === 'timeout') child.kill('SIGKILL');
  const result = await child;
  return { finished: outcome === 'done', exitCode: result.exitCode, all: result.all ?? '' };
}

/**
 * Runs a session once uninterrupted, and once SIGKILLed `kills` times and resumed until it
 * completes; the two must end identical, no completed run may be repeated, and no process of
 * the session may survive. `inFlight`: runs one kill may interrupt.
 */
async function killAndResume(args: readonly string[], kills: number, inFlight: number, seed: number): Promise<void> {
  const clean = sandbox('demo', { VLLM_SIM_TIME_SCALE: TIME_SCALE });
  const uninterrupted = await autotune(clean, args);
  assert.equal(uninterrupted.exitCode, 0, uninterrupted.all);
  const cleanDir = onlyRunDir(clean);
  const cleanCount = invocations(clean).length;

  const box = sandbox('demo', { VLLM_SIM_TIME_SCALE: TIME_SCALE });
  const wait = delays(seed);
  let first = await runOrKill(box, args, wait.next().value as number, () => committedSessionId(box) !== null);
  assert.equal(first.finished, false, 'the first run finished before it could be killed');
  const id = committedSessionId(box);
  assert.ok(id !== null);
  let done = 1;
  for (;;) {
    const finishing = done >= kills;
    first = await runOrKill(box, ['resume', id, '--quiet'], finishing ? 120_000 : (wait.next().value as number));
    if (first.finished) {
      assert.equal(first.exitCode, 0, first.all);
      if (finishing) break;
      assert.fail(`session completed after only ${done} kills; make runs slower`);
    }
    done += 1;
  }

  const runDir = onlyRunDir(box);
  for (const file of ['history.csv', 'best_config.yaml', 'op_config.json']) assert.equal(readFileSync(join(runDir, file), 'utf8'), readFileSync(join(cleanDir, file), 'utf8'), file);
  const db = new Database(join(box.dir, 'autotune_logs', 'autotune.db'), { readonly: true });
  assert.deepEqual(db.pragma('integrity_check'), [{ integrity_check: 'ok' }]);
  const repeated = db.prepare(`SELECT step, COUNT(*) AS n FROM runs WHERE outcome NOT IN ('interrupted', 'running') GROUP BY step HAVING n > 1`).all();
  const state = db.prepare('SELECT state FROM sessions').get() as { state: string };
  db.close();
  assert.deepEqual(repeated, [], 'a completed run was executed twice');
  assert.equal(state.state, 'completed');
  const seen = invocations(box).length;
  assert.ok(seen <= cleanCount + done * inFlight, `${seen} invocations > ${cleanCount} + ${done} kills x ${inFlight} in flight`);
  await sleep(200);
  for (const pid of invocations(box).map((i) => i.pid ?? 0)) assert.equal(alive(pid), false, `benchmark pid ${pid} is still running`);
  assert.deepEqual(processesWithRunKey((key) => key.startsWith(`${id}:`)), [], "a process carrying one of the session's run keys survived");
}

describe('crash safety', () => {
  it('survives SIGKILLs with three runs in flight (--gpu-groups "0 1 2") and ends identical to an uninterrupted session', async () => {
    await killAndResume([...ARGS, '--gpu-groups', '0 1 2'], 6, 3, 20261202);
  });

  it(`survives ${KILLS} SIGKILLs at random instants and ends identical to an uninterrupted session`, async () => {
    await killAndResume(ARGS, KILLS, 1, 20261123);
  });
});
