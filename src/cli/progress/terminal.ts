/**
 * Draws frames in place at the bottom of a terminal: log lines scroll above, the status area
 * is rewritten with one write per frame, the cursor stays hidden while it lives and comes back
 * on stop, on exit and on a second Ctrl-C (process.exit).
 */
import { writeSync } from 'node:fs';

const HIDE = '\x1b[?25l';
const SHOW = '\x1b[?25h';
const CLEAR_DOWN = '\x1b[J';

/** Whether escape codes and colour are welcome: a TTY, not TERM=dumb; NO_COLOR (no-color.org) turns colour off. */
export function terminalCaps(stream: NodeJS.WriteStream, env: NodeJS.ProcessEnv): { live: boolean; color: boolean } {
  const live = stream.isTTY === true && env['TERM'] !== 'dumb';
  return { live, color: live && (env['NO_COLOR'] === undefined || env['NO_COLOR'] === '') };
}

function visibleLength(line: string): number {
  return [...line.replace(/\x1b\[[0-9;]*m/g, '')].length;
}

export class LiveArea {
  readonly #out: NodeJS.WriteStream;
  readonly #frame: (columns: number) => string[];
  /** Visible widths of the lines on screen, to know how many rows to go back up. */
  #drawn: number[] = [];
  #active = false;
  readonly #restore = (): void => {
    try {
      writeSync(this.#fd(), SHOW);
    } catch {
      // The terminal is gone; nothing to restore.
    }
  };
  readonly #onResize = (): void => this.redraw();

  constructor(out: NodeJS.WriteStream, frame: (columns: number) => string[]) {
    this.#out = out;
    this.#frame = frame;
  }

  #fd(): number {
    return (this.#out as NodeJS.WriteStream & { fd?: number }).fd ?? 1;
  }

  #columns(): number {
    return this.#out.columns > 0 ? this.#out.columns : 80;
  }

  /** Rows the drawn frame takes now: after a resize narrower, a line may wrap onto several. */
  #up(): string {
    const cols = this.#columns();
    const rows = this.#drawn.reduce((n, w) => n + Math.max(1, Math.ceil(w / cols)), 0);
    return rows === 0 ? '' : `\r\x1b[${rows}A`;
  }

  start(): void {
    if (this.#active) return;
    this.#active = true;
    process.on('exit', this.#restore);
    this.#out.on('resize', this.#onResize);
    this.#out.write(HIDE);
    this.redraw();
  }

  /** Lines that scroll above the status area, then the area again: one write. */
  log(lines: readonly string[]): void {
    if (!this.#active) {
      this.#out.write(lines.map((l) => `${l}\n`).join(''));
      return;
    }
    this.#paint(lines);
  }

  redraw(): void {
    if (this.#active) this.#paint([]);
  }

  #paint(logLines: readonly string[]): void {
    const frame = this.#frame(this.#columns());
    const text = `${this.#up()}${CLEAR_DOWN}${logLines.map((l) => `${l}\n`).join('')}${frame.map((l) => `${l}\n`).join('')}`;
    this.#drawn = frame.map(visibleLength);
    this.#out.write(text);
  }

  /** Leaves the last frame on screen, below everything logged, and the cursor visible. */
  stop(): void {
    if (!this.#active) return;
    this.#paint([]);
    this.#active = false;
    this.#out.off('resize', this.#onResize);
    process.off('exit', this.#restore);
    this.#out.write(SHOW);
  }
}
