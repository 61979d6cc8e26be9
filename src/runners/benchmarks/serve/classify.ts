/**
 * How a serving run ended. Pure. Two processes can fail: the server (`vllm serve`) and the load
 * (`vllm bench serve` or the built-in generator).
 *
 * Server: the shared rules of classify-failure.ts name the root cause from its log (OOM, KV
 * cache, kernel faults, NCCL, plugin, bad arguments); a server that exited without a known
 * cause is an engine failure, one that never became ready in time a timeout.
 *
 * Load: a run with any failed request is a failed run (`nonzero_exit`, its counts in the line),
 * as the users' own check `Fail: 0` demands; a server that died during the load is named from
 * the server's log.
 */
import { classifyRun, type Classification } from '../../classify-failure.js';
import type { ServeSummary } from '../../../tuner/serve-metrics.js';

export type ServerFailureKind = 'exited' | 'never_ready';

export interface ServerEnd {
  readonly kind: ServerFailureKind;
  readonly log: string;
  readonly exitCode: number | null;
  readonly signal: string | null;
  /** Seconds waited for readiness, for the message. */
  readonly waitedS: number;
  /** Readiness seen so far: /v1/models answered, the log showed startup complete. */
  readonly modelsAnswered: boolean;
  readonly startupLogged: boolean;
}

export function classifyServerFailure(end: ServerEnd): Classification {
  const shared = classifyRun({
    log: end.log,
    hasResult: false,
    exitCode: end.kind === 'exited' ? end.exitCode : null,
    signal: end.kind === 'exited' ? end.signal : null,
    timedOut: end.kind === 'never_ready',
    interrupted: false,
    spawnError: null,
  });
  // A specific cause from the log (OOM, kernel fault, bad arguments, ...) always wins.
  if (shared.outcome === 'oom' || shared.outcome === 'engine_failure') return shared;
  if (shared.outcome === 'nonzero_exit' && !/^(exited with code|killed by)/.test(shared.failure ?? '')) return shared;
  if (end.kind === 'never_ready') {
    const seen = end.startupLogged ? 'the log shows startup complete but GET /v1/models never answered' : end.modelsAnswered ? 'GET /v1/models answered but the log never showed startup complete' : 'no startup complete in the log';
    return { outcome: 'timeout', failure: `server not ready after ${Math.round(end.waitedS)} s (${seen})` };
  }
  const how = end.signal !== null ? `killed by ${end.signal}` : `exited with code ${String(end.exitCode)}`;
  const detail = shared.failure !== null && shared.failure.includes(': ') ? shared.failure.slice(shared.failure.indexOf(': ') + 2) : null;
  return { outcome: 'engine_failure', failure: `server ${how}${detail === null ? '' : `: ${detail}`}` };
}

/** A server that died while the load ran: its own cause, prefixed so the user knows which process failed. */
export function classifyServerDeathDuringLoad(end: Omit<ServerEnd, 'kind' | 'waitedS' | 'modelsAnswered' | 'startupLogged'>): Classification {
  const c = classifyServerFailure({ ...end, kind: 'exited', waitedS: 0, modelsAnswered: true, startupLogged: true });
  return { outcome: c.outcome, failure: `during the load: ${c.failure ?? 'server stopped'}` };
}

export interface LoadEnd {
  readonly summary: ServeSummary | null;
  /** The load generator's own end (for `vllm bench serve`: its process). */
  readonly log: string;
  readonly exitCode: number | null;
  readonly signal: string | null;
  readonly timedOut: boolean;
  readonly interrupted: boolean;
  readonly spawnError: string | null;
}

export function classifyLoad(end: LoadEnd): Classification {
  const shared = classifyRun({ ...end, hasResult: end.summary !== null });
  if (shared.outcome !== 'ok') {
    if (shared.outcome === 'no_result') return { outcome: 'no_result', failure: 'exited with code 0 without printing a Serving Benchmark Result block' };
    return shared;
  }
  const s = end.summary;
  if (s === null) return shared;
  const failed = s.failed ?? 0;
  if (failed > 0) {
    return { outcome: 'nonzero_exit', failure: `${failed} of ${failed + s.completed} requests failed` };
  }
  if (s.completed === 0) return { outcome: 'no_result', failure: 'no request completed' };
  return shared;
}
