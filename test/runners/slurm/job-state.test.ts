/** SLURM's words for a job (scontrol, squeue) and what a finished job's state means for the run. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isLive, isRetryable, parseJobInfo, parseQueueIds, stateOutcome } from '../../../src/runners/slurm/job-state.js';

/** `scontrol show job -o` as slurm-wlm 22.05 prints it, with the fields that vary. */
function scontrol(fields: { id?: string; state: string; reason?: string; exit?: string; nodes?: string }): string {
  return [
    `JobId=${fields.id ?? '42'} JobName=autotune-0123456789abcdef UserId=root(0) GroupId=root(0) MCS_label=N/A Priority=4294901757 Nice=0 Account=(null) QOS=(null)`,
    `JobState=${fields.state} Reason=${fields.reason ?? 'None'} Dependency=(null) Requeue=0 Restarts=0 BatchFlag=1 Reboot=0 ExitCode=${fields.exit ?? '0:0'}`,
    'RunTime=00:00:03 TimeLimit=00:01:00 TimeMin=N/A SubmitTime=2026-12-02T13:00:00 EligibleTime=2026-12-02T13:00:00 Partition=debug AllocNode:Sid=host:123',
    `ReqNodeList=(null) ExcNodeList=(null) NodeList=${fields.nodes ?? 'node1'} BatchHost=node1 NumNodes=1 NumCPUs=1 NumTasks=1 CPUs/Task=1 TRES=cpu=1,node=1`,
    'Command=/tmp/run dir/raw/0001_baseline.slurm/job.sh WorkDir=/tmp/run dir/raw/0001_baseline.slurm StdErr=/tmp/run dir/0001.log StdIn=/dev/null StdOut=/tmp/run dir/0001.log Power=',
  ].join(' ');
}

describe('parseJobInfo', () => {
  it('reads a completed job: id, name, state, exit status and signal, node', () => {
    assert.deepEqual(parseJobInfo(`${scontrol({ state: 'COMPLETED' })}\n`), {
      id: '42',
      name: 'autotune-0123456789abcdef',
      state: 'COMPLETED',
      reason: null,
      exitCode: 0,
      signal: 0,
      nodes: 'node1',
    });
  });

  it('reads a failed job\'s status, a time-limit kill\'s signal and a pending job\'s reason', () => {
    assert.deepEqual([parseJobInfo(scontrol({ state: 'FAILED', exit: '3:0' }))?.exitCode, parseJobInfo(scontrol({ state: 'FAILED', exit: '3:0' }))?.state], [3, 'FAILED']);
    const timeout = parseJobInfo(scontrol({ state: 'TIMEOUT', exit: '0:15' }));
    assert.deepEqual([timeout?.state, timeout?.exitCode, timeout?.signal], ['TIMEOUT', 0, 15]);
    const pending = parseJobInfo(scontrol({ state: 'PENDING', reason: 'Resources', nodes: '(null)' }));
    assert.deepEqual([pending?.state, pending?.reason, pending?.nodes], ['PENDING', 'Resources', null]);
  });

  it('keeps the base state of `CANCELLED by 0` and of a combined state, and an array task\'s id', () => {
    assert.equal(parseJobInfo(scontrol({ state: 'CANCELLED', reason: 'None' }).replace('JobState=CANCELLED', 'JobState=CANCELLED by 0'))?.state, 'CANCELLED');
    assert.equal(parseJobInfo(scontrol({ state: 'RUNNING+COMPLETING' }))?.state, 'RUNNING');
    assert.equal(parseJobInfo(scontrol({ id: '812_3', state: 'RUNNING' }))?.id, '812_3');
  });

  it('is null for an unknown job or a line that is not a job', () => {
    assert.equal(parseJobInfo('slurm_load_jobs error: Invalid job id specified\n'), null);
    assert.equal(parseJobInfo(''), null);
    assert.equal(parseJobInfo('JobId=7 JobName=x'), null, 'no JobState');
  });
});

describe('parseQueueIds', () => {
  it('takes the job ids of `squeue -h -o %i`, array tasks included, and nothing else', () => {
    assert.deepEqual(parseQueueIds('812\n  813\n812_4\n\nsqueue: warning: the controller is slow\n'), ['812', '813', '812_4']);
    assert.deepEqual(parseQueueIds(''), []);
  });
});

describe('job states', () => {
  it('tells live states from ended ones', () => {
    for (const s of ['PENDING', 'CONFIGURING', 'RUNNING', 'COMPLETING', 'SUSPENDED', 'REQUEUED']) assert.equal(isLive(s), true, s);
    for (const s of ['COMPLETED', 'FAILED', 'TIMEOUT', 'OUT_OF_MEMORY', 'NODE_FAIL', 'PREEMPTED', 'CANCELLED', 'BOOT_FAIL', 'DEADLINE']) assert.equal(isLive(s), false, s);
  });

  it('retries preempted, node-failed and boot-failed jobs only', () => {
    assert.deepEqual(
      ['PREEMPTED', 'NODE_FAIL', 'BOOT_FAIL', 'TIMEOUT', 'OUT_OF_MEMORY', 'CANCELLED', 'FAILED', 'COMPLETED'].filter(isRetryable),
      ['PREEMPTED', 'NODE_FAIL', 'BOOT_FAIL'],
    );
  });

  it('maps each ending state to our outcome; COMPLETED and FAILED leave it to the log', () => {
    const outcomes = Object.fromEntries(
      ['TIMEOUT', 'DEADLINE', 'OUT_OF_MEMORY', 'NODE_FAIL', 'PREEMPTED', 'BOOT_FAIL', 'CANCELLED', 'FAILED', 'COMPLETED'].map((s) => [s, stateOutcome(s)?.outcome ?? null]),
    );
    assert.deepEqual(outcomes, {
      TIMEOUT: 'timeout',
      DEADLINE: 'timeout',
      OUT_OF_MEMORY: 'oom',
      NODE_FAIL: 'engine_failure',
      PREEMPTED: 'engine_failure',
      BOOT_FAIL: 'engine_failure',
      CANCELLED: 'nonzero_exit',
      FAILED: null,
      COMPLETED: null,
    });
    assert.match(stateOutcome('TIMEOUT')?.failure ?? '', /SLURM time limit \(TIMEOUT\)/);
    assert.match(stateOutcome('OUT_OF_MEMORY')?.failure ?? '', /OUT_OF_MEMORY/);
    assert.match(stateOutcome('CANCELLED')?.failure ?? '', /cancelled outside autotune/);
  });
});
