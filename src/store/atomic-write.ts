/**
 * Whole-file replacement that a crash cannot tear: readers see the old file or the new one,
 * never a prefix. The temp file sits in the target's directory so rename(2) stays atomic.
 */
import { randomBytes } from 'node:crypto';
import { makeDirs } from './dirs.js';
import { closeSync, fsyncSync, openSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { AutotuneError } from '../errors.js';

/** Makes the rename itself durable; some filesystems refuse to fsync a directory, which is harmless. */
function syncDirectory(dir: string): void {
  try {
    const fd = openSync(dir, 'r');
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  } catch {
    // best effort: the file's own contents are already on disk
  }
}

/** Cleanup after a failed write must never hide the error that caused it. */
function removeQuietly(temp: string, fd: number | null): void {
  try {
    if (fd !== null) closeSync(fd);
  } catch {
    // the descriptor is gone either way
  }
  try {
    rmSync(temp, { force: true });
  } catch {
    // e.g. ENOTDIR: the temp file was never created
  }
}

export function atomicWriteFile(path: string, content: string): void {
  const dir = dirname(path);
  const temp = join(dir, `${basename(path)}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`);
  let fd: number | null = null;
  try {
    makeDirs(dir);
    fd = openSync(temp, 'wx');
    writeFileSync(fd, content);
    fsyncSync(fd);
    closeSync(fd);
    fd = null;
    renameSync(temp, path);
  } catch (error) {
    removeQuietly(temp, fd);
    const reason = error instanceof Error ? error.message : String(error);
    throw new AutotuneError('E_IO', `cannot write ${path}: ${reason}`, { cause: error });
  }
  syncDirectory(dir);
}
