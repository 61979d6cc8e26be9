/**
 * How fast the CLI answers: `autotune --help` (target < 300 ms) and `--background true`
 * (target < 1 s until the command returns), median of repeated process runs. Exits 1 on a miss.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { median, quantile } from 'simple-statistics';

const ROOT = resolve(fileURLToPath(new URL('../..', import.meta.url)));
const CLI = join(ROOT, 'dist', 'src', 'cli', 'main.js');
const REPEATS = Number(process.argv[2] ?? 15);

const started: string[] = [];

async function time(args: readonly string[], env: Record<string, string>, cwd: string): Promise<number> {
  const start = performance.now();
  const r = await execa(process.execPath, [CLI, ...args], { cwd, env, reject: false });
  const ms = performance.now() - start;
  if (r.exitCode !== 0) throw new Error(`autotune ${args.join(' ')} failed: ${r.stderr}`);
  const id = /Started session (\S+)/.exec(r.stdout)?.[1];
  // A background worker would load the machine for the next sample; stop it outside the timing.
  if (id !== undefined) {
    started.push(id);
    await execa(process.execPath, [CLI, 'stop', id, '--force'], { cwd, env, reject: false });
  }
  return ms;
}

async function measure(label: string, target: number, run: () => Promise<number>): Promise<void> {
  const samples: number[] = [];
  for (let i = 0; i < REPEATS; i++) samples.push(await run());
  const p50 = median(samples);
  const p90 = quantile(samples, 0.9);
  const verdict = p50 < target ? 'ok' : 'MISSED';
  if (verdict === 'MISSED') process.exitCode = 1;
  console.log(`${label.padEnd(34)} median ${p50.toFixed(0).padStart(4)} ms   p90 ${p90.toFixed(0).padStart(4)} ms   target < ${target} ms: ${verdict}`);
}

const dir = mkdtempSync(join(tmpdir(), 'autotune-bench-startup-'));
const env = {
  ...process.env,
  PATH: `${join(ROOT, 'simulator', 'bin')}${delimiter}${process.env['PATH'] ?? ''}`,
  VLLM_SIM_SCENARIO: 'demo',
  VLLM_SIM_TIME_SCALE: '1',
} as Record<string, string>;
const bare = async (): Promise<number> => {
  const start = performance.now();
  await execa(process.execPath, ['-e', '0']);
  return performance.now() - start;
};

console.log(`autotune startup, ${REPEATS} runs each (node ${process.version})`);
await measure('node -e 0 (floor)', 300, bare);
await measure('autotune --help', 300, () => time(['--help'], env, dir));
await measure('autotune --version', 300, () => time(['--version'], env, dir));
await measure('autotune ... --background true', 1000, () =>
  time(['--model', '/models/demo', '--input-len', '16', '--ops', 'add', '--num-runs', '1', '--background', 'true'], env, dir),
);
