/** Directory creation that fails cleanly where `mkdirSync(..., {recursive: true})` would not. */
import { mkdirSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { AutotuneError } from '../errors.js';

function exists(path: string): boolean {
  try {
    statSync(path);
    return true;
  } catch {
    return false;
  }
}

/**
 * Like `mkdir -p`, one component at a time. Node 20's recursive mkdir spins forever on some
 * file systems that answer ENOENT to every mkdir (procfs); this reports it as one line.
 */
export function makeDirs(path: string): void {
  const missing: string[] = [];
  for (let dir = resolve(path); !exists(dir); dir = dirname(dir)) {
    missing.unshift(dir);
    if (dirname(dir) === dir) break;
  }
  for (const dir of missing) {
    try {
      mkdirSync(dir);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'EEXIST') continue;
      const reason = (error as NodeJS.ErrnoException).code ?? String(error);
      throw new AutotuneError('E_IO', `cannot create directory ${dir}: ${reason}`, { cause: error });
    }
  }
}
