/**
 * What the foreground driver shows: on a terminal, the event lines scrolling above a live
 * status area redrawn in place (the benchmark's own output reduced to its latest line, at most
 * a few redraws a second); otherwise, or with --no-progress, one plain line per event and the
 * benchmark's output as lines, without control codes when it goes to a pipe or file.
 */
import type { Store } from '../../store/db.js';
import { getSession } from '../../store/sessions.js';
import { splitLogLines } from '../../runners/log-text.js';
import type { EngineEvent } from '../../tuner/session.js';
import { createRenderer } from '../render.js';
import { latestEchoLine, renderFrame } from './frame.js';
import { progressSnapshot } from './snapshot.js';
import { LiveArea, terminalCaps } from './terminal.js';

export interface Display {
  /** A message line (warnings, signals, the artifacts' place). */
  print(line: string): void;
  event(event: EngineEvent): void;
  /** The benchmark's console output, when it is echoed. */
  readonly echo: ((chunk: string) => void) | undefined;
  close(): void;
}

export interface DisplayOptions {
  readonly store: Store;
  readonly sessionId: string;
  readonly out: NodeJS.WriteStream;
  readonly env: NodeJS.ProcessEnv;
  /** False: plain lines even on a terminal (--no-progress). */
  readonly progress: boolean;
  readonly echo: boolean;
}

const ECHO_REDRAW_MS = 250;
const TICK_MS = 1_000;

export const SILENT: Display = { print: () => {}, event: () => {}, echo: undefined, close: () => {} };

/** Whether the session chooses an operator set; a sweep's summary has no best_config.yaml line. */
function choosesOperators(o: DisplayOptions): boolean {
  return getSession(o.store, o.sessionId)?.policy !== 'sweep';
}

export function createDisplay(o: DisplayOptions): Display {
  const caps = terminalCaps(o.out, o.env);
  return caps.live && o.progress ? liveDisplay(o, caps.color) : plainDisplay(o, caps.live);
}

function plainDisplay(o: DisplayOptions, tty: boolean): Display {
  const write = (line: string): void => void o.out.write(`${line}\n`);
  const render = createRenderer(write, choosesOperators(o));
  let partial = '';
  // Whole lines only; a bar redrawn with carriage returns keeps its last state.
  const clean = (chunk: string): void => {
    const lines = splitLogLines(partial + chunk);
    partial = lines.pop() ?? '';
    for (const line of lines) if (line.trim() !== '') write(line);
  };
  return {
    print: write,
    event: render,
    echo: o.echo ? (tty ? (chunk: string) => void o.out.write(chunk) : clean) : undefined,
    close: () => {
      if (partial.trim() !== '') write(splitLogLines(partial).at(-1) ?? partial);
      partial = '';
    },
  };
}

function liveDisplay(o: DisplayOptions, color: boolean): Display {
  let echoLine: string | null = null;
  const frame = (columns: number): string[] => {
    const session = getSession(o.store, o.sessionId);
    return session === null ? [] : renderFrame(progressSnapshot(o.store, session, Date.now(), echoLine), { columns, color, echo: o.echo });
  };
  const area = new LiveArea(o.out, frame);
  const pending: string[] = [];
  const render = createRenderer((line) => pending.push(line), choosesOperators(o));
  let echoTimer: NodeJS.Timeout | null = null;
  const tick = setInterval(() => area.redraw(), TICK_MS);
  tick.unref();
  area.start();
  return {
    print: (line) => area.log([line]),
    event: (event) => {
      render(event);
      // A new run clears the previous benchmark's last line.
      if (event.type === 'run-start') echoLine = null;
      area.log(pending.splice(0));
    },
    echo: o.echo
      ? (chunk: string) => {
          echoLine = latestEchoLine(echoLine, chunk);
          echoTimer ??= setTimeout(() => {
            echoTimer = null;
            area.redraw();
          }, ECHO_REDRAW_MS);
        }
      : undefined,
    close: () => {
      clearInterval(tick);
      if (echoTimer !== null) clearTimeout(echoTimer);
      echoLine = null;
      area.stop();
    },
  };
}
