/**
 * The live progress display as a pure function: a progress state in, the frame's lines out,
 * each cut to the terminal's width so that a frame always fills exactly one row per line.
 */
import { splitLogLines } from '../../runners/log-text.js';

export interface ProgressState {
  readonly id: string;
  /** running, completed, stopped, failed, crashed, ... */
  readonly state: string;
  /** The round being measured, e.g. `Round 2: Per-operator tuning`. */
  readonly stage: string | null;
  readonly trial: { readonly index: number; readonly planned: number | null; readonly name: string | null };
  /** The run in flight: its kind, its ordinal within the trial (of k when the policy fixes k), and how long it has run. */
  readonly run: { readonly kind: string; readonly ofTrial: number; readonly perTrial: number | null; readonly elapsedSec: number } | null;
  readonly runs: { readonly done: number; readonly planned: number | null; readonly failed: number };
  readonly elapsedSec: number;
  readonly etaSec: number | null;
  /** Best gain so far and its 95% interval, relative to the baseline. */
  readonly best: { readonly label: string; readonly gain: number | null; readonly low: number | null; readonly high: number | null; readonly validated: boolean } | null;
  readonly lastFailure: string | null;
  /** The benchmark's latest console line. */
  readonly echo: string | null;
}

export interface FrameOptions {
  readonly columns: number;
  readonly color: boolean;
  /** Keep the benchmark's line even while it is empty, so that the frame's height never changes. */
  readonly echo?: boolean;
}

export function formatDuration(sec: number | null): string {
  if (sec === null) return '-';
  const s = Math.max(0, Math.round(sec));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const r = s % 60;
  return h > 0 ? `${h}h${String(m).padStart(2, '0')}m` : m > 0 ? `${m}m${String(r).padStart(2, '0')}s` : `${r}s`;
}

function pct(x: number): string {
  return `${x >= 0 ? '+' : ''}${(x * 100).toFixed(2)}%`;
}

const STYLE = { bold: '1', dim: '2', green: '32', red: '31', cyan: '36' } as const;

/** Cuts to `width` visible characters (no escape code counts), ending with an ellipsis when cut. */
function fit(text: string, width: number): string {
  const chars = [...text];
  return chars.length <= width ? text : `${chars.slice(0, Math.max(0, width - 1)).join('')}…`;
}

function gainText(b: NonNullable<ProgressState['best']>): string {
  if (b.gain === null) return b.label;
  const interval = b.low !== null && b.high !== null ? ` [${pct(b.low)}, ${pct(b.high)}]` : '';
  return `${b.label} ${pct(b.gain)}${interval}${b.validated ? ' validated' : ''}`;
}

/** Label, then a value; colour applies after fitting, so it never changes a line's width. */
export function renderFrame(s: ProgressState, o: FrameOptions): string[] {
  const width = Math.max(20, o.columns - 1);
  const paint = (style: keyof typeof STYLE, text: string): string => (o.color && text !== '' ? `\x1b[${STYLE[style]}m${text}\x1b[0m` : text);
  const line = (label: string, value: string, style: keyof typeof STYLE | null = null): string => {
    const head = label.padEnd(10);
    const body = fit(`${head}${value}`, width).slice(head.length);
    return `${paint('bold', head.slice(0, width))}${style === null ? body : paint(style, body)}`;
  };
  const trial = `${s.trial.index} of ${s.trial.planned === null ? '?' : `~${s.trial.planned}`}`;
  const run =
    s.run === null
      ? ''
      : `  ${s.run.kind}, run ${s.run.ofTrial}${s.run.perTrial === null ? '' : ` of ${s.run.perTrial}`} (${formatDuration(s.run.elapsedSec)})`;
  const lines = [
    line('autotune', `${s.id}  ${s.state}${s.stage === null ? '' : `  ${s.stage}`}`),
    line('trial', `${trial}${s.trial.name === null ? '' : `  ${s.trial.name}`}${run}`),
    line('runs', `${s.runs.done} of ${s.runs.planned === null ? '?' : `~${s.runs.planned}`} done${s.runs.failed > 0 ? `, ${s.runs.failed} failed` : ''}   elapsed ${formatDuration(s.elapsedSec)}   ETA ${formatDuration(s.etaSec)}`),
    line('best', s.best === null ? 'none yet' : gainText(s.best), s.best !== null && s.best.gain !== null && s.best.gain > 0 ? 'green' : null),
    line('failure', s.lastFailure ?? 'none', s.lastFailure === null ? null : 'red'),
  ];
  if (s.echo !== null || o.echo === true) lines.push(line('vllm', s.echo ?? '', 'dim'));
  return lines;
}

/** One line for logs and pipes: the same fields, no control codes. */
export function renderPlainLine(s: ProgressState): string {
  const parts = [
    `${s.id} ${s.state}`,
    `trial ${s.trial.index} of ${s.trial.planned === null ? '?' : `~${s.trial.planned}`}${s.trial.name === null ? '' : ` ${s.trial.name}`}`,
    `runs ${s.runs.done} of ${s.runs.planned === null ? '?' : `~${s.runs.planned}`}`,
    `elapsed ${formatDuration(s.elapsedSec)}`,
    `ETA ${formatDuration(s.etaSec)}`,
    `best ${s.best === null ? 'none yet' : gainText(s.best)}`,
  ];
  if (s.lastFailure !== null) parts.push(`last failure ${s.lastFailure}`);
  return parts.join(' | ');
}

/**
 * The latest readable line of the benchmark's output: escape codes removed, and of a tqdm
 * bar redrawn with carriage returns only its last state.
 */
export function latestEchoLine(previous: string | null, chunk: string): string | null {
  const segments = splitLogLines(chunk).map((l) => l.trimEnd()).filter((l) => l.trim() !== '');
  return segments.at(-1) ?? previous;
}
