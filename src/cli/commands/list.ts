/** `autotune list [--json]`: recent sessions, newest first. */
import { existsSync } from 'node:fs';
import { openReadOnly } from '../../store/db.js';
import { listSessions } from '../../store/sessions.js';
import { defaultDbPath, DEFAULT_OUTPUT_DIR } from '../session-files.js';
import { formatFailures, formatGain, formatGpuHours, sessionView } from '../session-view.js';
import { parseVerbArgs } from '../verb-args.js';
import { resolve } from 'node:path';

export async function listCommand(argv: string[]): Promise<number> {
  const args = parseVerbArgs(argv, { values: ['--db', '--limit'], switches: ['--json'] });
  const dbPath = args.values['--db'] !== undefined ? resolve(args.values['--db']) : defaultDbPath(DEFAULT_OUTPUT_DIR);
  const limit = Number(args.values['--limit'] ?? 20);
  if (!existsSync(dbPath)) {
    process.stdout.write(args.switches.has('--json') ? '[]\n' : `no sessions yet (no database at ${dbPath})\n`);
    return 0;
  }
  const store = openReadOnly(dbPath);
  try {
    const now = Date.now();
    const views = listSessions(store, Number.isSafeInteger(limit) && limit > 0 ? limit : 20).map((s) => sessionView(store, s, now));
    if (args.switches.has('--json')) {
      process.stdout.write(`${JSON.stringify(views, null, 2)}\n`);
      return 0;
    }
    const rows = views.map((v) => {
      const kept = Object.keys(v.best.opBackends).length;
      const best =
        v.best.speedup !== null
          ? formatGain(v.best.speedup, v.best.low, v.best.high)
          : v.state === 'completed' && kept === 0
            ? 'baseline'
            : `${kept} kept`;
      const progress = `${v.runs.done}${v.runs.planned === null ? '' : `/${v.runs.planned}`}`;
      const failures = formatFailures(v.failuresByClass);
      return [v.id, v.model ?? '-', v.state, progress, formatGpuHours(v.gpuHours), best, failures === 'none' ? '-' : failures, v.startedAt.replace('T', ' ').slice(0, 19), v.runDir];
    });
    const header = ['ID', 'MODEL', 'STATE', 'RUNS', 'GPU-H', 'BEST', 'FAILURES', 'STARTED (UTC)', 'RUN DIR'];
    const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
    for (const r of [header, ...rows]) process.stdout.write(`${r.map((c, i) => c.padEnd(widths[i] ?? 0)).join('  ').trimEnd()}\n`);
    return 0;
  } finally {
    store.close();
  }
}
