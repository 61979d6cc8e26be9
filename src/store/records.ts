/**
 * What the store hands out, and the mapping from raw rows to it. Rows never leave src/store;
 * JSON columns are parsed here, once, at the border.
 */
import type { FinalResult } from '../tuner/policy.js';
import type { Measurement } from '../tuner/metrics.js';
import type { Backend, PolicyName, RunKind, RunOutcome, TrialSpec } from '../tuner/types.js';

export type SessionState = 'created' | 'running' | 'stopping' | 'stopped' | 'completed' | 'failed';

/**
 * Run rows that are no observation: in flight, interrupted, or never started (spawn_error).
 * Replay skips them and a later run answers their step again.
 */
export const NOT_OBSERVED = ['running', 'interrupted', 'spawn_error'] as const;
/** NOT_OBSERVED as an SQL list. */
export const NOT_OBSERVED_SQL = `(${NOT_OBSERVED.map((o) => `'${o}'`).join(', ')})`;

export function isObservation(outcome: RunState): boolean {
  return !(NOT_OBSERVED as readonly string[]).includes(outcome);
}

/** Who is driving a session: the holder's process, machine and a per-process token. */
export interface Lease {
  readonly pid: number;
  readonly host: string;
  readonly token: string;
  readonly heartbeatAt: number;
}

export type JsonObject = Readonly<Record<string, unknown>>;

export interface SessionRecord {
  readonly id: string;
  readonly createdAt: number;
  readonly updatedAt: number;
  readonly state: SessionState;
  /** Absolute path. */
  readonly runDir: string;
  readonly policy: PolicyName;
  /** The pass-through `vllm bench throughput` arguments, verbatim. */
  readonly args: readonly string[];
  /** Every tuner option, as the CLI resolved it. */
  readonly options: JsonObject;
  /** The environment that shapes a measurement, as found at start. */
  readonly env: Readonly<Record<string, string>>;
  readonly model: string | null;
  /** The tuned operator table (OpsDiscovered.final), once discovery ran. */
  readonly ops: Readonly<Record<string, readonly Backend[]>> | null;
  readonly error: string | null;
  readonly final: FinalResult | null;
  readonly lease: Lease | null;
  readonly stopRequestedAt: number | null;
}

export type RunState = RunOutcome | 'running';

export interface RunRecord {
  readonly id: number;
  readonly sessionId: string;
  /** Session-wide file counter: the NNNN of `NNNN_<prefix>_...`. */
  readonly seq: number;
  /** The policy step this run answers: how many observations preceded it. */
  readonly step: number;
  readonly trialKey: string;
  readonly kind: RunKind;
  readonly warmupIndex: number | null;
  readonly outcome: RunState;
  readonly exitCode: number | null;
  readonly signal: string | null;
  /** Named metrics from run_metrics; null when the run stored none. */
  readonly metrics: Measurement | null;
  readonly durationMs: number | null;
  readonly startedAt: number;
  readonly endedAt: number | null;
  readonly logPath: string;
  readonly configPath: string;
  readonly pid: number | null;
  /** Which runner ran it and its handle there (a pid for `local`). */
  readonly runner: string | null;
  readonly handle: string | null;
  /** The slot it ran on (0 with one slot); null for runs stored before slots were recorded. */
  readonly slot: number | null;
  readonly failure: string | null;
  readonly executedOps: readonly string[] | null;
}

export interface TrialRecord {
  readonly spec: TrialSpec;
  readonly firstSeenAt: number;
}

export interface SessionRow {
  id: string;
  created_at: number;
  updated_at: number;
  state: SessionState;
  run_dir: string;
  policy: PolicyName;
  args_json: string;
  options_json: string;
  env_json: string;
  model: string | null;
  ops_json: string | null;
  error: string | null;
  final_json: string | null;
  lease_pid: number | null;
  lease_host: string | null;
  lease_heartbeat_at: number | null;
  lease_token: string | null;
  stop_requested_at: number | null;
}

export interface RunRow {
  id: number;
  session_id: string;
  seq: number;
  step: number;
  trial_key: string;
  kind: RunKind;
  warmup_index: number | null;
  outcome: RunState;
  exit_code: number | null;
  signal: string | null;
  duration_ms: number | null;
  started_at: number;
  ended_at: number | null;
  log_path: string;
  config_path: string;
  pid: number | null;
  runner: string | null;
  handle: string | null;
  slot: number | null;
  failure: string | null;
  executed_ops_json: string | null;
}

export interface TrialRow {
  spec_json: string;
  first_seen_at: number;
}

function parseJson<T>(text: string): T {
  return JSON.parse(text) as T;
}

function parseNullableJson<T>(text: string | null): T | null {
  return text === null ? null : parseJson<T>(text);
}

export function leaseOf(row: SessionRow): Lease | null {
  if (row.lease_token === null || row.lease_pid === null || row.lease_host === null || row.lease_heartbeat_at === null) {
    return null;
  }
  return { pid: row.lease_pid, host: row.lease_host, token: row.lease_token, heartbeatAt: row.lease_heartbeat_at };
}

export function toSessionRecord(row: SessionRow): SessionRecord {
  return {
    id: row.id,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    state: row.state,
    runDir: row.run_dir,
    policy: row.policy,
    args: parseJson<string[]>(row.args_json),
    options: parseJson<JsonObject>(row.options_json),
    env: parseJson<Record<string, string>>(row.env_json),
    model: row.model,
    ops: parseNullableJson<Record<string, Backend[]>>(row.ops_json),
    error: row.error,
    final: parseNullableJson<FinalResult>(row.final_json),
    lease: leaseOf(row),
    stopRequestedAt: row.stop_requested_at,
  };
}

export function toRunRecord(row: RunRow, metrics: Measurement | null): RunRecord {
  return {
    id: row.id,
    sessionId: row.session_id,
    seq: row.seq,
    step: row.step,
    trialKey: row.trial_key,
    kind: row.kind,
    warmupIndex: row.warmup_index,
    outcome: row.outcome,
    exitCode: row.exit_code,
    signal: row.signal,
    metrics,
    durationMs: row.duration_ms,
    startedAt: row.started_at,
    endedAt: row.ended_at,
    logPath: row.log_path,
    configPath: row.config_path,
    pid: row.pid,
    runner: row.runner,
    handle: row.handle,
    slot: row.slot,
    failure: row.failure,
    executedOps: parseNullableJson<string[]>(row.executed_ops_json),
  };
}

export function toTrialRecord(row: TrialRow): TrialRecord {
  return { spec: parseJson<TrialSpec>(row.spec_json), firstSeenAt: row.first_seen_at };
}
