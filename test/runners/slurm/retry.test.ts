/**
 * How the SLURM runner treats each way a job can end, against stand-in sbatch/scontrol/scancel
 * that play a scripted sequence of job endings (a real cluster cannot be made to preempt a job
 * or fail a node on demand): preempted and node-failed jobs are submitted again, with a fresh
 * handle each time, until one runs; every other ending is final and mapped to our outcome.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { DEFAULT_SLURM_OPTIONS } from '../../../src/runners/slurm/options.js';
import { SlurmRunner } from '../../../src/runners/slurm/runner.js';
import type { RunHandle, RunRequest } from '../../../src/tuner/ports.js';
import { baselineTrial } from '../../../src/tuner/spaces/operators.js';

const dir = mkdtempSync(join(tmpdir(), 'autotune-slurm-retry-'));
const bin = join(dir, 'bin');
const savedPath = process.env['PATH'];

// Each submission takes the next line of $FAKE_SLURM/plan: RUN runs the job script at once
// (its exit status decides COMPLETED or FAILED); any other word is the state the job ends in
// without ever running.
const SBATCH = `#!/bin/bash
set -u
n=$(( $(cat "$FAKE_SLURM/count" 2>/dev/null || echo 0) + 1 ))
echo "$n" > "$FAKE_SLURM/count"
printf '%s\\n' "$@" > "$FAKE_SLURM/argv.$n"
chdir=; out=; script=
for a in "$@"; do
  case $a in --chdir=*) chdir=\${a#--chdir=} ;; --output=*) out=\${a#--output=} ;; --*) ;; *) script=$a ;; esac
done
plan=$(sed -n "\${n}p" "$FAKE_SLURM/plan")
if [ "$plan" = RUN ]; then
  (cd "$chdir" && bash "$script" >> "$out" 2>&1)
  code=$?
  if [ "$code" = 0 ]; then echo "COMPLETED 0" > "$FAKE_SLURM/job.$n"; else echo "FAILED $code" > "$FAKE_SLURM/job.$n"; fi
else
  echo "$plan 0" > "$FAKE_SLURM/job.$n"
fi
echo "$n"
`;
const SCONTROL = `#!/bin/bash
id=$4
[ -f "$FAKE_SLURM/job.$id" ] || { echo "slurm_load_jobs error: Invalid job id specified" >&2; exit 1; }
read -r state code < "$FAKE_SLURM/job.$id"
echo "JobId=$id JobName=x UserId=root(0) JobState=$state Reason=None ExitCode=$code:0 NodeList=node1 Command=/x"
`;
const SCANCEL = `#!/bin/bash
echo "$1" >> "$FAKE_SLURM/cancelled"
`;
const VLLM = `#!${process.execPath}
'use strict';
if (process.argv[4] === 'ok') { console.log('Throughput: 1.00 requests/s, 100.00 total tokens/s, 50.00 output tokens/s'); process.exit(0); }
console.error('boom');
process.exit(1);
`;

before(() => {
  mkdirSync(bin, { recursive: true });
  const write = (name: string, text: string): void => writeFileSync(join(bin, name), text, { mode: 0o755 });
  write('sbatch', SBATCH);
  write('scontrol', SCONTROL);
  write('scancel', SCANCEL);
  write('vllm', VLLM);
  process.env['PATH'] = `${bin}${delimiter}${savedPath ?? ''}`;
});
after(() => {
  process.env['PATH'] = savedPath;
  rmSync(dir, { recursive: true, force: true });
});

let n = 0;
/** A run with its own fake-SLURM state, playing `plan`. */
function setup(plan: readonly string[], behaviour = 'ok'): { request: RunRequest; state: string; handles: RunHandle[] } {
  const name = `r${++n}`;
  const state = join(dir, name, 'slurm');
  mkdirSync(state, { recursive: true });
  writeFileSync(join(state, 'plan'), `${plan.join('\n')}\n`);
  process.env['FAKE_SLURM'] = state;
  const handles: RunHandle[] = [];
  const request: RunRequest = {
    trial: baselineTrial(),
    passthrough: [behaviour],
    vllmBin: join(bin, 'vllm'),
    baseEnv: { PATH: savedPath },
    logPath: join(dir, name, 'run.log'),
    configPath: join(dir, name, 'config.yaml'),
    oplistPath: join(dir, name, 'raw', 'oplist.txt'),
    outputJsonPath: null,
    runKey: `retry:${name}`,
    timeoutMs: 10_000,
    onStart: (h) => handles.push(h),
  };
  return { request, state, handles };
}

const submissions = (state: string): number => Number(readFileSync(join(state, 'count'), 'utf8').trim());
const runner = (): SlurmRunner => new SlurmRunner(DEFAULT_SLURM_OPTIONS, { pollMs: 20 });

describe('SLURM runner: job endings', () => {
  it('submits a preempted and then a node-failed run again, and the third job\'s result is the run\'s', async () => {
    const { request, state, handles } = setup(['PREEMPTED', 'NODE_FAIL', 'RUN']);
    const r = await runner().run(request);
    assert.equal(r.outcome, 'ok', r.failure ?? '');
    assert.equal(r.metrics?.['total_tokens_per_s'], 100);
    assert.equal(submissions(state), 3);
    assert.deepEqual(handles.map((h) => [h.runner, h.id]), [['slurm', '1'], ['slurm', '2'], ['slurm', '3']], 'each attempt stores its job as the handle');
    const log = readFileSync(request.logPath, 'utf8');
    assert.match(log, /SLURM job 1 ended PREEMPTED; submitting the run again \(attempt 2 of 3\)/);
    assert.match(log, /SLURM job 2 ended NODE_FAIL; submitting the run again \(attempt 3 of 3\)/);
  });

  it('gives up after three preemptions with an engine failure that says so', async () => {
    const { request, state } = setup(['PREEMPTED', 'PREEMPTED', 'PREEMPTED', 'RUN']);
    const r = await runner().run(request);
    assert.equal(submissions(state), 3);
    assert.equal(r.outcome, 'engine_failure');
    assert.equal(r.failure, 'SLURM job 3 preempted by SLURM (PREEMPTED), on every attempt');
  });

  for (const [state, outcome, failure] of [
    ['TIMEOUT', 'timeout', /SLURM job 1 killed by its SLURM time limit \(TIMEOUT\)/],
    ['OUT_OF_MEMORY', 'oom', /SLURM job 1 host out of memory: .*\(OUT_OF_MEMORY\)/],
    ['CANCELLED', 'nonzero_exit', /SLURM job 1 cancelled outside autotune \(scancel\)/],
  ] as const) {
    it(`ends a ${state} job as ${outcome}, without submitting it again`, async () => {
      const s = setup([state, 'RUN']);
      const r = await runner().run(s.request);
      assert.equal(submissions(s.state), 1);
      assert.equal(r.outcome, outcome);
      assert.match(r.failure ?? '', failure);
    });
  }

  it('leaves a FAILED job to the benchmark\'s own exit status and log', async () => {
    const s = setup(['RUN', 'RUN'], 'fail');
    const r = await runner().run(s.request);
    assert.equal(submissions(s.state), 1);
    assert.equal(r.outcome, 'nonzero_exit');
    assert.equal(r.exitCode, 1);
  });
});
