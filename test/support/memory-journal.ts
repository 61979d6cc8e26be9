/**
 * A SessionJournal in memory, for driving the session engine in-process: rows by seq with the
 * step id each was proposed under, and completed observations as the database returns them, so
 * they persist across engine instances (replay, resume).
 */
import type { FinalResult, PolicyEvent } from '../../src/tuner/policy.js';
import type { BegunRun, RunResult, SessionJournal, StoredObservation } from '../../src/tuner/ports.js';
import type { Observation, TrialSpec } from '../../src/tuner/types.js';

export interface MemoryRow {
  readonly seq: number;
  readonly step: number;
  trial: TrialSpec;
  readonly kind: Observation['kind'];
  result: RunResult | null;
}

export class MemoryJournal implements SessionJournal {
  readonly rows: MemoryRow[] = [];
  readonly events: PolicyEvent[] = [];
  state = 'running';
  final: FinalResult | null = null;
  completedObservations(): readonly StoredObservation[] {
    return this.rows
      .filter((r) => r.result !== null && r.result.outcome !== 'interrupted')
      .map((r) => ({ seq: r.seq, step: r.step, trialKey: r.trial.key, kind: r.kind, outcome: r.result?.outcome as Observation['outcome'], metrics: r.result?.metrics ?? null, executedOps: r.result?.executedOps ?? null, durationMs: 1, failure: r.result?.failure ?? null }));
  }
  beginRun(trial: TrialSpec, kind: Observation['kind'], _warmupIndex: number | null, step: number): BegunRun {
    const seq = this.rows.length + 1;
    this.rows.push({ seq, step, trial, kind, result: null });
    return { runId: seq, seq, files: { logPath: `/x/${seq}.log`, configPath: `/x/${seq}.yaml`, oplistPath: `/x/${seq}.txt`, outputJsonPath: null } };
  }
  setRunHandle(): void {}
  finishRun(runId: number, result: RunResult): void {
    const row = this.rows[runId - 1];
    if (row !== undefined) row.result = result;
  }
  applyEvents(events: readonly PolicyEvent[]): void {
    this.events.push(...events);
  }
  refreshHistory(): void {}
  complete(result: FinalResult): void {
    this.final = result;
    this.state = 'completed';
  }
  fail(): void {
    this.state = 'failed';
  }
  markStopped(): void {
    this.state = 'stopped';
  }
  /** What must not depend on completion order: every row's number, step, trial, kind and outcome. */
  ledger(): string[] {
    return this.rows.map((r) => `${r.seq} ${r.step} ${r.trial.key} ${r.kind} ${r.result?.outcome ?? 'running'}`);
  }
}
