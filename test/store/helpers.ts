/** Temp directories and a hand-driven clock for the store tests. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after } from 'node:test';

export function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'autotune-store-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

export class ManualClock {
  ms = Date.UTC(2026, 10, 23, 6, 14, 55);
  readonly now = (): number => this.ms;
  advance(ms: number): void {
    this.ms += ms;
  }
}
