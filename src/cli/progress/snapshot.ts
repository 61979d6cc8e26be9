/** A session's progress state read from the database: the same for the driver and `status --watch`. */
import type { Store } from '../../store/db.js';
import { loadDecisions } from '../../store/decisions.js';
import { lastFailedRun, trialRunCount } from '../../store/live.js';
import { sessionProgress } from '../../store/progress.js';
import type { SessionRecord } from '../../store/records.js';
import { stageTitle } from '../render.js';
import { sessionView } from '../session-view.js';
import type { ProgressState } from './frame.js';

function bestSoFar(store: Store, session: SessionRecord): ProgressState['best'] {
  const final = session.final;
  if (final !== null) {
    const ops = Object.entries(final.opBackends);
    return { label: ops.length === 0 ? 'baseline (no operator set beat it)' : ops.map(([op, b]) => `${op}=${b}`).join(', '), gain: final.speedup, low: final.low, high: final.high, validated: final.validated };
  }
  let best: ProgressState['best'] = null;
  for (const d of loadDecisions(store, session.id)) {
    if (d.verdict !== 'kept' || d.estimate === null) continue;
    if (best === null || (best.gain ?? -Infinity) < d.estimate) best = { label: d.subject, gain: d.estimate, low: d.low, high: d.high, validated: false };
  }
  return best;
}

export function progressSnapshot(store: Store, session: SessionRecord, now: number, echo: string | null = null): ProgressState {
  const view = sessionView(store, session, now);
  const p = sessionProgress(store, session.id);
  const current = p.currentRun;
  const failed = lastFailedRun(store, session.id);
  const numRuns = typeof session.options['numRuns'] === 'number' ? session.options['numRuns'] : null;
  return {
    id: session.id,
    state: view.state,
    stage: p.currentTrial === null ? null : stageTitle(p.currentTrial),
    trial: { index: view.trial.index, planned: view.trial.planned, name: view.trial.current },
    run:
      current === null || view.state !== 'running'
        ? null
        : {
            kind: current.kind === 'warmup' ? `warm-up${current.warmupIndex === null ? '' : ` ${current.warmupIndex}`}` : 'benchmark',
            ofTrial: trialRunCount(store, session.id, current.trialKey),
            // The reference runs every configuration --num-runs times; the noise-aware policy decides as it goes.
            perTrial: session.policy === 'reference' ? numRuns : null,
            elapsedSec: Math.max(0, (now - current.startedAt) / 1000),
          },
    runs: { done: view.runs.done, planned: view.runs.planned, failed: view.runs.failed },
    elapsedSec: view.elapsedSec,
    etaSec: view.etaSec,
    best: bestSoFar(store, session),
    lastFailure: failed === null ? null : `${failed.prefix}: ${failed.outcome}${failed.failure === null ? '' : ` (${failed.failure})`}`,
    echo,
  };
}
