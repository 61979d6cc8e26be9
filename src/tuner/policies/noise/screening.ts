/**
 * Screening: every operator/backend candidate is run once (its warm-up, which the session
 * model turns into a measurement), then the budget left before the final stage buys more runs:
 * first one measured run for every candidate (a measured value for history.csv, and a check
 * of its warm-up), then runs where they are worth most (decision-rule.ts, valueOfRun).
 * Baseline anchors are interleaved throughout so the model can follow a drifting machine.
 */
import type { Observation } from '../../types.js';
import { valueOfRun } from './decision-rule.js';
import type { Candidate } from './schedule.js';
import { isDeterministicFailure, type Batches, type Planned, type Session } from './session.js';

/** Measured candidate runs between two anchors on a steady machine, and on a drifting one. */
const ANCHOR_EVERY = 10;
const ANCHOR_EVERY_DRIFTING = 3;
/** Expected regret (ln units) below which another run of a candidate is not worth its cost: clear losers and clear winners. */
const MIN_VALUE = 1e-6;
/** A level curve with knots this close (runs) counts as drift. */
const DRIFTING_SPACING = 24;

export interface ScreenedCandidate {
  readonly candidate: Candidate;
  /** Set when the candidate's runs failed for good; it is then never run again. */
  failure: string | null;
  failures: number;
}

function anchorEvery(session: Session): number {
  return session.ledger.fit().structure.spacing <= DRIFTING_SPACING ? ANCHOR_EVERY_DRIFTING : ANCHOR_EVERY;
}

/** Runs one candidate once and books a failure: crashes and OOMs are final, others get one retry. */
function* runCandidate(session: Session, s: ScreenedCandidate): Batches<Observation> {
  const observation = yield* session.run(s.candidate.trial);
  book(s, observation);
  return observation;
}

function book(s: ScreenedCandidate, observation: Observation): void {
  if (observation.outcome !== 'ok') {
    s.failures += 1;
    if (isDeterministicFailure(observation) || s.failures > 1) {
      s.failure = `run ended with ${observation.outcome}${s.failures > 1 ? ' twice' : ''}`;
    }
  }
}

/**
 * The open candidates worth another run, best first: unrun ones, then ones without a measured
 * run, then by the regret one more run is expected to save.
 */
function ranked(session: Session, states: readonly ScreenedCandidate[]): ScreenedCandidate[] {
  const sigma = session.ledger.noise().gems;
  return states
    .filter((s) => s.failure === null)
    .map((s) => {
      const key = s.candidate.trial.key;
      const c = session.ledger.compare(key);
      const runs = session.ledger.runsOf(key);
      const tier = runs === 0 || c === null ? 2 : runs === 1 ? 1 : 0;
      return { s, tier, value: c === null ? Infinity : valueOfRun(c, sigma) };
    })
    .filter((r) => r.tier > 0 || r.value > MIN_VALUE)
    .sort((a, b) => b.tier - a.tier || b.value - a.value)
    .map((r) => r.s);
}

/**
 * Screening on several slots: rounds in which every slot runs distinct candidates and then a
 * baseline anchor of its own (its level, and the drift, follow from the anchors), all in
 * flight together. Candidates go round the slots in order: first those never run (in their
 * seeded order), then by priority, as on one slot; each round fits the model once.
 */
function* screenOnSlots(session: Session, states: readonly ScreenedCandidate[], reserve: number): Batches<void> {
  const perSlot = Math.max(1, anchorEvery(session));
  for (let pass = 0; ; pass++) {
    const room = session.budget.left - reserve;
    const pool = pass === 0 ? states.filter((s) => s.failure === null && session.ledger.runsOf(s.candidate.trial.key) === 0) : ranked(session, states);
    // Candidates this round: as many as fit beside one anchor per slot used.
    let count = Math.min(pool.length, session.slots * perSlot);
    while (count > 0 && count + Math.min(session.slots, count) > room) count -= 1;
    if (count === 0) {
      if (pass === 0) continue;
      return;
    }
    const chosen = pool.slice(0, count);
    const lanes = Math.min(session.slots, count);
    const planned: Planned[] = [];
    for (let slot = 0; slot < lanes; slot++) {
      chosen.forEach((s, i) => {
        if (i % lanes === slot) planned.push({ trial: s.candidate.trial, slot });
      });
      planned.push(session.anchorOn(slot));
    }
    const observed = yield* session.runAll(planned);
    planned.forEach((p, i) => {
      const s = chosen.find((c) => c.candidate.trial === p.trial);
      const o = observed[i];
      if (s !== undefined && o !== undefined) book(s, o);
    });
  }
}

export function screeningStates(candidates: readonly Candidate[]): ScreenedCandidate[] {
  return candidates.map((candidate) => ({ candidate, failure: null, failures: 0 }));
}

/**
 * Spends the budget down to `reserve` on the candidates: those never run first, in their
 * (seeded) order, then by priority. Failure states are updated in place; estimates live in
 * the ledger. May be called again with a lower reserve to go on screening.
 */
export function* screen(session: Session, states: readonly ScreenedCandidate[], reserve: number): Batches<void> {
  if (session.slots > 1) return yield* screenOnSlots(session, states, reserve);
  let sinceAnchor = 0;
  const affordable = (): boolean => session.budget.left - 1 - (sinceAnchor + 1 >= anchorEvery(session) ? 1 : 0) >= reserve;
  function* afterRun(): Batches<void> {
    sinceAnchor += 1;
    if (sinceAnchor >= anchorEvery(session) && session.budget.left > reserve) {
      yield* session.anchor();
      sinceAnchor = 0;
    }
  }

  for (const s of states) {
    if (!affordable()) break;
    if (session.ledger.runsOf(s.candidate.trial.key) > 0) continue;
    yield* runCandidate(session, s);
    yield* afterRun();
  }

  for (;;) {
    const batch = ranked(session, states).slice(0, Math.max(1, anchorEvery(session) - sinceAnchor));
    if (batch.length === 0 || !affordable()) break;
    for (const s of batch) {
      if (!affordable()) break;
      yield* runCandidate(session, s);
      yield* afterRun();
    }
  }
  if (sinceAnchor > 0 && session.budget.left > reserve) yield* session.anchor();
}
