/** sbatch's argv for a run, and the job script it submits. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { JOB_FILES, JOB_SCRIPT } from '../../../src/runners/slurm/job-files.js';
import { DEFAULT_SLURM_OPTIONS, sbatchArgv } from '../../../src/runners/slurm/options.js';

const JOB = { name: 'autotune-0123456789abcdef', jobDir: '/runs/a b/raw/0001_x.slurm', logPath: '/runs/a b/0001_x.log', script: '/runs/a b/raw/0001_x.slurm/job.sh' };
const OWN = ['--parsable', `--job-name=${JOB.name}`, `--chdir=${JOB.jobDir}`, `--output=${JOB.logPath}`, '--open-mode=append', '--no-requeue', '--nodes=1', '--ntasks=1'];

describe('sbatchArgv', () => {
  it('submits with autotune\'s own options only by default, one word each (paths with spaces stay whole)', () => {
    assert.deepEqual(sbatchArgv(DEFAULT_SLURM_OPTIONS, JOB), [...OWN, JOB.script]);
  });

  it('adds partition, account, qos, gres and time limit, then --slurm-args in their order, the script last', () => {
    const argv = sbatchArgv(
      { partition: 'gpu', account: 'proj-42', qos: 'high', gres: 'gpu:h100:2', timeLimit: '01:30:00', extraArgs: ['--constraint=h100', '--exclusive', '--mem', '0'], maxJobs: 4 },
      JOB,
    );
    assert.deepEqual(argv, [...OWN, '--partition=gpu', '--account=proj-42', '--qos=high', '--gres=gpu:h100:2', '--time=01:30:00', '--constraint=h100', '--exclusive', '--mem', '0', JOB.script]);
  });

  it('never lets SLURM requeue a job by itself: the runner submits a retried run again', () => {
    assert.ok(sbatchArgv({ ...DEFAULT_SLURM_OPTIONS, partition: 'p' }, JOB).includes('--no-requeue'));
  });
});

describe('the job script', () => {
  it('is one fixed text that reads its inputs as NUL-separated arrays and records start and exit status', () => {
    assert.match(JOB_SCRIPT, /^#!\/bin\/bash\n/);
    for (const file of [JOB_FILES.argv, JOB_FILES.env, JOB_FILES.cwd]) assert.ok(JOB_SCRIPT.includes(`mapfile -d '' -t`) && JOB_SCRIPT.includes(`< ${file}`), file);
    assert.match(JOB_SCRIPT, /\/usr\/bin\/env -i "\$\{trialenv\[@\]\}" "\$\{jobenv\[@\]\}" "\$\{argv\[@\]\}"/);
    assert.ok(JOB_SCRIPT.includes(`> "$jobdir/${JOB_FILES.started}.tmp"`));
    assert.ok(JOB_SCRIPT.includes(`echo "$status" > "$jobdir/${JOB_FILES.exit}.tmp"`));
    assert.doesNotMatch(JOB_SCRIPT, /eval|\$\(cat/, 'no input is ever evaluated as shell');
  });
});
