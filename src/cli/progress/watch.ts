/**
 * `autotune status --watch ID`: the live display of a session another process drives, polled
 * from the database read-only. On a terminal the frame is redrawn in place; otherwise one plain
 * line is printed whenever the session moves. Ends when the session is no longer running.
 */
import { AutotuneError } from '../../errors.js';
import type { Store } from '../../store/db.js';
import { LEASE_STALE_MS } from '../../store/lease.js';
import { getSession } from '../../store/sessions.js';
import { renderFrame, renderPlainLine } from './frame.js';
import { progressSnapshot } from './snapshot.js';
import { LiveArea, terminalCaps } from './terminal.js';

const POLL_MS = 1_000;

export async function watchSession(store: Store, sessionId: string, out: NodeJS.WriteStream, env: NodeJS.ProcessEnv): Promise<number> {
  const caps = terminalCaps(out, env);
  const snapshot = () => {
    const session = getSession(store, sessionId);
    return session === null ? null : progressSnapshot(store, session, Date.now());
  };
  let interrupted = false;
  let wake: (() => void) | null = null;
  const onSignal = (): void => {
    interrupted = true;
    wake?.();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  const area = caps.live ? new LiveArea(out, (columns) => {
    const s = snapshot();
    return s === null ? [] : renderFrame(s, { columns, color: caps.color });
  }) : null;
  try {
    area?.start();
    let last = '';
    const began = Date.now();
    for (;;) {
      const s = snapshot();
      if (s === null) throw new AutotuneError('E_SESSION_NOT_FOUND', `session ${sessionId} is no longer in the database`);
      if (area !== null) area.redraw();
      else {
        // Elapsed time and ETA change every second; print when the session itself moved.
        const key = JSON.stringify([s.state, s.trial, s.runs, s.best, s.lastFailure, s.run?.kind, s.run?.ofTrial]);
        if (key !== last) out.write(`${renderPlainLine(s)}\n`);
        last = key;
      }
      // A worker just started in the background has not taken its lease yet: not a crash.
      const starting = s.state === 'crashed' && s.runs.done === 0 && Date.now() - began < LEASE_STALE_MS;
      if ((s.state !== 'running' && !starting) || interrupted) return interrupted ? 130 : 0;
      await new Promise<void>((resolve) => {
        wake = resolve;
        setTimeout(resolve, POLL_MS);
      });
      wake = null;
    }
  } finally {
    area?.stop();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}
