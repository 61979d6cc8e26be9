/**
 * Scenario loading for the `vllm` executable. Validation needs ajv and yaml (~130 ms of imports
 * and schema compilation), too slow to pay on every simulated run, so each validated scenario
 * is cached as JSON under a key that covers the file, its path and the loader's own code.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseScenarioText, readScenarioFile, resolveScenarioPath, type Scenario } from './scenario.js';

const CACHE_DIR = join(tmpdir(), 'vllm-sim-scenarios');
const LOADER_FILES = ['scenario', 'scenario-schema', 'plugin-registry'];

function cacheKey(path: string, text: string): string {
  const ext = import.meta.url.endsWith('.ts') ? '.ts' : '.js';
  const hash = createHash('sha256').update(path).update('\0').update(text);
  for (const name of LOADER_FILES) hash.update(readFileSync(new URL(`./${name}${ext}`, import.meta.url)));
  return hash.digest('hex').slice(0, 40);
}

export function loadScenarioCached(nameOrPath: string): Scenario {
  const path = resolveScenarioPath(nameOrPath);
  const text = readScenarioFile(path);
  const file = join(CACHE_DIR, `${cacheKey(path, text)}.json`);
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as Scenario;
  } catch {
    // Not cached yet (or unreadable): validate for real below.
  }
  const scenario = parseScenarioText(text, path);
  try {
    mkdirSync(CACHE_DIR, { recursive: true });
    const temp = `${file}.${process.pid}.tmp`;
    writeFileSync(temp, JSON.stringify(scenario));
    renameSync(temp, file);
  } catch {
    // A read-only temp dir only costs speed.
  }
  return scenario;
}
