// Removes dist/ before a build, so that files of deleted or renamed sources (a stale test among them) never survive into it.
import { rmSync } from 'node:fs';
rmSync(new URL('../dist', import.meta.url), { recursive: true, force: true });
