/** Runs the built `autotune` against the bundled `vllm` simulator, in a throwaway directory. */
import { mkdtempSync, readFileSync, readdirSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { execa, type ResultPromise } from 'execa';

export const ROOT = resolve(fileURLToPath(new URL('../../..', import.meta.url)));
export const CLI = join(ROOT, 'dist', 'src', 'cli', 'main.js');
export const SIM_BIN = join(ROOT, 'simulator', 'bin');

export interface Sandbox {
  readonly dir: string;
  readonly stateDir: string;
  readonly env: Record<string, string>;
}

export function sandbox(scenario: string, extraEnv: Record<string, string> = {}): Sandbox {
  const dir = mkdtempSync(join(tmpdir(), 'autotune-test-'));
  const stateDir = join(dir, 'sim-state');
  const env: Record<string, string> = {
    PATH: `${SIM_BIN}${delimiter}${process.env['PATH'] ?? ''}`,
    HOME: dir,
    VLLM_SIM_SCENARIO: scenario,
    VLLM_SIM_TIME_SCALE: '0',
    VLLM_SIM_STATE_DIR: stateDir,
    ...extraEnv,
  };
  return { dir, stateDir, env };
}

export const BENCH_ARGS = ['--model', '/models/Qwen3-4B', '--dataset-name', 'random', '--input-len', '512', '--output-len', '128'];

export function autotune(box: Sandbox, args: readonly string[], env: Record<string, string> = {}): ResultPromise<{ reject: false; all: true; extendEnv: false; stripFinalNewline: false }> {
  return execa(process.execPath, [CLI, ...args], {
    cwd: box.dir,
    env: { ...box.env, ...env },
    extendEnv: false,
    reject: false,
    all: true,
    stripFinalNewline: false,
  });
}

export interface Invocation {
  readonly event?: string;
  readonly argv?: string[];
  readonly env?: Record<string, string | null>;
  readonly config?: unknown;
  readonly runKey?: string | null;
  readonly pid?: number;
  readonly outcome?: string;
}

/** What the simulator saw: one start record per invocation (end records filtered out). */
export function invocations(box: Sandbox): Invocation[] {
  const file = join(box.stateDir, 'invocations.jsonl');
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as Invocation)
    .filter((r) => r.event === undefined || r.event === 'start');
}

export function onlyRunDir(box: Sandbox): string {
  const base = join(box.dir, 'autotune_logs');
  const dirs = readdirSync(base).filter((d) => d.startsWith('autotune_2'));
  if (dirs.length !== 1) throw new Error(`expected one run directory, found ${dirs.join(', ')}`);
  return join(base, dirs[0] as string);
}

/** Whether a pid is a live (non-zombie) process. */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
}

/** The session's id once its row is committed to the sandbox's database, else null. */
export function committedSessionId(box: Sandbox): string | null {
  const path = join(box.dir, 'autotune_logs', 'autotune.db');
  if (!existsSync(path)) return null;
  const db = new Database(path, { readonly: true });
  try {
    return (db.prepare('SELECT id FROM sessions').get() as { id: string } | undefined)?.id ?? null;
  } catch {
    return null; // the schema is not created yet
  } finally {
    db.close();
  }
}
