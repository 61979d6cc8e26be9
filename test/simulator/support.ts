/** Builders and process helpers shared by the simulator tests. */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseScenario, type Scenario } from '../../simulator/scenario.js';
import type { SimInput } from '../../simulator/model.js';

export const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));
export const BIN_DIR = join(REPO_ROOT, 'simulator', 'bin');

/** A small valid scenario; `overrides` replace top-level fields of the raw YAML shape. */
export function tinyScenario(overrides: Record<string, unknown> = {}): Scenario {
  return parseScenario({
    name: 'tiny',
    description: 'test scenario',
    seed: 7,
    baseline: { requestsPerSec: 10, totalTokensPerSec: 15000, outputTokensPerSec: 5000 },
    noise: { cv: 0 },
    ops: { mul: 0.01, mm: -0.1 },
    ...overrides,
  });
}

export function input(env: SimInput['env'], extra: Partial<SimInput> = {}): SimInput {
  return { env, config: null, trialOrdinal: 5, step: 0, runKey: 's:0:5:t', ...extra };
}

export function tempDir(): string {
  return mkdtempSync(join(tmpdir(), 'vllm-sim-test-'));
}

export interface BinRun {
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
  readonly all: string;
}

/** Environment for the real bin: simulator first on PATH, instant timing, no inherited plugin vars. */
export function binEnv(env: Record<string, string>): NodeJS.ProcessEnv {
  return {
    PATH: `${BIN_DIR}${delimiter}${process.env['PATH'] ?? ''}`,
    HOME: process.env['HOME'],
    VLLM_SIM_TIME_SCALE: '0',
    ...env,
  };
}

export function runVllm(args: readonly string[], env: Record<string, string>): BinRun {
  const r = spawnSync('vllm', [...args], { env: binEnv(env), encoding: 'utf8', timeout: 20_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr, all: r.stdout + r.stderr };
}

/** Starts the bin, waits for `marker` in its output, then sends `signal`; resolves with how it ended. */
export function runUntil(
  args: readonly string[],
  env: Record<string, string>,
  marker: string,
  signal: NodeJS.Signals,
): Promise<{ output: string; code: number | null; signal: NodeJS.Signals | null }> {
  return new Promise((resolve, reject) => {
    const child = spawn('vllm', [...args], { env: binEnv(env) });
    let output = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`no '${marker}' within 10 s:\n${output}`));
    }, 10_000);
    const onData = (chunk: Buffer): void => {
      output += chunk.toString();
      if (output.includes(marker)) child.kill(signal);
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.on('exit', (code, sig) => {
      clearTimeout(timer);
      resolve({ output, code, signal: sig });
    });
  });
}

export function readJsonLines(path: string): Array<Record<string, unknown>> {
  return readFileSync(path, 'utf8')
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}
