/** `autotune validate job.yaml`: checks a job file and says what it plans; starts nothing. */
import { AutotuneError } from '../../errors.js';
import { planStudy, planSummary } from '../plan.js';
import { readRunOptions } from '../run-options.js';
import { autoTuneConfigOps } from '../session-options.js';

export function validateCommand(argv: string[]): number {
  const file = argv[0];
  if (file === undefined || file.startsWith('-') || argv.length > 1) {
    throw new AutotuneError('E_USAGE', 'usage: autotune validate JOB.yaml');
  }
  const run = readRunOptions([file], true);
  const plan = planStudy(run, run.ops === null ? autoTuneConfigOps({ ...process.env, ...run.env }) : null);
  process.stdout.write(`${file}: ok (${planSummary(plan)}${plan.lowerBound ? '; operators are discovered at round 1c' : ''})\n`);
  return 0;
}
