/** Error codes a user can see; each maps to one exit status in src/cli/main.ts. */
export type ErrorCode =
  | 'E_USAGE'
  | 'E_CONFIG'
  | 'E_NO_OPS'
  | 'E_VLLM_NOT_FOUND'
  | 'E_SESSION_NOT_FOUND'
  | 'E_SESSION_LOCKED'
  | 'E_SESSION_STATE'
  | 'E_NOT_A_RUN_DIR'
  | 'E_DB_TOO_NEW'
  | 'E_DB'
  | 'E_DB_FOREIGN'
  | 'E_LEASE_LOST'
  | 'E_NO_RESULT'
  | 'E_WORKER'
  | 'E_IO'
  | 'E_REPLAY'
  | 'E_INTERRUPTED'
  | 'E_NOT_SUPPORTED'
  | 'E_BENCH_FAILED';

const EXIT_STATUS: Record<ErrorCode, number> = {
  E_USAGE: 2,
  E_CONFIG: 2,
  E_NO_OPS: 1,
  E_VLLM_NOT_FOUND: 127,
  E_SESSION_NOT_FOUND: 1,
  E_SESSION_LOCKED: 1,
  E_SESSION_STATE: 1,
  E_NOT_A_RUN_DIR: 1,
  E_DB_TOO_NEW: 3,
  E_DB: 1,
  E_DB_FOREIGN: 1,
  // The session was taken over by another worker; this one stopped without writing anything.
  E_LEASE_LOST: 1,
  E_NO_RESULT: 1,
  E_WORKER: 1,
  E_IO: 1,
  E_REPLAY: 1,
  E_INTERRUPTED: 130,
  E_NOT_SUPPORTED: 2,
  E_BENCH_FAILED: 1,
};

/** An expected failure: printed as one line, never with a stack. */
export class AutotuneError extends Error {
  readonly code: ErrorCode;
  readonly exitStatus: number;
  constructor(code: ErrorCode, message: string, options?: { cause?: unknown; exitStatus?: number }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'AutotuneError';
    this.code = code;
    this.exitStatus = options?.exitStatus ?? EXIT_STATUS[code];
  }
}

export function isAutotuneError(error: unknown): error is AutotuneError {
  return error instanceof AutotuneError;
}
