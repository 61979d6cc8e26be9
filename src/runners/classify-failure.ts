/**
 * Decides how a benchmark invocation ended and names its root cause in one line. Pure.
 * The rules are the table of vllm-bench-throughput.md §8, drawn from the failures in §6.
 */
import { KV_CACHE_SHORTAGE, type RunOutcome } from '../tuner/types.js';
import { splitLogLines } from './log-text.js';

/** Everything known about a finished invocation. */
export interface RunEnd {
  readonly log: string;
  /** Whether a Throughput result was found (console line or --output-json). */
  readonly hasResult: boolean;
  readonly exitCode: number | null;
  readonly signal: string | null;
  /** Killed by autotune's wall-clock limit. */
  readonly timedOut: boolean;
  /** Stopped on request (abort); never a measurement. */
  readonly interrupted: boolean;
  /** One line describing why the process could not be started, or null when it started. */
  readonly spawnError: string | null;
}

export interface Classification {
  readonly outcome: RunOutcome;
  /** One line naming the root cause; null for `ok`. */
  readonly failure: string | null;
}

interface Rule {
  readonly outcome: RunOutcome;
  readonly label: string | ((line: string) => string);
  /** Tried in order: the first pattern that hits any line names the cause, so specific texts go first. */
  readonly patterns: readonly RegExp[];
}

/** Printed by every healthy run; it mentions "running out of memory" without being an error (§6.2). */
const CUDA_GRAPHS_NOTICE = /CUDA graphs can take additional/;

const ENGINE_WRAPPER = /Engine core initialization failed|EngineDeadError|EngineCore failed to start|EngineCore encountered|Worker failed with error/;

/** Checked in order; the first rule with a hit decides. Wrappers (engine death) come last so a specific cause wins. */
const RULES: readonly Rule[] = [
  {
    outcome: 'nonzero_exit',
    label: 'configuration error',
    patterns: [
      /is greater than the derived max_model_len/,
      /max_num_batched_tokens \(\d+\) is smaller than max_model_len/,
      /Please ensure that max_model_len is greater than/,
      /ValidationError/,
    ],
  },
  {
    // Memory held by another process (often a previous run's survivor), not this trial's fault.
    outcome: 'nonzero_exit',
    label: 'GPU memory already in use',
    patterns: [/Free memory on device .* is less than desired GPU memory utilization/],
  },
  {
    outcome: 'oom',
    label: KV_CACHE_SHORTAGE,
    patterns: [
      /KV cache is needed, which is larger than the available KV cache memory/,
      /larger than the maximum number of tokens that can be stored in KV cache/,
      /No available memory for the cache blocks/,
    ],
  },
  {
    outcome: 'oom',
    label: (line) => (/NPU out of memory/.test(line) ? 'NPU out of memory' : /CUDA out of memory/.test(line) ? 'CUDA out of memory' : 'out of memory'),
    patterns: [/CUDA out of memory/, /NPU out of memory/, /OutOfMemoryError/],
  },
  {
    outcome: 'engine_failure',
    label: 'kernel fault',
    patterns: [/illegal memory access/, /device-side assert/, /MEMORY_APERTURE_VIOLATION/],
  },
  {
    outcome: 'engine_failure',
    label: 'distributed error',
    patterns: [/NCCL error/, /ncclCommInitRank/, /invalid device ordinal/],
  },
  {
    outcome: 'engine_failure',
    label: 'vllm-plugin-FL error',
    patterns: [/No implementation selected for op=/, /Cannot set both VLLM_FL_FLAGOS_WHITELIST and VLLM_FL_FLAGOS_BLACKLIST/],
  },
];

const MAX_FAILURE_CHARS = 400;

/** Removes what wrappers put in front of a message: srun labels, rank tags, process tags, log headers. */
const LINE_PREFIXES: readonly RegExp[] = [
  /^\d+:\s+/, // srun --label
  /^\[rank\d+\]:\s*/,
  /^\([^)]*\)\s*/, // (EngineCore_DP0 pid=25), (VllmWorker TP0 pid=7)
  /^(?:ERROR|WARNING|INFO|DEBUG|CRITICAL)\s+\d{2}-\d{2}\s+[\d:.]+\s*/,
  /^\[[\w.-]+:\d+\]\s*/, // [core.py:700]
];

function cleanLine(line: string): string {
  let text = line.trim();
  for (let changed = true; changed; ) {
    changed = false;
    for (const prefix of LINE_PREFIXES) {
      const stripped = text.replace(prefix, '');
      if (stripped !== text) {
        text = stripped.trim();
        changed = true;
      }
    }
  }
  return text.length > MAX_FAILURE_CHARS ? `${text.slice(0, MAX_FAILURE_CHARS - 1)}…` : text;
}

/** A Python exception line such as `torch.OutOfMemoryError: ...` or `AssertionError`. */
const EXCEPTION_LINE = /^(?:[A-Za-z_]\w*\.)*[A-Z]\w*(?:Error|Exception)(?::\s|$)/;

function isRootCauseCandidate(cleaned: string): boolean {
  return EXCEPTION_LINE.test(cleaned) && !ENGINE_WRAPPER.test(cleaned);
}

/**
 * The engine's own exception sits between `EngineCore failed to start` / `encountered a fatal error`
 * and the client's final RuntimeError, often 40+ lines above the latter (§6.3).
 */
function engineRootCause(lines: readonly string[]): string | null {
  const start = lines.findIndex((l) => /EngineCore failed to start|EngineCore encountered a fatal error/.test(l));
  const wrapper = lines.findIndex((l) => /Engine core initialization failed|EngineDeadError/.test(l));
  if (start === -1 && wrapper === -1) return null;
  const end = wrapper > start ? wrapper : lines.length;
  if (start !== -1) {
    for (let i = start + 1; i < end; i++) {
      const cleaned = cleanLine(lines[i] ?? '');
      if (isRootCauseCandidate(cleaned)) return cleaned;
    }
  }
  for (let i = end - 1; i >= 0; i--) {
    const cleaned = cleanLine(lines[i] ?? '');
    if (isRootCauseCandidate(cleaned)) return cleaned;
  }
  return cleanLine(lines[wrapper === -1 ? start : wrapper] ?? '');
}

function matchRule(lines: readonly string[]): Classification | null {
  for (const rule of RULES) {
    for (const pattern of rule.patterns) {
      const line = lines.find((l) => pattern.test(l) && !CUDA_GRAPHS_NOTICE.test(l));
      if (line === undefined) continue;
      const cleaned = cleanLine(line);
      const label = typeof rule.label === 'string' ? rule.label : rule.label(cleaned);
      return { outcome: rule.outcome, failure: `${label}: ${cleaned}` };
    }
  }
  const root = engineRootCause(lines);
  return root === null ? null : { outcome: 'engine_failure', failure: `engine core failed: ${root}` };
}

/** argparse prints `usage: ...` then `<prog>: error: <what>` and exits with 2. */
function badArguments(lines: readonly string[], exitCode: number | null): Classification | null {
  if (exitCode !== 2 || !lines.some((l) => /(?:^|\s)usage: /.test(l))) return null;
  const error = lines.find((l) => /: error: /.test(l));
  return { outcome: 'nonzero_exit', failure: `invalid arguments: ${error === undefined ? 'see the usage message' : cleanLine(error)}` };
}

function lastMatching(lines: readonly string[], test: (cleaned: string) => boolean): string | null {
  for (let i = lines.length - 1; i >= 0; i--) {
    const cleaned = cleanLine(lines[i] ?? '');
    if (test(cleaned)) return cleaned;
  }
  return null;
}

function killedBy(end: RunEnd): string | null {
  if (end.signal !== null) return end.signal;
  return end.exitCode === 137 ? 'SIGKILL' : null;
}

export function classifyRun(end: RunEnd): Classification {
  if (end.interrupted) return { outcome: 'interrupted', failure: 'interrupted: stopped before the benchmark finished' };
  if (end.spawnError !== null) return { outcome: 'spawn_error', failure: end.spawnError };
  // `Throughput:` is printed only after the timed generation completed, so the number is a whole
  // measurement even when teardown then fails or hangs (NCCL process-group warnings, leaked shared
  // memory, a stuck worker: §3). Rejecting it would discard a valid sample for an unrelated reason.
  if (end.hasResult) return { outcome: 'ok', failure: null };

  const lines = splitLogLines(end.log);
  // A known cause outranks the timeout: an engine that died and then hung was killed by us, but
  // the death is what the user must fix.
  const known = badArguments(lines, end.exitCode) ?? matchRule(lines);
  if (known !== null) return known;

  if (end.timedOut) {
    const stall = lastMatching(lines, (l) => /No available shared memory broadcast block/.test(l));
    return { outcome: 'timeout', failure: `timed out before printing a result${stall === null ? '' : ` (workers stalled: ${stall})`}` };
  }
  const signal = killedBy(end);
  if (signal !== null) {
    const hint = signal === 'SIGKILL' ? ' (not by autotune; the host OOM killer?)' : '';
    return { outcome: 'nonzero_exit', failure: `killed by ${signal} before printing a result${hint}` };
  }
  if (end.exitCode === 0) return { outcome: 'no_result', failure: 'exited with code 0 without printing a Throughput line' };
  const exception = lastMatching(lines, (l) => EXCEPTION_LINE.test(l));
  const last = exception ?? lastMatching(lines, (l) => l.length > 0);
  return { outcome: 'nonzero_exit', failure: `exited with code ${String(end.exitCode)}${last === null ? ' and printed nothing' : `: ${last}`}` };
}
