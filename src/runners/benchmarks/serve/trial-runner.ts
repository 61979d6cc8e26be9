/**
 * Runs the trials of a serving session: each trial's own `vllm serve` (the session's serve
 * arguments plus the trial's engine arguments, the trial's environment, a port of its own),
 * and one pass of the load over the case matrix per run against it.
 *
 * The server belongs to the trial, not to a run, and to the slot the run is on: each slot
 * (a GPU group under --gpu-groups, with its CUDA_VISIBLE_DEVICES and VLLM_PORT range from the
 * slot runner) has its own server on a port of its own, so slots serve side by side. The
 * engine's lifecycle seam (RunLifecycle) calls `prepare(trial, slot)` before every run, which
 * stops that slot's server of another trial, and `dispose()` once at the end, which stops
 * every slot's last one; the first run of a trial on a slot starts it
 * (so its start, and a failure to start, are that run's: the outcome and root cause of an OOM,
 * an engine that exits, or one never ready within --server-ready-timeout). A server that dies
 * during the load fails the run with the cause from its log and is started afresh by the next
 * run. Every run that uses a server records the server's process group as its handle; the
 * server carries the key of the run that started it, and every key of a session starts with
 * its id, so what a killed daemon leaves is found again on resume (src/cli/reap.ts).
 *
 * Files, beside the run's own log (a line per case): `<log>.server.log` for a server the run
 * started, per case `vllm bench serve` logs and result JSON, the built-in generator's records
 * one request a line (`<stem>.requests.jsonl`) and the run's per-case figures
 * (`<stem>.json`, the run's output JSON path).
 */
import { mkdir, open, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Classification } from '../../classify-failure.js';
import { buildEnv } from '../../env.js';
import { LocalRunner } from '../../local.js';
import type { Orphan, RunHandle, RunLifecycle, RunRequest, RunResult, Runner } from '../../../tuner/ports.js';
import { caseKey, planCases, type ServeCase } from '../../../tuner/serve-cases.js';
import type { RequestRecord, ServeSummary } from '../../../tuner/serve-metrics.js';
import { goodput, requiredPercentiles, type Slo } from '../../../tuner/slo.js';
import { nextProbe, probeCase, runMeasurement, sloSample, studySlos, type CaseMeasurement, type ServeStudy } from '../../../tuner/serve-study.js';
import type { ConcurrencyObservation } from '../../../tuner/concurrency-search.js';
import type { TrialSpec } from '../../../tuner/types.js';
import { maxModelLenArg, splitServeModel } from './args.js';
import { memoryMetrics } from '../../log-memory.js';
import { runLoad, type LoadResult } from './load.js';
import { startServer, type RunningServer } from './server.js';

export interface ServeRunnerOptions {
  readonly study: ServeStudy;
  /** Search each case's highest concurrency under the SLOs instead of loading it once. */
  readonly searchConcurrency: boolean;
  readonly seed: number;
  readonly killGraceMs?: number;
}

interface LiveServer {
  readonly trialKey: string;
  readonly server: RunningServer;
  readonly handle: RunHandle;
  readonly maxModelLen: number | null;
}

const stemOf = (logPath: string): string => logPath.replace(/\.log$/, '');
/** How long a failed load waits for the server's exit before blaming the load itself. */
const DEATH_WAIT_MS = 2000;

function safeName(c: ServeCase): string {
  return caseKey(c).replace(/[^A-Za-z0-9.]+/g, '_');
}

function failed(outcome: RunResult['outcome'], failure: string, started: number, metrics: RunResult['metrics'] = null): RunResult {
  return { outcome, exitCode: null, signal: null, metrics, durationMs: performance.now() - started, failure, executedOps: null };
}

export class ServeTrialRunner implements Runner, RunLifecycle {
  readonly name = 'local';
  readonly #o: ServeRunnerOptions;
  readonly #slos: Slo[];
  /** By slot. */
  readonly #live = new Map<number, LiveServer>();

  constructor(options: ServeRunnerOptions) {
    this.#o = options;
    this.#slos = studySlos(options.study);
  }

  async prepare(trial: TrialSpec, slot: number): Promise<void> {
    const live = this.#live.get(slot);
    if (live !== undefined && live.trialKey !== trial.key) await this.#stop(slot);
  }

  async dispose(): Promise<void> {
    await Promise.all([...this.#live.keys()].map((slot) => this.#stop(slot)));
  }

  /** The server runs as a process group carrying a run key, like a benchmark: the local runner's reap applies. */
  reap(orphan: Orphan): boolean {
    return new LocalRunner().reap(orphan);
  }

  async #stop(slot: number): Promise<void> {
    const live = this.#live.get(slot);
    this.#live.delete(slot);
    if (live !== undefined) await live.server.stop();
  }

  async run(request: RunRequest): Promise<RunResult> {
    const started = performance.now();
    if (request.signal?.aborted === true) return failed('interrupted', 'interrupted: stopped before the run started', started);
    await mkdir(dirname(request.logPath), { recursive: true });
    const log = await open(request.logPath, 'w');
    const say = async (line: string): Promise<void> => {
      await log.write(`${line}\n`);
      request.echo?.(`${line}\n`);
    };
    // One limit for the whole run (--timeout), on top of the stop signal.
    const controller = new AbortController();
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      controller.abort();
    }, Math.min(request.timeoutMs, 2 ** 31 - 1));
    const onAbort = (): void => controller.abort();
    request.signal?.addEventListener('abort', onAbort, { once: true });
    try {
      return await this.#run(request, started, say, controller.signal, () => timedOut);
    } finally {
      clearTimeout(timer);
      request.signal?.removeEventListener('abort', onAbort);
      await log.close();
    }
  }

  async #ensureServer(request: RunRequest, signal: AbortSignal, say: (line: string) => Promise<void>): Promise<LiveServer | Classification | 'interrupted'> {
    const slot = request.slot ?? 0;
    const live = this.#live.get(slot);
    if (live !== undefined && live.trialKey === request.trial.key && live.server.exit() === null) {
      request.onStart?.(live.handle);
      return live;
    }
    if (live !== undefined) await this.#stop(slot);
    const { model, engineArgs } = splitServeModel([...request.passthrough, ...request.trial.extraArgs]);
    if (model === null) return { outcome: 'nonzero_exit', failure: 'the serve arguments name no model (give MODEL or --model)' };
    const logPath = `${stemOf(request.logPath)}.server.log`;
    await say(`starting vllm serve ${model} (log: ${logPath})`);
    let handle: RunHandle | null = null;
    const start = await startServer({
      vllmBin: request.vllmBin,
      model,
      engineArgs,
      env: buildEnv(request.baseEnv, request.trial, request),
      runKey: request.runKey,
      logPath,
      readyTimeoutMs: this.#o.study.readyTimeoutS * 1000,
      signal,
      ...(this.#o.killGraceMs === undefined ? {} : { killGraceMs: this.#o.killGraceMs }),
      // Recorded as soon as the group exists: a daemon killed during a long start-up leaves a findable server.
      onSpawn: (pid) => {
        handle = { runner: this.name, id: String(pid), pid };
        request.onStart?.(handle);
      },
    });
    if (start.kind === 'interrupted') return 'interrupted';
    if (start.kind === 'failed') return start.classification;
    const server = start.server;
    const memory = server.memory();
    await say(`server ready at ${server.baseUrl} after ${(start.readyMs / 1000).toFixed(1)} s`);
    const next: LiveServer = {
      trialKey: request.trial.key,
      server,
      handle: handle ?? { runner: this.name, id: String(server.pid), pid: server.pid },
      maxModelLen: maxModelLenArg(engineArgs) ?? memory.maxConcurrency?.tokensPerRequest ?? null,
    };
    this.#live.set(slot, next);
    return next;
  }

  async #run(request: RunRequest, started: number, say: (line: string) => Promise<void>, signal: AbortSignal, timedOut: () => boolean): Promise<RunResult> {
    const live = await this.#ensureServer(request, signal, say);
    if (live === 'interrupted') {
      return timedOut() ? failed('timeout', `timed out after ${request.timeoutMs / 1000} s while the server was starting`, started) : failed('interrupted', 'interrupted: stopped while the server was starting', started);
    }
    if (!('server' in live)) {
      await say(`server failed (${live.outcome}): ${live.failure ?? ''}`);
      return failed(live.outcome, live.failure ?? 'the server failed', started);
    }
    const { server } = live;
    const plan = planCases(this.#o.study.cases, live.maxModelLen);
    for (const s of plan.skipped) await say(`skipped ${caseKey(s.case)}: ${s.reason}`);
    if (plan.run.length === 0) return failed('nonzero_exit', 'every case exceeds the server\'s max-model-len', started);

    const stem = (request.outputJsonPath ?? request.logPath).replace(/\.(json|log)$/, '');
    const measured: CaseMeasurement[] = [];
    const records: string[] = [];
    let failure: Classification | null = null;
    const load = async (c: ServeCase, tag: string, seed: number): Promise<LoadResult> => {
      const r = await runLoad({
        generator: this.#o.study.generator,
        baseUrl: server.baseUrl,
        model: splitServeModel([...request.passthrough, ...request.trial.extraArgs]).model ?? '',
        case: c,
        seed,
        endpoint: this.#o.study.endpoint,
        vllmBin: request.vllmBin,
        benchArgs: this.#o.study.benchArgs,
        env: buildEnv(request.baseEnv, { env: {} }, request),
        logPath: `${stem}.${tag}.bench.log`,
        resultPath: `${stem}.${tag}.bench.json`,
        percentiles: requiredPercentiles(this.#slos),
        timeoutMs: this.#o.study.requestTimeoutS * 1000 * (this.#o.study.generator === 'vllm' ? Math.max(1, c.prompts) : 1),
        signal,
      });
      for (const [i, q] of (r.requests ?? []).entries()) records.push(JSON.stringify({ case: caseKey(c), request: i, ...q }));
      return r;
    };
    // Requests fail the moment a server dies; its exit, which names the cause, follows a little later.
    const judge = async (r: LoadResult): Promise<Classification> => {
      for (let i = 0; r.outcome !== 'ok' && server.exit() === null && i < DEATH_WAIT_MS / 25; i++) await sleep(25);
      return server.deathClassification() ?? r;
    };
    const goodputOf = (summary: ServeSummary | null, requests: readonly RequestRecord[] | null): number | null =>
      this.#slos.length === 0 || summary === null ? null : goodput(summary, this.#slos, requests);

    for (const [index, c] of plan.run.entries()) {
      const seed = this.#o.seed + index;
      if (this.#o.searchConcurrency) {
        const observations: ConcurrencyObservation[] = [];
        let best: CaseMeasurement = { case: c, summary: null, goodput: null, maxConcurrency: null };
        for (;;) {
          const step = nextProbe(this.#slos, c, observations);
          if (step.kind === 'done') {
            best = { ...best, maxConcurrency: step.best };
            break;
          }
          const probe = probeCase(c, step.concurrency);
          const r = await load(probe, `${safeName(c)}.c${step.concurrency}.${observations.length + 1}`, seed + observations.length);
          const verdict = await judge(r);
          if (verdict.outcome === 'interrupted' || server.exit() !== null || signal.aborted) {
            failure = verdict;
            break;
          }
          observations.push({ concurrency: step.concurrency, sample: sloSample(this.#slos, r.summary, verdict.outcome === 'ok') });
          await say(`${caseKey(c)} at concurrency ${step.concurrency}: ${verdict.outcome}${verdict.failure === null ? '' : ` (${verdict.failure})`}`);
          if (verdict.outcome === 'ok' && (best.summary === null || step.concurrency >= (probeConcurrency(best) ?? 0))) {
            best = { case: probe, summary: r.summary, goodput: goodputOf(r.summary, r.requests) };
          }
        }
        if (failure !== null) break;
        await say(`${caseKey(c)}: max concurrency under the SLOs ${best.maxConcurrency ?? 'none (the smallest breaks them)'}`);
        measured.push(best);
        continue;
      }
      const r = await load(c, safeName(c), seed);
      const verdict = await judge(r);
      const figures = r.summary === null ? '' : `, ${(r.summary.outputThroughput ?? 0).toFixed(2)} output tok/s, ${r.summary.completed} ok, ${r.summary.failed ?? 0} failed`;
      await say(`${caseKey(c)}: ${verdict.outcome}${figures}${verdict.failure === null ? '' : ` (${verdict.failure})`}`);
      measured.push({ case: c, summary: r.summary, goodput: verdict.outcome === 'ok' ? goodputOf(r.summary, r.requests) : null });
      if (verdict.outcome !== 'ok') {
        failure = verdict;
        break;
      }
    }

    if (records.length > 0) await writeFile(`${stem}.requests.jsonl`, `${records.join('\n')}\n`);
    if (request.outputJsonPath !== null) {
      await writeFile(request.outputJsonPath, `${JSON.stringify({ server: { baseUrl: server.baseUrl, pid: server.pid, memory: server.memory() }, cases: measured }, null, 2)}\n`);
    }
    const metrics = runMeasurement(measured, memoryMetrics(server.memory()));
    const died = server.exit() !== null;
    if (died) {
      // Its survivors hold the GPU: the group goes now; the next run starts a new server.
      await this.#stop(request.slot ?? 0);
    }
    if (signal.aborted && !timedOut()) return failed('interrupted', 'interrupted: stopped during the load', started);
    if (timedOut()) return failed('timeout', `timed out after ${request.timeoutMs / 1000} s during the load`, started, metrics);
    if (failure !== null) return failed(failure.outcome, failure.failure ?? 'the load failed', started, Object.keys(metrics).length > 0 ? metrics : null);
    return { outcome: 'ok', exitCode: 0, signal: null, metrics, durationMs: performance.now() - started, failure: null, executedOps: null };
  }
}

function probeConcurrency(m: CaseMeasurement): number | null {
  return m.case.load.kind === 'concurrency' ? m.case.load.concurrency : null;
}
