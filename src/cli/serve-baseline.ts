/**
 * The baseline of `autotune bench serve --baseline REF`: a previous bench serve session (its
 * id, or its run directory) read from the database, or a serve_results.json file (or a
 * directory holding one, without a session pointer).
 */
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { AutotuneError } from '../errors.js';
import { sweepResultsInput } from '../store/results-input.js';
import { readServeBaseline, type BaselineCase } from '../store/serve-results.js';
import { serveFigureRows } from '../tuner/serve-figures.js';
import { isBenchServeSession } from './bench-session.js';
import { lookupSession } from './lookup.js';
import { POINTER_FILE } from './session-files.js';

function isFile(path: string): boolean {
  try {
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

/** By case key. `dbPath`: the database a bare session id is looked up in. */
export function loadServeBaseline(ref: string, dbPath: string): Map<string, BaselineCase> {
  if (isFile(ref) || (existsSync(ref) && !existsSync(join(ref, POINTER_FILE)))) return readServeBaseline(ref);
  const { store, session } = lookupSession(ref, existsSync(ref) ? null : dbPath, 'read');
  try {
    if (!isBenchServeSession(session)) throw new AutotuneError('E_USAGE', `--baseline: session ${session.id} is not an autotune bench serve session`);
    const input = sweepResultsInput(store, session);
    const caseOf = new Map(input.trials.map((t) => [t.key, t.round]));
    const out = new Map<string, BaselineCase>();
    for (const row of serveFigureRows(input.trials, input.runs)) {
      const f = row.figures;
      out.set(caseOf.get(row.trialKey) ?? row.trialKey, { outputTokensPerSec: f['output_tokens_per_s'] ?? null, tpotMeanMs: f['tpot_mean_ms'] ?? null, ttftMeanMs: f['ttft_mean_ms'] ?? null });
    }
    return out;
  } finally {
    store.close();
  }
}
