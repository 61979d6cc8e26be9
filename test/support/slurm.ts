/**
 * A real one-node SLURM cluster for a test file (slurm-cluster.sh), started once and stopped
 * in `after`. Where SLURM or munge is not installed the tests FAIL, as in CI (.ci/run installs
 * them); AUTOTUNE_SKIP_SLURM=1 skips them instead, and says so.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const SCRIPT = fileURLToPath(new URL('../../../test/support/slurm-cluster.sh', import.meta.url));

export const SKIP_SLURM = process.env['AUTOTUNE_SKIP_SLURM'] === '1' ? 'AUTOTUNE_SKIP_SLURM=1: SLURM tests skipped' : false;

export interface SlurmCluster {
  readonly dir: string;
  /** SLURM_CONF (and the PATH) for the client commands. */
  readonly env: Record<string, string>;
  stop(): void;
}

/** Distinct ports per test file: two files may run at once (`--test-concurrency=2`). */
export function startSlurmCluster(ports: { readonly ctld: number; readonly slurmd: number }): SlurmCluster {
  const dir = mkdtempSync(join(tmpdir(), 'autotune-slurm-'));
  const env = { ...process.env, AUTOTUNE_SLURM_CTLD_PORT: String(ports.ctld), AUTOTUNE_SLURM_D_PORT: String(ports.slurmd) };
  let conf: string;
  try {
    conf = execFileSync('bash', [SCRIPT, 'start', dir], { env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();
  } catch (error) {
    const stderr = String((error as { stderr?: unknown }).stderr ?? '').trim();
    rmSync(dir, { recursive: true, force: true });
    throw new Error(`cannot start the test SLURM cluster (set AUTOTUNE_SKIP_SLURM=1 to skip these tests where SLURM cannot run): ${stderr}`);
  }
  return {
    dir,
    env: { SLURM_CONF: conf },
    stop: () => {
      execFileSync('bash', [SCRIPT, 'stop', dir], { stdio: 'ignore' });
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
