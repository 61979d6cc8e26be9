/** The per-point table of a sweep session, read from the database alone (the sweep's end, `status`). */
import type { Store } from '../store/db.js';
import { loadRuns } from '../store/runs.js';
import { getSession } from '../store/sessions.js';

const fmt = (x: number | undefined, digits: number): string => (x === undefined ? '-' : x.toFixed(digits));

/** One line per measured point, in grid order. */
export function sweepTable(store: Store, sessionId: string): string[] {
  const session = getSession(store, sessionId);
  const trials = session === null ? [] : ((session.options['trials'] as { key: string; label?: string }[] | undefined) ?? []);
  const runs = loadRuns(store, sessionId).filter((r) => r.kind === 'measure' && r.outcome !== 'running' && r.outcome !== 'interrupted');
  // Configuration names side by side can make a label longer than the usual column.
  const width = Math.max(28, ...trials.map((t) => (t.label ?? t.key).length));
  const lines = [`${'point'.padEnd(width + 2)}avg s     p50 s     p90 s     p99 s   out tok/s   MFU`];
  for (const t of trials) {
    const run = runs.findLast((r) => r.trialKey === t.key);
    const m = run?.metrics ?? null;
    const label = (t.label ?? t.key).padEnd(width);
    if (run === undefined || m === null) {
      lines.push(`${label}  ${run === undefined ? 'not measured' : `${run.outcome}: ${run.failure ?? ''}`}`);
      continue;
    }
    const mfu = m['mfu'];
    lines.push(
      `${label} ${fmt(m['latency_avg_s'], 4).padStart(8)} ${fmt(m['latency_p50_s'], 4).padStart(9)} ${fmt(m['latency_p90_s'], 4).padStart(9)} ${fmt(m['latency_p99_s'], 4).padStart(9)} ${fmt(m['output_tokens_per_s'], 1).padStart(11)} ${mfu === undefined ? '    -' : `${(mfu * 100).toFixed(1)}%`.padStart(6)}`,
    );
  }
  return lines;
}
