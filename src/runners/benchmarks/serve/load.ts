/**
 * One run of one case against a ready server, with either load generator, ending in a
 * classified outcome. `vllm bench serve` runs as a child in its own process group (its log and
 * --save-result file in the run directory); the built-in generator runs in this process and
 * its per-request records are returned for goodput.
 */
import { mkdir, open, readFile, rm } from 'node:fs/promises';
import { dirname } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { execa } from 'execa';
import type { Classification } from '../../classify-failure.js';
import { isProcessGroupAlive, killProcessGroup } from '../../process-group.js';
import type { ServeCase } from '../../../tuner/serve-cases.js';
import type { RequestRecord, ServeSummary } from '../../../tuner/serve-metrics.js';
import { buildBenchServeArgv } from './args.js';
import { classifyLoad } from './classify.js';
import { runGenerator, type Endpoint } from './generator.js';
import { mergeServeResults, parseServeJson, parseServeLog } from './parse.js';

export type LoadGenerator = 'builtin' | 'vllm';

export interface LoadRun {
  readonly generator: LoadGenerator;
  readonly baseUrl: string;
  readonly model: string;
  readonly case: ServeCase;
  readonly seed: number;
  readonly endpoint: Endpoint;
  /** `vllm bench serve` only: the executable, pass-through arguments, environment, and files. */
  readonly vllmBin: string;
  readonly benchArgs: readonly string[];
  readonly env: Readonly<Record<string, string>>;
  readonly logPath: string;
  readonly resultPath: string;
  readonly percentiles: readonly string[];
  readonly timeoutMs: number;
  readonly signal?: AbortSignal;
}

export interface LoadResult extends Classification {
  readonly summary: ServeSummary | null;
  /** Per request, from the built-in generator only. */
  readonly requests: readonly RequestRecord[] | null;
}

export async function runLoad(run: LoadRun): Promise<LoadResult> {
  return run.generator === 'builtin' ? runBuiltin(run) : runVllmBench(run);
}

async function runBuiltin(run: LoadRun): Promise<LoadResult> {
  const r = await runGenerator({ baseUrl: run.baseUrl, model: run.model, endpoint: run.endpoint, case: run.case, seed: run.seed, requestTimeoutMs: run.timeoutMs, ...(run.signal === undefined ? {} : { signal: run.signal }) });
  if (r.interrupted) return { outcome: 'interrupted', failure: 'interrupted: stopped before the load finished', summary: r.summary, requests: r.requests };
  const c = classifyLoad({ summary: r.summary, log: '', exitCode: 0, signal: null, timedOut: false, interrupted: false, spawnError: null });
  const firstError = r.requests.find((q) => !q.ok)?.error;
  const failure = c.failure !== null && firstError !== undefined && firstError !== null ? `${c.failure} (first: ${firstError})` : c.failure;
  return { outcome: c.outcome, failure, summary: r.summary, requests: r.requests };
}

async function runVllmBench(run: LoadRun): Promise<LoadResult> {
  await mkdir(dirname(run.logPath), { recursive: true });
  await rm(run.resultPath, { force: true });
  const argv = buildBenchServeArgv(run.benchArgs, {
    baseUrl: run.baseUrl,
    case: run.case,
    resultDir: dirname(run.resultPath),
    resultFilename: run.resultPath.slice(dirname(run.resultPath).length + 1),
    percentiles: run.percentiles,
    seed: run.seed,
  });
  const log = await open(run.logPath, 'w');
  let text = '';
  let timedOut = false;
  let interrupted = false;
  let end: { exitCode: number | null; signal: string | null; spawnError: string | null };
  try {
    // The served model's name, unless the user named it in the pass-through arguments.
    const full = argv.includes('--model') ? argv : [...argv, '--model', run.model];
    const child = execa(run.vllmBin, full, {
      env: run.env,
      extendEnv: false,
      detached: true,
      all: true,
      buffer: false,
      reject: false,
      stdin: 'ignore',
    });
    const pid = child.pid;
    const stopGroup = (): void => {
      if (pid !== undefined) killProcessGroup(pid, 'SIGTERM');
    };
    const timer = setTimeout(() => {
      timedOut = true;
      stopGroup();
    }, run.timeoutMs);
    const onAbort = (): void => {
      interrupted = true;
      stopGroup();
    };
    run.signal?.addEventListener('abort', onAbort, { once: true });
    let writes = Promise.resolve();
    child.all?.on('data', (chunk: Buffer) => {
      text += chunk.toString('utf8');
      writes = writes.then(() => log.write(chunk)).then(() => undefined, () => undefined);
    });
    const result = await child;
    await writes;
    clearTimeout(timer);
    run.signal?.removeEventListener('abort', onAbort);
    if (pid !== undefined) {
      for (let i = 0; i < 200 && isProcessGroupAlive(pid); i++) {
        if (i === 100) killProcessGroup(pid, 'SIGKILL');
        await sleep(25);
      }
    }
    end = pid === undefined
      ? { exitCode: null, signal: null, spawnError: `vllm executable not found or not runnable: '${run.vllmBin}' (set --vllm-bin)` }
      : { exitCode: result.exitCode ?? null, signal: result.signal ?? null, spawnError: null };
  } finally {
    await log.close();
  }
  let json: ServeSummary | null = null;
  try {
    json = parseServeJson(await readFile(run.resultPath, 'utf8'));
  } catch {
    json = null;
  }
  const summary = mergeServeResults(json, parseServeLog(text));
  const c = classifyLoad({ summary, log: text, ...end, timedOut, interrupted });
  return { ...c, summary, requests: null };
}
