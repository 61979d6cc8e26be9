/**
 * `autotune export ID|RUN_DIR [--csv PATH] [--json PATH]`: history.csv (and every run) rebuilt
 * from the database at any time, mid-session and after a crash included. `-` is stdout.
 */
import { AutotuneError } from '../../errors.js';
import { atomicWriteFile } from '../../store/atomic-write.js';
import type { Store } from '../../store/db.js';
import { loadDecisions } from '../../store/decisions.js';
import { resultsInput } from '../../store/results-input.js';
import type { SessionRecord } from '../../store/records.js';
import { loadRuns } from '../../store/runs.js';
import { OUTPUT_TOKENS_PER_S, REQUESTS_PER_S, TOTAL_TOKENS_PER_S } from '../../tuner/metrics.js';
import { formatHistoryCsv, historyRows } from '../../tuner/results.js';
import { lookupSession } from '../lookup.js';
import { parseVerbArgs } from '../verb-args.js';

function exportJson(store: Store, session: SessionRecord): string {
  const runs = loadRuns(store, session.id).map((r) => ({
    seq: r.seq,
    step: r.step,
    trial: r.trialKey,
    kind: r.kind,
    warmupIndex: r.warmupIndex,
    outcome: r.outcome,
    exitCode: r.exitCode,
    signal: r.signal,
    requestsPerSec: r.metrics?.[REQUESTS_PER_S] ?? null,
    totalTokensPerSec: r.metrics?.[TOTAL_TOKENS_PER_S] ?? null,
    outputTokensPerSec: r.metrics?.[OUTPUT_TOKENS_PER_S] ?? null,
    metrics: r.metrics ?? {},
    runner: r.runner,
    handle: r.handle,
    durationMs: r.durationMs,
    startedAt: new Date(r.startedAt).toISOString(),
    endedAt: r.endedAt === null ? null : new Date(r.endedAt).toISOString(),
    failure: r.failure,
    logPath: r.logPath,
    configPath: r.configPath,
  }));
  const doc = {
    session: { id: session.id, state: session.state, policy: session.policy, model: session.model, runDir: session.runDir, args: session.args, options: session.options, createdAt: new Date(session.createdAt).toISOString() },
    ops: session.ops,
    decisions: loadDecisions(store, session.id),
    final: session.final,
    runs,
  };
  return `${JSON.stringify(doc, null, 2)}\n`;
}

function emit(path: string, content: string): void {
  if (path === '-') process.stdout.write(content);
  else atomicWriteFile(path, content);
}

export async function exportCommand(argv: string[]): Promise<number> {
  const args = parseVerbArgs(argv, { values: ['--db', '--csv', '--json'], switches: [] });
  const target = args.positional[0];
  if (target === undefined) throw new AutotuneError('E_USAGE', 'export needs a session id or run directory, e.g. `autotune export 20261123-061455-a1b2 --csv history.csv`');
  const { store, session } = lookupSession(target, args.values['--db'] ?? null, 'read');
  try {
    const csvPath = args.values['--csv'] ?? (args.values['--json'] === undefined ? '-' : undefined);
    if (csvPath !== undefined) emit(csvPath, formatHistoryCsv(historyRows(resultsInput(store, session))));
    const jsonPath = args.values['--json'];
    if (jsonPath !== undefined) emit(jsonPath, exportJson(store, session));
    return 0;
  } finally {
    store.close();
  }
}
