/**
 * The live display seen through a real terminal (tmux): the fields are there, the status area
 * is redrawn in place (one frame on the whole screen and scrollback), the cursor is hidden
 * while it runs and back after Ctrl-C, lines fit after a resize; piped output has no control
 * codes; `status --watch` follows a background session.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { autotune, BENCH_ARGS, CLI, sandbox, type Sandbox } from '../support/cli.js';

function hasTmux(): boolean {
  try {
    execFileSync('tmux', ['-V'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

const SOCKET = `autotune-test-${process.pid}`;
const tmux = (...args: string[]): string => execFileSync('tmux', ['-L', SOCKET, ...args], { encoding: 'utf8' });
const shellWord = (w: string): string => `'${w.replace(/'/g, `'\\''`)}'`;
const FRAME_LABELS = ['autotune  ', 'trial     ', 'runs      ', 'best      ', 'failure   '];

async function until<T>(what: string, probe: () => T | null, timeoutMs = 60_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = probe();
    if (v !== null) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(200);
  }
}

/** The visible screen, row by row. */
const screen = (): string[] => tmux('capture-pane', '-p', '-t', 'p').split('\n');
/** The screen and everything scrolled above it. */
const history = (): string[] => tmux('capture-pane', '-p', '-S', '-', '-t', 'p').split('\n');
const rowOf = (rows: string[], prefix: string): number => rows.findIndex((r) => r.startsWith(prefix));

describe('live progress in a terminal', { skip: hasTmux() ? false : 'tmux is not installed (apt-get install -y tmux)' }, () => {
  let box: Sandbox;
  before(() => {
    box = sandbox('demo', { VLLM_SIM_TIME_SCALE: '2', TERM: 'xterm-256color' });
    const env = Object.entries(box.env).map(([k, v]) => `${k}=${shellWord(v)}`).join(' ');
    const cmd = `cd ${shellWord(box.dir)} && env -i ${env} ${shellWord(process.execPath)} ${shellWord(CLI)} ${[...BENCH_ARGS, '--num-prompts', '10'].map(shellWord).join(' ')}; echo EXITED $?; sleep 600`;
    tmux('new-session', '-d', '-s', 'p', '-x', '110', '-y', '30', cmd);
  });
  after(() => {
    try {
      tmux('kill-server');
    } catch {
      // Already gone.
    }
    rmSync(box.dir, { recursive: true, force: true });
  });

  it('shows every field and updates the same screen region in place', async () => {
    // Wait for round 2, when the log above has filled the screen and the area sits at the bottom.
    const first = await until('round 2 on screen', () => {
      const rows = screen();
      return rows.some((r) => r.startsWith('autotune  ') && r.includes('Round 2')) && rows.length >= 30 ? rows : null;
    });
    const row = rowOf(first, 'runs      ');
    assert.ok(row > 0, first.join('\n'));
    for (const label of FRAME_LABELS) assert.ok(rowOf(first, label) >= 0, `${label.trim()} in\n${first.join('\n')}`);
    assert.match(first[row] ?? '', /^runs {6}\d+ of ~\d+ done.*elapsed \S+ +ETA \S+/);
    assert.match(first[rowOf(first, 'trial     ')] ?? '', /^trial {5}\d+ of ~\d+ +(op_\S+|screen) +(warm-up \d|benchmark), run \d/);
    assert.equal(tmux('display-message', '-p', '-t', 'p', '#{cursor_flag}').trim(), '0', 'cursor hidden while drawing');

    await sleep(2500);
    const second = screen();
    assert.equal(rowOf(second, 'runs      '), row, 'the area stays where it was');
    assert.notEqual(second[row], first[row], 'and its content changed');
    const frames = history().filter((r) => r.startsWith('runs      '));
    assert.equal(frames.length, 1, 'earlier frames were overwritten, not scrolled away');
  });

  it('fits the terminal after a resize', async () => {
    tmux('resize-window', '-t', 'p', '-x', '60');
    await sleep(1500);
    const rows = screen();
    const status = rows.filter((r) => FRAME_LABELS.some((l) => r.startsWith(l)));
    assert.equal(status.length, FRAME_LABELS.length, rows.join('\n'));
    for (const r of status) assert.ok([...r.trimEnd()].length <= 60, r);
  });

  it('cleans up on Ctrl-C: the session stops, the last frame stays, the cursor comes back', async () => {
    tmux('send-keys', '-t', 'p', 'C-c');
    const rows = await until('exit', () => {
      const r = history();
      return r.some((l) => l.startsWith('EXITED')) ? r : null;
    });
    assert.ok(rows.some((l) => l.startsWith('EXITED 130')), rows.join('\n'));
    assert.ok(rows.some((l) => l.includes('Session stopped')));
    assert.equal(rows.filter((r) => r.startsWith('runs      ')).length, 1);
    assert.ok(rows.some((l) => l.startsWith('autotune  ') && l.includes('stopped')));
    assert.equal(tmux('display-message', '-p', '-t', 'p', '#{cursor_flag}').trim(), '1', 'cursor shown again');
  });
});

describe('progress without a terminal', () => {
  let box: Sandbox;
  before(() => {
    box = sandbox('failures');
  });
  after(() => rmSync(box.dir, { recursive: true, force: true }));

  it('prints plain lines, the benchmark output included, with no control codes', async () => {
    const r = await autotune(box, [...BENCH_ARGS, '--policy', 'reference', '--num-runs', '1', '--timeout', '3']);
    assert.equal(r.exitCode, 0, r.all);
    assert.doesNotMatch(r.all, /[\x1b\r]/);
    assert.match(r.stdout, /^\[0001\] baseline: benchmark -> /m);
    assert.match(r.stdout, /Throughput: [\d.]+ requests\/s/);
  });

  it('status --watch follows a background session to its end, one plain line when it moves', async () => {
    const start = await autotune(box, [...BENCH_ARGS, '--policy', 'reference', '--num-runs', '1', '--timeout', '3', '--background', 'true'], { VLLM_SIM_TIME_SCALE: '1' });
    assert.equal(start.exitCode, 0, start.all);
    const id = /(\d{8}-\d{6}-[0-9a-f]{4})/.exec(start.stdout)?.[1];
    assert.ok(id !== undefined, start.stdout);
    const w = await autotune(box, ['status', id, '--watch']);
    assert.equal(w.exitCode, 0, w.all);
    assert.doesNotMatch(w.stdout, /\x1b/);
    const lines = w.stdout.trim().split('\n');
    assert.ok(lines.length >= 2, w.stdout);
    assert.match(lines.at(-1) ?? '', new RegExp(`^${id} completed \\| trial \\d+ of ~\\d+ .*\\| best .*\\| last failure `));
  });
});
