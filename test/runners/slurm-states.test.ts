/**
 * The SLURM runner's reading of SLURM: `scontrol show job -o` lines as slurm-wlm 22.05 prints
 * them, what each end state means for the run, the sbatch argv, and the resubmission of a run
 * whose job was preempted or lost its node, against stand-in sbatch/scontrol/scancel on PATH
 * that run the real batch script.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { after, describe, it } from 'node:test';
import { isLive, isRetryable, parseJobInfo, stateOutcome } from '../../src/runners/slurm/job-state.js';
import { DEFAULT_SLURM_OPTIONS, sbatchArgv } from '../../src/runners/slurm/options.js';
import { jobName, SlurmRunner } from '../../src/runners/slurm/runner.js';
import { baselineTrial } from '../../src/tuner/spaces/operators.js';

const dir = mkdtempSync(join(tmpdir(), 'autotune-slurm-states-'));
after(() => rmSync(dir, { recursive: true, force: true }));

// Shapes of `scontrol show job -o` (one line per job) from slurm-wlm 22.05 on one node.
const RUNNING =
  'JobId=17 JobName=autotune-0123456789abcdef UserId=root(0) GroupId=root(0) MCS_label=N/A Priority=4294901743 Nice=0 Account=(null) QOS=normal JobState=RUNNING Reason=None Dependency=(null) Requeue=0 Restarts=0 BatchFlag=1 Reboot=0 ExitCode=0:0 RunTime=00:00:03 TimeLimit=UNLIMITED TimeMin=N/A SubmitTime=2026-12-02T12:00:00 EligibleTime=2026-12-02T12:00:00 NodeList=node1 BatchHost=node1 NumNodes=1 NumCPUs=1 NumTasks=1 CPUs/Task=1 Command=/runs/job.sh WorkDir=/runs StdErr=/runs/run.log StdOut=/runs/run.log Power=';
const PENDING = 'JobId=18 JobName=autotune-x UserId=root(0) JobState=PENDING Reason=Resources Dependency=(null) ExitCode=0:0 NodeList=(null) Command=/runs/job.sh';
const CANCELLED = 'JobId=19 JobName=autotune-y UserId=root(0) JobState=CANCELLED Reason=None ExitCode=0:15 NodeList=node1 Command=/runs/job.sh';
const FAILED = 'JobId=20 JobName=autotune-z UserId=root(0) JobState=FAILED Reason=NonZeroExitCode ExitCode=3:0 NodeList=node1 Command=/runs/job.sh';

describe('scontrol lines', () => {
  it('reads the id, name, base state, reason, exit status and nodes', () => {
    assert.deepEqual(parseJobInfo(RUNNING), { id: '17', name: 'autotune-0123456789abcdef', state: 'RUNNING', reason: null, exitCode: 0, signal: 0, nodes: 'node1' });
    assert.deepEqual(parseJobInfo(PENDING), { id: '18', name: 'autotune-x', state: 'PENDING', reason: 'Resources', exitCode: 0, signal: 0, nodes: null });
    assert.deepEqual(parseJobInfo(FAILED), { id: '20', name: 'autotune-z', state: 'FAILED', reason: 'NonZeroExitCode', exitCode: 3, signal: 0, nodes: 'node1' });
    // `CANCELLED by 0` arrives as CANCELLED plus a signal in ExitCode.
    assert.equal(parseJobInfo(CANCELLED)?.signal, 15);
    assert.equal(parseJobInfo(`JobId=21 JobState=CANCELLED+ ExitCode=0:9`)?.state, 'CANCELLED');
  });

  it('names no job in an error or an empty answer', () => {
    assert.equal(parseJobInfo(''), null);
    assert.equal(parseJobInfo('slurm_load_jobs error: Invalid job id specified'), null);
    assert.equal(parseJobInfo('JobId=22 JobName=x'), null, 'a line without JobState');
  });
});

describe('end states', () => {
  it('live states keep the job followed; ended ones do not', () => {
    for (const s of ['PENDING', 'CONFIGURING', 'RUNNING', 'SUSPENDED', 'COMPLETING', 'REQUEUED']) assert.equal(isLive(s), true, s);
    for (const s of ['COMPLETED', 'FAILED', 'TIMEOUT', 'OUT_OF_MEMORY', 'NODE_FAIL', 'PREEMPTED', 'CANCELLED', 'BOOT_FAIL', 'DEADLINE']) assert.equal(isLive(s), false, s);
  });

  it('maps each state that decides the outcome by itself, and leaves the others to the log', () => {
    const outcome = (s: string): string | null => stateOutcome(s)?.outcome ?? null;
    assert.equal(outcome('TIMEOUT'), 'timeout');
    assert.equal(outcome('DEADLINE'), 'timeout');
    assert.equal(outcome('OUT_OF_MEMORY'), 'oom');
    assert.equal(outcome('NODE_FAIL'), 'engine_failure');
    assert.equal(outcome('PREEMPTED'), 'engine_failure');
    assert.equal(outcome('BOOT_FAIL'), 'engine_failure');
    assert.equal(outcome('CANCELLED'), 'nonzero_exit');
    assert.equal(outcome('COMPLETED'), null);
    assert.equal(outcome('FAILED'), null);
    assert.match(stateOutcome('TIMEOUT')?.failure ?? '', /SLURM time limit/);
  });

  it('resubmits only for reasons that say nothing about the trial', () => {
    assert.deepEqual(
      ['NODE_FAIL', 'PREEMPTED', 'BOOT_FAIL', 'TIMEOUT', 'OUT_OF_MEMORY', 'FAILED', 'CANCELLED', 'COMPLETED'].filter(isRetryable),
      ['NODE_FAIL', 'PREEMPTED', 'BOOT_FAIL'],
    );
  });
});

describe('sbatch argv', () => {
  const job = { name: 'autotune-abc', jobDir: '/runs/0001.job', logPath: '/runs/0001.log', script: '/runs/0001.job/job.sh' };

  it('has the fixed options, then each configured one, then --slurm-args, then the script', () => {
    assert.deepEqual(sbatchArgv(DEFAULT_SLURM_OPTIONS, job), [
      '--parsable', '--job-name=autotune-abc', '--chdir=/runs/0001.job', '--output=/runs/0001.log', '--open-mode=append', '--no-requeue', '--nodes=1', '--ntasks=1', '/runs/0001.job/job.sh',
    ]);
    const o = { ...DEFAULT_SLURM_OPTIONS, partition: 'gpu', account: 'proj', qos: 'high', gres: 'gpu:h100:2', timeLimit: '00:30:00', extraArgs: ['--exclusive', '--constraint=h100'] };
    assert.deepEqual(sbatchArgv(o, job).slice(8), [
      '--partition=gpu', '--account=proj', '--qos=high', '--gres=gpu:h100:2', '--time=00:30:00', '--exclusive', '--constraint=h100', '/runs/0001.job/job.sh',
    ]);
  });

  it('names a job after its run key, the same on every call', () => {
    assert.equal(jobName('s1:0001'), jobName('s1:0001'));
    assert.notEqual(jobName('s1:0001'), jobName('s1:0002'));
    assert.match(jobName('s1:0001'), /^autotune-[0-9a-f]{16}$/);
  });
});

/**
 * sbatch, scontrol and scancel stand-ins. Job k ends in the k-th state of FAKE_SLURM_STATES;
 * a COMPLETED job runs the real batch script first (in its --chdir, output appended to
 * --output), so the runner reads what the script recorded, as on a cluster.
 */
function fakeSlurm(states: readonly string[]): string {
  const bin = join(dir, `bin-${states.join('-')}`);
  const state = join(bin, 'state');
  mkdirSync(state, { recursive: true });
  const head = `#!${process.execPath}\n'use strict';\nconst fs = require('node:fs');\nconst path = require('node:path');\nconst state = ${JSON.stringify(state)};\n`;
  writeFileSync(
    join(bin, 'sbatch'),
    `${head}const args = process.argv.slice(2);
const opt = (n) => (args.find((a) => a.startsWith('--' + n + '=')) || '').slice(n.length + 3);
const count = path.join(state, 'count');
const id = (fs.existsSync(count) ? Number(fs.readFileSync(count, 'utf8')) : 0) + 1;
fs.writeFileSync(count, String(id));
fs.appendFileSync(path.join(state, 'submitted'), args.join(' ') + '\\n');
const states = ${JSON.stringify(states)};
const end = states[id - 1] || 'COMPLETED';
let exit = 0;
if (end === 'COMPLETED') {
  const out = fs.openSync(opt('output'), 'a');
  const r = require('node:child_process').spawnSync('bash', [args[args.length - 1]], { cwd: opt('chdir'), stdio: ['ignore', out, out] });
  exit = r.status;
}
fs.writeFileSync(path.join(state, 'job-' + id), 'JobId=' + id + ' JobName=' + opt('job-name') + ' JobState=' + (end === 'COMPLETED' && exit !== 0 ? 'FAILED' : end) + ' Reason=None ExitCode=' + exit + ':0 NodeList=node1');
console.log(String(id));
`,
    { mode: 0o755 },
  );
  writeFileSync(
    join(bin, 'scontrol'),
    `${head}const id = process.argv[process.argv.length - 1];
const file = path.join(state, 'job-' + id);
if (!fs.existsSync(file)) { console.error('slurm_load_jobs error: Invalid job id specified'); process.exit(1); }
console.log(fs.readFileSync(file, 'utf8'));
`,
    { mode: 0o755 },
  );
  writeFileSync(join(bin, 'scancel'), `${head}fs.appendFileSync(path.join(state, 'cancelled'), process.argv.slice(2).join(' ') + '\\n');\n`, { mode: 0o755 });
  writeFileSync(
    join(bin, 'vllm'),
    `#!${process.execPath}\nconsole.log('Throughput: 1.00 requests/s, 100.00 total tokens/s, 50.00 output tokens/s');\n`,
    { mode: 0o755 },
  );
  return bin;
}

describe('resubmission', () => {
  let n = 0;
  async function runWith(states: readonly string[]): Promise<{ outcome: string; failure: string | null; log: string; submitted: string[] }> {
    const bin = fakeSlurm(states);
    const saved = process.env['PATH'];
    process.env['PATH'] = `${bin}${delimiter}${saved ?? ''}`;
    try {
      const name = `r${++n}`;
      const runner = new SlurmRunner(DEFAULT_SLURM_OPTIONS, { pollMs: 20 });
      const logPath = join(dir, name, 'run.log');
      const r = await runner.run({
        trial: baselineTrial(),
        passthrough: ['--model', 'm'],
        vllmBin: join(bin, 'vllm'),
        baseEnv: { PATH: process.env['PATH'] },
        logPath,
        configPath: join(dir, name, 'config.yaml'),
        oplistPath: join(dir, name, 'oplist.txt'),
        outputJsonPath: null,
        runKey: `states:${name}`,
        timeoutMs: 20_000,
      });
      const submitted = readFileSync(join(bin, 'state', 'submitted'), 'utf8').trim().split('\n');
      return { outcome: r.outcome, failure: r.failure, log: readFileSync(logPath, 'utf8'), submitted };
    } finally {
      process.env['PATH'] = saved;
    }
  }

  it('a preempted job and a failed node are submitted again; the third job measures', async () => {
    const r = await runWith(['PREEMPTED', 'NODE_FAIL', 'COMPLETED']);
    assert.equal(r.outcome, 'ok', r.failure ?? r.log);
    assert.equal(r.submitted.length, 3);
    assert.match(r.log, /job 1 ended PREEMPTED; submitting the run again \(attempt 2 of 3\)/);
    assert.match(r.log, /job 2 ended NODE_FAIL; submitting the run again \(attempt 3 of 3\)/);
    assert.match(r.log, /100\.00 total tokens\/s/);
  });

  it('a run whose every attempt is preempted is an engine failure that says so', async () => {
    const r = await runWith(['PREEMPTED', 'PREEMPTED', 'PREEMPTED', 'COMPLETED']);
    assert.equal(r.outcome, 'engine_failure');
    assert.equal(r.submitted.length, 3);
    assert.match(r.failure ?? '', /^SLURM job 3 preempted by SLURM \(PREEMPTED\), on every attempt$/);
  });

  it('a job killed at its memory limit is not resubmitted: the trial needs that memory', async () => {
    const r = await runWith(['OUT_OF_MEMORY', 'COMPLETED']);
    assert.equal(r.outcome, 'oom');
    assert.equal(r.submitted.length, 1);
  });
});
