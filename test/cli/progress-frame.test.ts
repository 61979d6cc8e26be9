import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { latestEchoLine, renderFrame, renderPlainLine, type ProgressState } from '../../src/cli/progress/frame.js';
import { terminalCaps } from '../../src/cli/progress/terminal.js';

const STATE: ProgressState = {
  id: '20261201-101010-abcd',
  state: 'running',
  stage: 'Round 2: Per-operator tuning',
  trial: { index: 7, planned: 15, name: 'op_rms_norm_flagos' },
  run: { kind: 'benchmark', ofTrial: 2, perTrial: 2, elapsedSec: 4.2 },
  runs: { done: 12, planned: 30, failed: 1 },
  elapsedSec: 62,
  etaSec: 130,
  best: { label: 'op:mul:flagos', gain: 0.012, low: 0.004, high: 0.02, validated: false },
  lastFailure: 'op_mm_flagos: oom (CUDA out of memory)',
  echo: 'Processed prompts:  45%|████▌     | 450/1000',
};

const strip = (s: string): string => s.replace(/\x1b\[[0-9;]*m/g, '');

describe('progress frame', () => {
  it('shows stage, trial i of N, run j of k, elapsed, ETA, best with interval, last failure and the benchmark line', () => {
    const lines = renderFrame(STATE, { columns: 200, color: false });
    assert.deepEqual(lines, [
      'autotune  20261201-101010-abcd  running  Round 2: Per-operator tuning',
      'trial     7 of ~15  op_rms_norm_flagos  benchmark, run 2 of 2 (4s)',
      'runs      12 of ~30 done, 1 failed   elapsed 1m02s   ETA 2m10s',
      'best      op:mul:flagos +1.20% [+0.40%, +2.00%]',
      'failure   op_mm_flagos: oom (CUDA out of memory)',
      'vllm      Processed prompts:  45%|████▌     | 450/1000',
    ]);
  });

  it('fits every line to the terminal width, colour codes not counted, and colours only when asked', () => {
    for (const columns of [30, 45, 80]) {
      const lines = renderFrame(STATE, { columns, color: true });
      for (const l of lines) assert.ok([...strip(l)].length <= columns - 1, `${JSON.stringify(strip(l))} fits ${columns}`);
      assert.ok(lines.some((l) => l.includes('\x1b[')));
    }
    assert.ok(renderFrame(STATE, { columns: 80, color: false }).every((l) => !l.includes('\x1b')));
    assert.match(renderFrame(STATE, { columns: 30, color: false })[1] ?? '', /…$/);
  });

  it('says what is not known yet', () => {
    const lines = renderFrame({ ...STATE, trial: { index: 1, planned: null, name: null }, run: null, runs: { done: 0, planned: null, failed: 0 }, etaSec: null, best: null, lastFailure: null, echo: null }, { columns: 100, color: false });
    assert.equal(lines.length, 5);
    assert.equal(lines[1], 'trial     1 of ?');
    assert.equal(lines[2], 'runs      0 of ? done   elapsed 1m02s   ETA -');
    assert.equal(lines[3], 'best      none yet');
    assert.equal(lines[4], 'failure   none');
    const echoing = renderFrame({ ...STATE, echo: null }, { columns: 100, color: false, echo: true });
    assert.equal(echoing.length, 6, 'the frame keeps its height before the benchmark prints');
  });

  it('has a one-line plain form without control codes', () => {
    const line = renderPlainLine(STATE);
    assert.equal(line, '20261201-101010-abcd running | trial 7 of ~15 op_rms_norm_flagos | runs 12 of ~30 | elapsed 1m02s | ETA 2m10s | best op:mul:flagos +1.20% [+0.40%, +2.00%] | last failure op_mm_flagos: oom (CUDA out of memory)');
  });

  it("keeps the benchmark's latest readable line: escapes gone, a carriage-return bar at its last state", () => {
    assert.equal(latestEchoLine(null, '\x1b[32mINFO\x1b[0m loading\nProcessed:  10%\rProcessed:  20%\r'), 'Processed:  20%');
    assert.equal(latestEchoLine('kept', '\n\r\n'), 'kept');
  });

  it('draws live only on a terminal that is not dumb; NO_COLOR turns colour off', () => {
    const tty = { isTTY: true } as NodeJS.WriteStream;
    assert.deepEqual(terminalCaps(tty, {}), { live: true, color: true });
    assert.deepEqual(terminalCaps(tty, { NO_COLOR: '1' }), { live: true, color: false });
    assert.deepEqual(terminalCaps(tty, { TERM: 'dumb' }), { live: false, color: false });
    assert.deepEqual(terminalCaps({ isTTY: false } as NodeJS.WriteStream, {}), { live: false, color: false });
  });
});
