/**
 * The session engine's persistence, over SQLite and the run directory: runs are committed as
 * they end, and every artifact is rewritten from what the database holds.
 */
import { makeDirs } from './dirs.js';
import { join } from 'node:path';
import type { FinalResult, PolicyEvent } from '../tuner/policy.js';
import type { BegunRun, RunHandle, RunResult, SessionJournal, StoredObservation } from '../tuner/ports.js';
import type { Observation, TrialSpec } from '../tuner/types.js';
import { writeAutotuneOps, writeBestConfig, writeHistoryCsv, writeOpConfigJson, writeRunConfig } from './artifacts.js';
import type { Store } from './db.js';
import { upsertDecision } from './decisions.js';
import { RAW_DIR, runDirPath, runFileStem, runFiles } from './run-dir.js';
import { beginRun, finishRun, loadObservations, setRunHandle } from './runs.js';
import { resultsInput } from './results-input.js';
import { getSession, setFinal, setSessionError, setSessionOps, updateSessionState } from './sessions.js';
import type { SessionRecord } from './records.js';

export interface JournalOptions {
  readonly csvName: string;
  /** False when the user passed their own --output-json, which then wins. */
  readonly askOutputJson: boolean;
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

  #session(): SessionRecord {
    const session = getSession(this.#store, this.#sessionId);
    if (session === null) throw new Error(`session ${this.#sessionId} vanished from the database`);
    return session;
  }

  completedObservations(): readonly StoredObservation[] {
    return loadObservations(this.#store, this.#sessionId);
  }

  beginRun(trial: TrialSpec, kind: Observation['kind'], warmupIndex: number | null, step: number): BegunRun {
    const begun = beginRun(this.#store, this.#sessionId, {
      trial,
      kind,
      warmupIndex,
      step,
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
  }

  setRunHandle(runId: number, handle: RunHandle): void {
    setRunHandle(this.#store, runId, handle.runner, handle.id, handle.pid);
  }

  finishRun(runId: number, result: RunResult): void {
    finishRun(this.#store, runId, result);
  }

  applyEvents(events: readonly PolicyEvent[]): void {
    for (const event of events) {
      switch (event.type) {
        case 'ops':
          setSessionOps(this.#store, this.#sessionId, event.final);
          writeAutotuneOps(this.#runDir, event);
          break;
        case 'decision':
          upsertDecision(this.#store, this.#sessionId, event);
          break;
        case 'best':
          writeBestConfig(this.#runDir, event.opBackends, 'temp');
          break;
        case 'note':
          break;
      }
    }
  }

  refreshHistory(): void {
    writeHistoryCsv(this.#runDir, this.#options.csvName, resultsInput(this.#store, this.#session()));
  }

  complete(result: FinalResult): void {
    // Artifacts first: `status` shows a session completed only once all its files exist (a
    // crash in between leaves it resumable, and completing again rewrites the same files).
    const input = resultsInput(this.#store, { ...this.#session(), final: result });
    writeHistoryCsv(this.#runDir, this.#options.csvName, input);
    writeOpConfigJson(this.#runDir, input);
    writeBestConfig(this.#runDir, result.opBackends, 'final');
    setFinal(this.#store, this.#sessionId, result);
  }

  fail(message: string): void {
    setSessionError(this.#store, this.#sessionId, message);
    updateSessionState(this.#store, this.#sessionId, 'failed');
    this.refreshHistory();
  }

  markStopped(): void {
    updateSessionState(this.#store, this.#sessionId, 'stopped');
    this.refreshHistory();
  }
}
