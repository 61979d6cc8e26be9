/** What `status` and `list` show about a session, computed from its stored rows. */
import { hostname } from 'node:os';
import type { Store } from '../store/db.js';
import { loadDecisions } from '../store/decisions.js';
import { sessionProgress, spentByTrial } from '../store/progress.js';
import { isLeaseStale, LEASE_STALE_MS } from '../store/lease.js';
import type { Lease, SessionRecord } from '../store/records.js';
import { candidatesOf, defaultBudget, referenceInvocations } from '../tuner/policies/noise/schedule.js';
import { isProcessAlive } from '../runners/process-group.js';
import { gpuHours, gpusPerRun } from '../report/gpus.js';
import { sessionSlots } from '../report/slots.js';
import type { Decision } from '../tuner/policy.js';
import type { TrialSpec } from '../tuner/types.js';
import { PRUNED, REJECTED } from '../tuner/policies/tiers.js';
import { describePoint, ENGINE_KIND, pointOfKey } from '../tuner/spaces/engine.js';
import { loadTrials } from '../store/trials.js';

export type DisplayState = SessionRecord['state'] | 'crashed';

export interface SessionView {
  readonly id: string;
  readonly state: DisplayState;
  readonly model: string | null;
  readonly policy: string;
  readonly runDir: string;
  readonly startedAt: string;
  readonly elapsedSec: number;
  readonly worker: { readonly pid: number; readonly host: string } | null;
  readonly round: string | null;
  readonly trial: { readonly index: number; readonly planned: number | null; readonly current: string | null };
  readonly runs: { readonly done: number; readonly ok: number; readonly failed: number; readonly interrupted: number; readonly planned: number | null };
  readonly etaSec: number | null;
  readonly best: {
    readonly opBackends: Record<string, string>;
    readonly speedup: number | null;
    readonly low: number | null;
    readonly high: number | null;
    readonly validated: boolean | null;
  };
  /** Run durations x GPUs per run (tensor x pipeline parallel); planned from the mean run so far. An engine study: each run's own GPUs, the most of any point shown. */
  readonly gpuHours: { readonly gpusPerRun: number; readonly spent: number; readonly planned: number | null };
  readonly failuresByClass: Readonly<Record<string, number>>;
  readonly lastError: string | null;
  /** An engine study's standing; null for other policies. */
  readonly engine: EngineView | null;
}

export interface EngineView {
  /** The tier of the newest point measured. */
  readonly tier: string | null;
  /** The best point so far (the winner once the study completed) and its gain per GPU over the default configuration. */
  readonly best: { readonly point: string; readonly gain: number | null; readonly low: number | null; readonly high: number | null; readonly final: boolean } | null;
  readonly pruned: number;
  /** Points rejected before running, with the reason. */
  readonly rejected: readonly { readonly point: string; readonly reason: string }[];
}

/**
 * The one place `crashed` is derived: a session whose worker is gone (dead pid, or silent
 * past the stale limit) while it held it.
 */
export function displayState(session: SessionRecord, now: number): DisplayState {
  const stale = (lease: Lease): boolean => isLeaseStale(lease, now, hostname(), { staleAfterMs: LEASE_STALE_MS, isAlive: isProcessAlive });
  // A created session whose worker died after taking it, before marking it running.
  if (session.state === 'created') return session.lease !== null && stale(session.lease) ? 'crashed' : 'created';
  if (session.state !== 'running' && session.state !== 'stopping') return session.state;
  if (session.lease === null || stale(session.lease)) return 'crashed';
  return session.state;
}

/** A sweep's grid, fixed at its start. */
function sweepTrials(session: SessionRecord): number | null {
  const trials = session.options['trials'];
  return session.policy === 'sweep' && Array.isArray(trials) ? trials.length : null;
}

/**
 * Distinct trials the session's own policy plans: a sweep's grid; else, once the operator
 * table is known, the three baselines, one per candidate (operator x backend, the reference
 * backend once per attention backend) and the combined set. Noise-aware spends its first three
 * runs on the baseline and two more on a set's validation, so its budget may allow fewer;
 * screening runs a new configuration with most of its budget.
 */
function plannedTrials(session: SessionRecord, invocations: number | null): number | null {
  const sweep = sweepTrials(session);
  if (sweep !== null) return sweep;
  if (session.ops === null) return null;
  if (session.policy === 'screening' && invocations !== null) {
    // Every design and confirmation run is a configuration of its own: the invocations less
    // rounds 1a-1c (5), the validation (about a tenth, at least 7) and an anchor in eight.
    const validation = Math.max(7, Math.round(0.1 * invocations));
    return Math.max(3, 4 + Math.round(((invocations - 5 - validation) * 7) / 8));
  }
  const full = 3 + candidatesOf(session.ops).length + 1 + slotBaselines(session);
  if (session.policy === 'reference' || invocations === null) return full;
  return Math.max(3, Math.min(full, invocations - 2));
}

/** Invocations the session will spend at most: its budget, else its policy's default. */
export function plannedInvocations(session: SessionRecord, numRuns: number, budget: number | null): number | null {
  if (budget !== null) return budget;
  const sweep = sweepTrials(session);
  if (sweep !== null) return sweep * numRuns;
  if (session.ops === null) return null;
  // The screening policy's default budget is the reference's own count.
  return session.policy === 'noise-aware' ? defaultBudget(numRuns, session.ops) : referenceInvocations(numRuns, session.ops) + slotBaselines(session) * numRuns;
}

/** The reference policy on several slots measures the baseline once more on every other slot. */
function slotBaselines(session: SessionRecord): number {
  return session.policy === 'reference' ? sessionSlots(session.options).count - 1 : 0;
}

function numberOption(session: SessionRecord, key: string): number | null {
  const v = session.options[key];
  return typeof v === 'number' ? v : null;
}

/** Mid-session, the best kept subject so far (a set or one operator): the gain a user can expect now. */
function bestKept(decisions: readonly Decision[]): Decision | null {
  let best: Decision | null = null;
  for (const d of decisions) {
    if (d.verdict !== 'kept' || d.estimate === null) continue;
    if (best === null || d.estimate > (best.estimate ?? -Infinity)) best = d;
  }
  return best;
}

/** The winning point as its trial names it (`mnbt=32768 mns=512`), else its arguments. */
function winnerLabel(trials: ReadonlyMap<string, TrialSpec>, args: readonly string[]): string {
  const same = (a: readonly string[]): boolean => a.length === args.length && a.every((w, i) => w === args[i]);
  for (const t of trials.values()) if (t.kind === ENGINE_KIND.kind && same(t.extraArgs)) return t.label ?? t.key;
  return args.length === 0 ? 'vLLM defaults' : args.join(' ');
}

/** The tier, the leading point and the points never run, from the stored trials and decisions. */
function engineView(store: Store, session: SessionRecord, decisions: readonly Decision[], currentRound: string | null): EngineView {
  const records = loadTrials(store, session.id);
  const trials = new Map(records.map((t) => [t.spec.key, t.spec]));
  const labelOf = (key: string): string => trials.get(key)?.label ?? describePoint(pointOfKey(key));
  const answer = session.final?.engine;
  const leading = answer === undefined ? bestKept(decisions.filter((d) => trials.get(d.subject)?.kind === ENGINE_KIND.kind)) : null;
  const best =
    answer !== undefined
      ? { point: winnerLabel(trials, answer.args), gain: answer.gain, low: answer.low, high: answer.high, final: true }
      : leading === null
        ? null
        : { point: labelOf(leading.subject), gain: leading.estimate, low: leading.low, high: leading.high, final: false };
  // A tier re-measures earlier winners (their trials keep the tier that first ran them): the
  // newest trial names the tier in progress.
  const newest = records.filter((t) => t.spec.kind === ENGINE_KIND.kind).at(-1);
  return {
    tier: newest?.spec.round ?? currentRound,
    best,
    pruned: decisions.filter((d) => d.reason.startsWith(PRUNED)).length,
    rejected: decisions.filter((d) => d.reason.startsWith(REJECTED)).map((d) => ({ point: labelOf(d.subject), reason: d.reason.slice(REJECTED.length + 2) })),
  };
}

/** An engine study's points differ in tp x pp x dp: GPU time is summed per trial, and the largest point's GPUs shown. */
function engineGpuHours(store: Store, session: SessionRecord): SessionView['gpuHours'] {
  const trials = new Map(loadTrials(store, session.id).map((t) => [t.spec.key, t.spec]));
  const gpusOf = (key: string): number => gpusPerRun([...session.args, ...(trials.get(key)?.extraArgs ?? [])]);
  let spent = 0;
  for (const [key, ms] of spentByTrial(store, session.id)) spent += gpuHours(ms, gpusOf(key));
  return { gpusPerRun: Math.max(1, ...[...trials.keys()].map(gpusOf)), spent, planned: null };
}

export function sessionView(store: Store, session: SessionRecord, now: number): SessionView {
  const p = sessionProgress(store, session.id);
  const state = displayState(session, now);
  const numRuns = numberOption(session, 'numRuns') ?? 2;
  const budget = numberOption(session, 'budget');
  const planned = plannedInvocations(session, numRuns, budget);
  const trials = plannedTrials(session, planned);
  const remaining = planned === null ? null : Math.max(0, planned - p.runsFinished);
  const meanMs = p.runsFinished > 0 ? p.finishedDurationMs / p.runsFinished : null;
  const decisions = loadDecisions(store, session.id);
  const kept = decisions.filter((d) => d.verdict === 'kept' && d.op !== null && d.backend !== null);
  const leading = bestKept(decisions);
  const gpus = gpusPerRun(session.args);
  const ended = p.runsFinished + p.runsInterrupted;
  const meanSpentMs = ended > 0 ? p.spentDurationMs / ended : null;
  const final = session.final;
  const failedRun = p.lastRun !== null && p.lastRun.outcome !== 'ok' ? p.lastRun.failure : null;
  return {
    id: session.id,
    state,
    model: session.model,
    policy: session.policy,
    runDir: session.runDir,
    startedAt: new Date(session.createdAt).toISOString(),
    elapsedSec: Math.round(((state === 'running' ? now : session.updatedAt) - session.createdAt) / 1000),
    worker: session.lease === null ? null : { pid: session.lease.pid, host: session.lease.host },
    round: p.currentIsAnchor ? 'anchor' : (p.currentTrial?.round ?? null),
    trial: { index: p.trialsSeen, planned: trials, current: p.currentTrial?.prefix ?? null },
    runs: { done: p.runsFinished, ok: p.runsOk, failed: p.runsFailed, interrupted: p.runsInterrupted, planned },
    etaSec: state === 'running' && remaining !== null && meanMs !== null ? Math.round((remaining * meanMs) / 1000) : null,
    best:
      final !== null
        ? { opBackends: { ...final.opBackends }, speedup: final.speedup, low: final.low, high: final.high, validated: final.validated }
        : {
            opBackends: Object.fromEntries(kept.map((d) => [d.op as string, d.backend as string])),
            speedup: leading?.estimate ?? null,
            low: leading?.low ?? null,
            high: leading?.high ?? null,
            validated: null,
          },
    gpuHours: session.policy === 'tiers' ? engineGpuHours(store, session) : {
      gpusPerRun: gpus,
      spent: gpuHours(p.spentDurationMs, gpus),
      // Never below what was spent: ended x (spent / ended) can round one ulp under it.
      planned: planned === null || meanSpentMs === null ? null : gpuHours(Math.max(p.spentDurationMs, planned * meanSpentMs), gpus),
    },
    failuresByClass: p.failuresByClass,
    lastError: session.error ?? failedRun,
    engine: session.policy === 'tiers' ? engineView(store, session, decisions, p.currentTrial?.round ?? null) : null,
  };
}

/** `+3.44% [+2.93%, +3.95%]`, or `-`. */
export function formatGain(speedup: number | null, low: number | null, high: number | null): string {
  if (speedup === null) return '-';
  const pct = (x: number): string => `${x >= 0 ? '+' : ''}${(x * 100).toFixed(2)}%`;
  return `${pct(speedup)}${low !== null && high !== null ? ` [${pct(low)}, ${pct(high)}]` : ''}`;
}

/** `oom 2, timeout 1`, or `none`. */
export function formatFailures(byClass: Readonly<Record<string, number>>): string {
  const entries = Object.entries(byClass);
  return entries.length === 0 ? 'none' : entries.map(([k, n]) => `${k} ${n}`).join(', ');
}

export function formatGpuHours(h: SessionView['gpuHours']): string {
  const fmt = (x: number): string => x.toFixed(x < 10 ? 2 : 1);
  return `${fmt(h.spent)}${h.planned === null ? '' : `/~${fmt(h.planned)}`}`;
}

export function formatDuration(sec: number | null): string {
  if (sec === null) return '-';
  const h = Math.floor(sec / 3600);
  const m = Math.floor((sec % 3600) / 60);
  const s = sec % 60;
  return h > 0 ? `${h}h${String(m).padStart(2, '0')}m` : m > 0 ? `${m}m${String(s).padStart(2, '0')}s` : `${s}s`;
}
