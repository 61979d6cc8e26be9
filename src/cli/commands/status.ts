/** `autotune status [ID|RUN_DIR] [--json] [--watch]`: where a session stands, once or live. */
import { lookupSession } from '../lookup.js';
import { formatDuration, formatFailures, formatGain, sessionView, type EngineView, type SessionView } from '../session-view.js';
import { slotLines, slotRows, type SlotRow } from '../../report/slots.js';
import { loadRuns } from '../../store/runs.js';
import { sweepTable } from '../sweep-table.js';
import { parseVerbArgs } from '../verb-args.js';
import { watchSession } from '../progress/watch.js';
import { isServeSession, serveFigures, serveFiguresTable } from '../serve-figures-view.js';

/** Rejected points listed at most this many, the rest counted. */
const MAX_REJECTED_SHOWN = 5;

function engineLines(e: EngineView): string[] {
  const best = e.best === null ? 'none yet' : `${e.best.point} (${formatGain(e.best.gain, e.best.low, e.best.high)} per GPU over the default configuration${e.best.final ? '' : ', best so far'})`;
  const lines = [`tier      ${e.tier ?? '-'}`, `engine    ${best}`, `skipped   ${e.pruned} pruned past a memory ceiling, ${e.rejected.length} rejected before running`];
  for (const r of e.rejected.slice(0, MAX_REJECTED_SHOWN)) lines.push(`  rejected ${r.point}: ${r.reason}`);
  if (e.rejected.length > MAX_REJECTED_SHOWN) lines.push(`  ... and ${e.rejected.length - MAX_REJECTED_SHOWN} more (autotune report)`);
  return lines;
}

/** `slots`: the per-slot figures of a session on several slots (null with one). */
export function formatStatus(v: SessionView, slots: readonly SlotRow[] | null): string {
  const best = Object.entries(v.best.opBackends);
  const lines = [
    `session   ${v.id} (${v.state}${v.worker !== null && v.state === 'running' ? `, worker pid ${v.worker.pid} on ${v.worker.host}` : ''})`,
    `model     ${v.model ?? '-'}   policy ${v.policy}`,
    `run dir   ${v.runDir}`,
    `round     ${v.round ?? '-'}   trial ${v.trial.index} of ${v.trial.planned === null ? '?' : `~${v.trial.planned}`}${v.trial.current === null ? '' : `, measuring ${v.trial.current}`}`,
    `runs      ${v.runs.done}${v.runs.planned === null ? '' : ` of ~${v.runs.planned}`} done (${v.runs.ok} ok, ${v.runs.failed} failed, ${v.runs.interrupted} interrupted)`,
    `elapsed   ${formatDuration(v.elapsedSec)}   eta ${formatDuration(v.etaSec)}`,
    `gpu-hours ${v.gpuHours.spent.toFixed(2)} spent${v.gpuHours.planned === null ? '' : `, ~${v.gpuHours.planned.toFixed(2)} planned`} (${v.engine === null ? '' : 'up to '}${v.gpuHours.gpusPerRun} GPU${v.gpuHours.gpusPerRun === 1 ? '' : 's'} per run)`,
    `failures  ${formatFailures(v.failuresByClass)}`,
    ...(v.engine === null ? [] : engineLines(v.engine)),
    ...(v.policy === 'sweep' || (v.engine !== null && best.length === 0) ? [] : [`best      ${best.length > 0 ? best.map(([op, b]) => `${op}=${b}`).join(', ') : v.state === 'completed' ? 'baseline: no operator set beat it' : 'none yet'}${v.best.speedup === null ? '' : ` (${formatGain(v.best.speedup, v.best.low, v.best.high)}${v.best.validated ? ', validated' : v.best.validated === null ? ', best kept so far' : ''})`}`]),
  ];
  if (v.lastError !== null) lines.push(`error     ${v.lastError}`);
  if (slots !== null) lines.push(...slotLines(slots));
  return `${lines.join('\n')}\n`;
}

export async function statusCommand(argv: string[]): Promise<number> {
  const args = parseVerbArgs(argv, { values: ['--db'], switches: ['--json', '--watch'] });
  const { store, session } = lookupSession(args.positional[0] ?? null, args.values['--db'] ?? null, 'read');
  try {
    if (args.switches.has('--watch')) return await watchSession(store, session.id, process.stdout, process.env);
    const view = sessionView(store, session, Date.now());
    const serving = isServeSession(session) ? serveFigures(store, session) : null;
    const slots = slotRows(session, loadRuns(store, session.id));
    const lines = serving !== null ? serveFiguresTable(serving) : view.policy === 'sweep' ? sweepTable(store, session.id) : [];
    const table = lines.map((l) => `${l}\n`).join('');
    process.stdout.write(args.switches.has('--json') ? `${JSON.stringify({ ...view, slots, ...(serving === null ? {} : { serving }) }, null, 2)}\n` : formatStatus(view, slots) + table);
    return 0;
  } finally {
    store.close();
  }
}
