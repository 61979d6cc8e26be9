/**
 * The session engine's persistence, over SQLite and the run directory: runs are committed as
 * they end, and every artifact is rewritten from what the database holds. Every write,
 * artifact files included, happens inside a transaction fenced by the worker's lease token
 * (session-state.ts): a worker that lost its lease gets E_LEASE_LOST and writes nothing.
 */
import { makeDirs } from './dirs.js';
import { join } from 'node:path';
import type { FinalResult, PolicyEvent } from '../tuner/policy.js';
import type { BegunRun, RunHandle, RunResult, SessionJournal, StoredObservation } from '../tuner/ports.js';
import type { Observation, TrialSpec } from '../tuner/types.js';
import { writeAutotuneOps, writeBestConfig, writeEngineHistoryCsv, writeHistoryCsv, writeOpConfigJson, writeRunConfig, writeSweepCsv } from './artifacts.js';
import type { Store } from './db.js';
import { upsertDecision } from './decisions.js';
import { RAW_DIR, runDirPath, runFileStem, runFiles } from './run-dir.js';
import { beginRun, finishRun, loadObservations, setRunHandle } from './runs.js';
import { engineHistoryInput, resultsInput, sweepResultsInput } from './results-input.js';
import { sessionRecipe, writeServeRecipe, type RecipeSettings } from './recipe.js';
import { getSession, setSessionOps } from './sessions.js';
import { fenced, leaseLost, transition } from './session-state.js';
import type { SessionRecord } from './records.js';

export interface JournalOptions {
  readonly csvName: string;
  /** False when the user passed their own --output-json, which then wins. */
  readonly askOutputJson: boolean;
  /** The lease token of the worker that writes. */
  readonly token: string;
  /** For serve_recipe.sh/.json at completion. */
  readonly recipe: RecipeSettings;
}

function sessionOf(store: Store, sessionId: string): SessionRecord {
  const session = getSession(store, sessionId);
  if (session === null) throw new Error(`session ${sessionId} vanished from the database`);
  return session;
}

/** The files the policy's events describe (autotune_ops*.yaml, best_config_temp.yaml). */
export function writeEventArtifacts(runDir: string, events: readonly PolicyEvent[]): void {
  for (const event of events) {
    if (event.type === 'ops') writeAutotuneOps(runDir, event);
    else if (event.type === 'best') writeBestConfig(runDir, event.opBackends, 'temp');
  }
}

/**
 * The session's CSV from the database: a sweep's results table, else history.csv. A sweep
 * chooses no operators, so it has no history rows, op_config.json, best_config.yaml or recipe.
 */
export function writeSessionCsv(store: Store, session: SessionRecord, csvName: string): void {
  if (session.policy === 'sweep') writeSweepCsv(session.runDir, csvName, sweepResultsInput(store, session));
  else if (session.policy === 'tiers') writeEngineHistoryCsv(session.runDir, csvName, engineHistoryInput(store, session));
  else writeHistoryCsv(session.runDir, csvName, resultsInput(store, session));
}

/** history.csv, op_config.json, best_config.yaml and the serving recipe of a finished session (a sweep: its table), from the database. */
export function writeFinalArtifacts(store: Store, session: SessionRecord, csvName: string, result: FinalResult, recipe: RecipeSettings): void {
  if (session.policy === 'sweep') {
    writeSessionCsv(store, session, csvName);
    return;
  }
  // The result is not committed yet when a worker writes these, so it is handed in.
  const input = resultsInput(store, { ...session, final: result });
  if (session.policy === 'tiers') writeSessionCsv(store, session, csvName);
  else writeHistoryCsv(session.runDir, csvName, input);
  writeOpConfigJson(session.runDir, input);
  writeBestConfig(session.runDir, result.opBackends, 'final');
  writeServeRecipe(session.runDir, sessionRecipe(session, result, recipe));
}

export class SqliteJournal implements SessionJournal {
  readonly #store: Store;
  readonly #sessionId: string;
  readonly #runDir: string;
  readonly #options: JournalOptions;

  constructor(store: Store, session: SessionRecord, options: JournalOptions) {
    this.#store = store;
    this.#sessionId = session.id;
    this.#runDir = session.runDir;
    this.#options = options;
    makeDirs(join(this.#runDir, RAW_DIR));
  }

  #fenced<T>(fn: () => T): T {
    return fenced(this.#store, this.#sessionId, this.#options.token, fn);
  }

  completedObservations(): readonly StoredObservation[] {
    return loadObservations(this.#store, this.#sessionId);
  }

  beginRun(trial: TrialSpec, kind: Observation['kind'], warmupIndex: number | null, step: number, slot: number): BegunRun {
    return this.#fenced(() => {
      const begun = beginRun(this.#store, this.#sessionId, {
        trial,
        kind,
        warmupIndex,
        step,
        slot,
        files: (seq) => {
          const stem = runFileStem(seq, trial.prefix, kind, warmupIndex);
          return {
            ...runFiles(this.#runDir, stem),
            oplistPath: runDirPath(this.#runDir, RAW_DIR, `${stem}.oplist.txt`),
            outputJsonPath: this.#options.askOutputJson ? runDirPath(this.#runDir, RAW_DIR, `${stem}.json`) : null,
          };
        },
      });
      writeRunConfig(begun.files.configPath, trial.config);
      return begun;
    });
  }

  setRunHandle(runId: number, handle: RunHandle): void {
    this.#fenced(() => setRunHandle(this.#store, runId, handle.runner, handle.id, handle.pid));
  }

  finishRun(runId: number, result: RunResult): void {
    this.#fenced(() => {
      // A row no longer running was marked interrupted by a worker that took the session over.
      if (!finishRun(this.#store, runId, result)) throw leaseLost(this.#sessionId);
    });
  }

  applyEvents(events: readonly PolicyEvent[]): void {
    if (events.length === 0) return;
    this.#fenced(() => {
      for (const event of events) {
        if (event.type === 'ops') setSessionOps(this.#store, this.#sessionId, event.final);
        else if (event.type === 'decision') upsertDecision(this.#store, this.#sessionId, event);
      }
      writeEventArtifacts(this.#runDir, events);
    });
  }

  refreshHistory(): void {
    this.#fenced(() => writeSessionCsv(this.#store, sessionOf(this.#store, this.#sessionId), this.#options.csvName));
  }

  /** Every artifact is written before `completed` commits: a crash in between leaves a resumable session. */
  complete(result: FinalResult): void {
    this.#fenced(() => {
      writeFinalArtifacts(this.#store, sessionOf(this.#store, this.#sessionId), this.#options.csvName, result, this.#options.recipe);
      transition(this.#store, this.#sessionId, 'completed', { token: this.#options.token }, { finalJson: JSON.stringify(result), clearStop: true });
    });
  }

  fail(message: string): void {
    this.#fenced(() => {
      this.refreshHistory();
      transition(this.#store, this.#sessionId, 'failed', { token: this.#options.token }, { error: message, clearStop: true });
    });
  }

  /** Acknowledges a stop request, if there was one. */
  markStopped(): void {
    this.#fenced(() => {
      this.refreshHistory();
      transition(this.#store, this.#sessionId, 'stopped', { token: this.#options.token }, { clearStop: true });
    });
  }
}
