/** Names on disk: the run directory and each invocation's log and config file. */
import { mkdirSync, rmSync } from 'node:fs';
import { makeDirs } from './dirs.js';
import { isAbsolute, join, relative, resolve } from 'node:path';
import { AutotuneError } from '../errors.js';
import type { RunKind } from '../tuner/types.js';
import type { StoredRunFiles } from './runs.js';

export const DEFAULT_LOG_BASE = 'autotune_logs';
export const CONFIGS_DIR = 'autotune_configs';
/** Per-run `--output-json` files and enable-oplist logs. */
export const RAW_DIR = 'autotune_raw';

const pad = (n: number): string => String(n).padStart(2, '0');

/** What a file name in a run directory may contain: no separator, no leading dot, so no `..`. */
const FILE_NAME = /^[A-Za-z0-9_][A-Za-z0-9_.-]*$/;

/**
 * The path of `segments` inside `runDir`, refused when a segment is not a plain file name or
 * the result would resolve outside the run directory. Names are validated where they enter
 * (operators, backends, --csv-path); this is the second line, right before the filesystem.
 */
export function runDirPath(runDir: string, ...segments: string[]): string {
  const path = join(runDir, ...segments);
  const rel = relative(resolve(runDir), resolve(path));
  if (segments.some((s) => !FILE_NAME.test(s)) || rel === '' || rel.startsWith('..') || isAbsolute(rel)) {
    throw new AutotuneError('E_IO', `refusing to write ${JSON.stringify(segments.join('/'))} outside the run directory ${runDir}`);
  }
  return path;
}

/** `0001_baseline_warmup_1` / `0002_baseline_benchmark`; the counter widens past 9999 like `%04d`. */
export function runFileStem(seq: number, prefix: string, kind: RunKind, warmupIndex: number | null): string {
  if (kind === 'warmup' && warmupIndex === null) throw new Error(`runFileStem(${seq}, ${prefix}): a warm-up needs its index`);
  const tail = kind === 'warmup' ? `warmup_${warmupIndex}` : 'benchmark';
  return `${String(seq).padStart(4, '0')}_${prefix}_${tail}`;
}

export function runFiles(runDir: string, stem: string): StoredRunFiles {
  return { logPath: runDirPath(runDir, `${stem}.log`), configPath: runDirPath(runDir, CONFIGS_DIR, `${stem}.yaml`) };
}

/** `autotune_YYYYmmdd_HHMMSS`, local time, as the reference names it. */
export function runDirName(at: Date): string {
  const date = `${at.getFullYear()}${pad(at.getMonth() + 1)}${pad(at.getDate())}`;
  return `autotune_${date}_${pad(at.getHours())}${pad(at.getMinutes())}${pad(at.getSeconds())}`;
}

/**
 * Creates a fresh run directory under `baseDir` and returns its absolute path. Two sessions
 * started in the same second get `_2`, `_3`...: mkdir without `recursive` fails on an
 * existing name, so the claim is atomic.
 */
export function createRunDir(baseDir: string = DEFAULT_LOG_BASE, at: Date = new Date()): string {
  const stem = join(resolve(baseDir), runDirName(at));
  try {
    makeDirs(baseDir);
    for (let n = 1; ; n += 1) {
      const candidate = n === 1 ? stem : `${stem}_${n}`;
      try {
        mkdirSync(candidate);
        return candidate;
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      }
    }
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new AutotuneError('E_IO', `cannot create a run directory under ${resolve(baseDir)}: ${reason}`, { cause: error });
  }
}

/**
 * Removes a run directory that `createRunDir` has just made, when the database then refuses
 * the session: a refused command leaves nothing behind.
 */
export function discardRunDir(runDir: string): void {
  rmSync(runDir, { recursive: true, force: true });
}
