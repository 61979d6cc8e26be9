/**
 * The Slots table of a session run on several slots (GPU groups, or SLURM jobs in flight):
 * per slot its GPUs, runs, failures, speed factor against slot 0 and whether it was retired.
 * Built from the stored runs, shared by `autotune status` and the HTML report. Pure.
 */
import type { ReportRun, ReportSession } from './model.js';
import { objectiveFor, score, storedObjective } from '../tuner/objective.js';
import { formatFactor, slotFigures, type SlotFigures, type SlotRun } from '../tuner/slot-figures.js';
import { calibratedKey } from '../tuner/spaces/slot-copies.js';
import { escapeHtml } from './escape.js';

export interface SlotRow extends SlotFigures {
  /** The slot's CUDA_VISIBLE_DEVICES, or null for a job slot or the inherited devices. */
  readonly gpus: string | null;
  /** The factor as the table prints it. */
  readonly factorText: string;
}

const isStringList = (v: unknown): v is string[] => Array.isArray(v) && v.every((x) => typeof x === 'string');

/** The slots a session was created with: its GPU groups (a serving session's too: one server each), else SLURM's jobs in flight, else one. */
export function sessionSlots(options: Readonly<Record<string, unknown>>): { count: number; gpus: readonly string[] } {
  const groups = options['gpuGroups'];
  if (isStringList(groups) && groups.length > 0) return { count: groups.length, gpus: groups };
  const slurm = options['slurm'];
  const maxJobs = typeof slurm === 'object' && slurm !== null ? (slurm as Record<string, unknown>)['maxJobs'] : undefined;
  return { count: typeof maxJobs === 'number' && Number.isSafeInteger(maxJobs) && maxJobs > 1 ? maxJobs : 1, gpus: [] };
}

/** One row per slot; null for a session of one slot (nothing to compare). */
export function slotRows(session: Pick<ReportSession, 'options'>, runs: readonly ReportRun[]): SlotRow[] | null {
  const { count, gpus } = sessionSlots(session.options);
  if (count < 2) return null;
  const objective = storedObjective(session.options) ?? objectiveFor('total');
  const observed: SlotRun[] = [];
  for (const r of runs) {
    const outcome = r.outcome;
    // In flight, interrupted or never started: no observation, so the slot plan never booked it.
    if (r.slot === null || outcome === 'running' || outcome === 'interrupted' || outcome === 'spawn_error') continue;
    // A calibration copy measures the trial it repeats.
    observed.push({ slot: r.slot, step: r.step, trialKey: r.trialKey, configuration: calibratedKey(r.trialKey), kind: r.kind, outcome, score: score(objective, { outcome, metrics: r.metrics }) });
  }
  return slotFigures(observed, count).map((f) => ({ ...f, gpus: gpus[f.slot] ?? null, factorText: formatFactor(f.factor) }));
}

const HEADERS = ['slot', 'GPUs', 'runs', 'failures', 'factor', 'retired'] as const;

function cells(r: SlotRow): string[] {
  return [String(r.slot), r.gpus ?? '-', String(r.runs), String(r.failures), r.factorText, r.retired ? 'yes' : 'no'];
}

/** The table as `status` prints it, one line per slot under a header. */
export function slotLines(rows: readonly SlotRow[]): string[] {
  const table = [[...HEADERS], ...rows.map(cells)];
  const widths = HEADERS.map((_, i) => Math.max(...table.map((row) => (row[i] ?? '').length)));
  return ['slots', ...table.map((row) => `  ${row.map((c, i) => c.padEnd(widths[i] ?? 0)).join('  ').trimEnd()}`)];
}

const FACTOR_NOTE =
  "Factor: the slot's score over slot 0's on configurations measured on both (95% interval); a point's configurations share a slot, so decisions never depend on it. It is not estimable where slots share no configuration (sweeps measure one on every slot with --slot-calibration).";

/** The report's section; empty for a session of one slot. */
export function slotsSection(rows: readonly SlotRow[] | null): string {
  if (rows === null) return '';
  const head = HEADERS.map((h) => `<th>${h === 'factor' ? 'factor ± interval' : h}</th>`).join('');
  const body = rows.map((r) => `<tr>${cells(r).map((c) => `<td>${escapeHtml(c)}</td>`).join('')}</tr>`).join('\n');
  return `<h2>Slots</h2>
<table class="slots">
<tr>${head}</tr>
${body}
</table>
<p class="muted">${escapeHtml(FACTOR_NOTE)}</p>`;
}
