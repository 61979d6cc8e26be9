/**
 * `autotune bench serve`: one configuration benchmarked over a case matrix, against a server
 * the user runs (`--base-url`) or one autotune starts (`--model M [-- engine args]`), which is
 * stopped, whole process tree, whatever happens. Recorded as a session of the database (one
 * trial per case, one run row per warm-up and measured run, bench-session.ts); writes
 * `serve_results.json` and the server's log in its run directory, prints the results table,
 * compared per case with a baseline (a previous bench session or results file) when asked.
 */
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { AutotuneError } from '../../errors.js';
import { maxModelLenArg } from '../../runners/benchmarks/serve/args.js';
import { detectModel, type Endpoint } from '../../runners/benchmarks/serve/generator.js';
import { runLoad, type LoadGenerator } from '../../runners/benchmarks/serve/load.js';
import { httpGet, startServer, DEFAULT_SERVER_READY_TIMEOUT_S, type RunningServer } from '../../runners/benchmarks/serve/server.js';
import { parseServerMemory, type ServerMemory } from '../../runners/benchmarks/serve/server-log.js';
import { memoryMetrics } from '../../runners/log-memory.js';
import { makeDirs } from '../../store/dirs.js';
import { removeServerRecord, writeServerRecord, writeServeResults, SERVE_RESULTS_FORMAT, type StoredServeCase } from '../../store/serve-results.js';
import { reapLeftServers } from '../reap.js';
import { caseKey, caseRuns, parseCases, planCases, splitNumRuns } from '../../tuner/serve-cases.js';
import { caseFigures, runGoodput, type CaseRunResult } from '../../tuner/serve-report.js';
import { runMeasurement, type ServeStudy } from '../../tuner/serve-study.js';
import type { RequestRecord, ServeSummary } from '../../tuner/serve-metrics.js';
import { runsDelta, spreadOf } from '../../tuner/serve-figures.js';
import type { RunResult } from '../../tuner/ports.js';
import { openStore } from '../../store/db.js';
import { BenchSession } from '../bench-session.js';
import { loadServeBaseline } from '../serve-baseline.js';
import { defaultReportPath, writeSessionReport } from '../session-report.js';
import { getSession } from '../../store/sessions.js';
import { defaultDbPath } from '../session-files.js';
import { parseSlos, requiredPercentiles, type Slo } from '../../tuner/slo.js';
import { serveTable } from '../serve-table.js';
import { parseVerbArgs } from '../verb-args.js';

const VALUES = [
  '--base-url',
  '--model',
  '--cases',
  '--num-runs',
  '--slo',
  '--load-generator',
  '--endpoint',
  '--server-ready-timeout',
  '--server-log',
  '--baseline',
  '--output-dir',
  '--vllm-bin',
  '--request-timeout',
  '--autotune-seed',
  '--autotune-db',
];

function positiveNumber(name: string, text: string | undefined, fallback: number): number {
  if (text === undefined) return fallback;
  const v = Number(text);
  if (!(v > 0) || !Number.isFinite(v)) throw new AutotuneError('E_USAGE', `${name} must be a number above 0, got '${text}'`);
  return v;
}

function wholeNumber(name: string, text: string | undefined, fallback: number): number {
  if (text === undefined) return fallback;
  if (!/^\d+$/.test(text)) throw new AutotuneError('E_USAGE', `${name} must be a whole number, got '${text}'`);
  return Number(text);
}

function choice<T extends string>(name: string, text: string | undefined, options: readonly T[], fallback: T): T {
  if (text === undefined) return fallback;
  const found = options.find((o) => o === text);
  if (found === undefined) throw new AutotuneError('E_USAGE', `${name} must be one of ${options.join(', ')}, got '${text}'`);
  return found;
}

function stamp(d: Date): string {
  const p = (n: number): string => String(n).padStart(2, '0');
  return `${d.getFullYear()}${p(d.getMonth() + 1)}${p(d.getDate())}_${p(d.getHours())}${p(d.getMinutes())}${p(d.getSeconds())}`;
}

function newRunDir(outputDir: string, now: Date): string {
  const base = join(outputDir, `bench_serve_${stamp(now)}`);
  let dir = base;
  for (let i = 2; existsSync(dir); i++) dir = `${base}_${i}`;
  makeDirs(dir);
  return dir;
}

/** The built-in generator prints nothing: its run's log is the outcome and figures, its requests one a line beside it. */
async function writeBuiltinLog(logPath: string, key: string, warmup: boolean, outcome: string, failure: string | null, summary: ServeSummary | null, requests: readonly RequestRecord[] | null): Promise<void> {
  await mkdir(dirname(logPath), { recursive: true });
  const figures = summary === null ? '' : `, ${summary.completed} ok, ${summary.failed ?? 0} failed, ${(summary.outputThroughput ?? 0).toFixed(2)} output tok/s, mean TTFT ${(summary.latency.ttft?.meanMs ?? 0).toFixed(2)} ms, mean TPOT ${(summary.latency.tpot?.meanMs ?? 0).toFixed(2)} ms`;
  await writeFile(logPath, `${key} ${warmup ? 'warm-up' : 'run'}: ${outcome}${figures}${failure === null ? '' : ` (${failure})`}\n`);
  if (requests !== null && requests.length > 0) await writeFile(logPath.replace(/\.log$/, '.requests.jsonl'), `${requests.map((q, i) => JSON.stringify({ case: key, request: i, ...q })).join('\n')}\n`);
}

function processEnv(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined) env[k] = v;
  return env;
}

/** `max_model_len` of a running server: its /v1/models entry (vLLM lists it), else null. */
async function servedMaxModelLen(baseUrl: string): Promise<number | null> {
  const answer = await httpGet(`${baseUrl}/v1/models`, 5000);
  if (answer === null || answer.status !== 200) return null;
  const m = /"max_model_len"\s*:\s*(\d+)/.exec(answer.body);
  return m === null ? null : Number(m[1]);
}

export async function benchCommand(argv: string[]): Promise<number> {
  const [kind, ...rest] = argv;
  if (kind !== 'serve') throw new AutotuneError('E_USAGE', `autotune bench takes one benchmark kind: serve${kind === undefined ? '' : `, not '${kind}'`}`);
  const dashes = rest.indexOf('--');
  const own = dashes === -1 ? rest : rest.slice(0, dashes);
  const engineArgs = dashes === -1 ? [] : rest.slice(dashes + 1);
  const a = parseVerbArgs(own, { values: VALUES, switches: ['--json', '--quiet'] });
  if (a.positional.length > 0) throw new AutotuneError('E_USAGE', `unexpected argument '${a.positional[0] ?? ''}' (engine arguments go after --)`);
  const v = a.values;
  const baseUrlGiven = v['--base-url'];
  if (baseUrlGiven === undefined && v['--model'] === undefined) throw new AutotuneError('E_USAGE', 'autotune bench serve needs --base-url URL (a running server) or --model MODEL (autotune starts vllm serve)');
  if (baseUrlGiven !== undefined && engineArgs.length > 0) throw new AutotuneError('E_USAGE', 'engine arguments after -- need a server autotune starts (--model), not --base-url');
  if (baseUrlGiven !== undefined && !/^https?:\/\/[^/\s]+\/?$/.test(baseUrlGiven)) throw new AutotuneError('E_USAGE', `--base-url must be http://HOST:PORT, got '${baseUrlGiven}'`);
  const cases = parseCases(v['--cases'] ?? 'core');
  const { warmups, measured } = splitNumRuns(wholeNumber('--num-runs', v['--num-runs'], 4));
  const slos: Slo[] = v['--slo'] === undefined ? [] : parseSlos(v['--slo']);
  const generator = choice<LoadGenerator>('--load-generator', v['--load-generator'], ['builtin', 'vllm'], 'builtin');
  const endpoint = choice<Endpoint>('--endpoint', v['--endpoint'], ['completions', 'chat'], 'completions');
  const readyTimeoutS = positiveNumber('--server-ready-timeout', v['--server-ready-timeout'], DEFAULT_SERVER_READY_TIMEOUT_S);
  const requestTimeoutS = positiveNumber('--request-timeout', v['--request-timeout'], 600);
  const seed = wholeNumber('--autotune-seed', v['--autotune-seed'], 0);
  const vllmBin = v['--vllm-bin'] ?? 'vllm';
  const outputDir = v['--output-dir'] ?? 'autotune_logs';
  const dbPath = v['--autotune-db'] ?? defaultDbPath(outputDir);
  if (dbPath === ':memory:') throw new AutotuneError('E_USAGE', '`--autotune-db :memory:` keeps nothing to list, export or compare with; give a file');
  const baseline = v['--baseline'] === undefined ? null : loadServeBaseline(v['--baseline'], dbPath);
  const quiet = a.switches.has('--quiet') || a.switches.has('--json');
  const say = (line: string): void => {
    if (!quiet) process.stderr.write(`${line}\n`);
  };

  for (const note of reapLeftServers(outputDir)) say(note);
  const now = new Date();
  // Absolute: the run rows keep their files' paths, which must not depend on where a reader runs.
  const runDir = resolve(newRunDir(outputDir, now));
  const env = processEnv();
  const study: ServeStudy = {
    cases,
    slos: slos.map((s) => s.text),
    generator,
    endpoint,
    benchArgs: [],
    readyTimeoutS,
    requestTimeoutS,
  };
  const store = openStore(dbPath);
  let session: BenchSession;
  try {
    session = new BenchSession(store, {
      runDir,
      dbPath,
      args: v['--model'] === undefined || baseUrlGiven !== undefined ? [] : ['--model', v['--model'], ...engineArgs],
      study,
      numRuns: warmups + measured,
      seed,
      vllmBin,
    });
  } catch (error) {
    store.close();
    throw error;
  }
  say(`session ${session.id}, run directory ${runDir}`);
  const controller = new AbortController();
  const onSignal = (): void => controller.abort();
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);

  let server: RunningServer | null = null;
  let ended = false;
  const end = (state: 'completed' | 'stopped' | 'failed', summary: string): void => {
    ended = true;
    session.end(state, summary);
    // As a tuning session's, its report shows where it ended; a failure here is only a note.
    try {
      const current = getSession(store, session.id);
      if (current !== null) writeSessionReport(store, current, defaultReportPath(current), Date.now());
    } catch (error) {
      say(`could not write report.html: ${error instanceof Error ? error.message : String(error)}`);
    }
  };
  try {
    let baseUrl: string;
    let memory: ServerMemory | null = null;
    let maxModelLen = maxModelLenArg(engineArgs);
    if (baseUrlGiven === undefined) {
      const model = v['--model'] as string;
      say(`starting vllm serve ${model} (log: ${join(runDir, 'server.log')})`);
      const runKey = `bench-serve:${session.id}:${process.pid}`;
      const start = await startServer({
        vllmBin,
        model,
        engineArgs,
        env,
        runKey,
        logPath: join(runDir, 'server.log'),
        readyTimeoutMs: readyTimeoutS * 1000,
        signal: controller.signal,
        // Recorded before the wait, so a kill -9 of autotune during a long start-up is reaped too.
        onSpawn: (pid) => writeServerRecord(runDir, { pid, runKey, ownerPid: process.pid }),
      });
      if (start.kind === 'interrupted') throw new AutotuneError('E_INTERRUPTED', 'stopped while the server was starting');
      if (start.kind === 'failed') {
        if (start.classification.outcome === 'spawn_error') throw new AutotuneError('E_VLLM_NOT_FOUND', start.classification.failure ?? 'cannot start vllm');
        throw new AutotuneError('E_BENCH_FAILED', `server failed to start (${start.classification.outcome}): ${start.classification.failure ?? ''}; log: ${join(runDir, 'server.log')}`);
      }
      server = start.server;
      baseUrl = server.baseUrl;
      memory = server.memory();
      maxModelLen ??= memory.maxConcurrency?.tokensPerRequest ?? null;
      say(`server ready at ${baseUrl} after ${(start.readyMs / 1000).toFixed(1)} s`);
    } else {
      baseUrl = baseUrlGiven.replace(/\/$/, '');
      const logFile = v['--server-log'];
      if (logFile !== undefined) {
        try {
          memory = parseServerMemory(readFileSync(logFile, 'utf8'));
        } catch (error) {
          throw new AutotuneError('E_USAGE', `--server-log: cannot read ${logFile}: ${error instanceof Error ? error.message : String(error)}`);
        }
      }
    }
    const model = v['--model'] !== undefined && baseUrlGiven !== undefined ? v['--model'] : await detectModel(baseUrl);
    maxModelLen ??= (await servedMaxModelLen(baseUrl)) ?? memory?.maxConcurrency?.tokensPerRequest ?? null;
    const plan = planCases(cases, maxModelLen);
    for (const s of plan.skipped) say(`skipped ${caseKey(s.case)}: ${s.reason}`);

    const results = new Map<string, CaseRunResult[]>();
    let serverDeath: string | null = null;
    for (const [step, run] of caseRuns(plan.run, warmups, measured).entries()) {
      if (controller.signal.aborted || serverDeath !== null) break;
      const key = caseKey(run.case);
      const stem = `${key.replace(/[^A-Za-z0-9.]+/g, '_')}_${run.warmup ? `warmup_${run.index + 1}` : `run_${run.index - warmups + 1}`}`;
      const logPath = join(runDir, 'bench', `${stem}.log`);
      const resultPath = join(runDir, 'bench', `${stem}.json`);
      const runId = session.begin(run.case, step, run.warmup ? run.index + 1 : null, { logPath, configPath: resultPath });
      if (server !== null) session.handle(runId, server.pid);
      const started = Date.now();
      const r = await runLoad({
        generator,
        baseUrl,
        model,
        case: run.case,
        seed: seed + run.index,
        endpoint,
        vllmBin,
        benchArgs: [],
        env,
        logPath,
        resultPath,
        percentiles: requiredPercentiles(slos),
        timeoutMs: requestTimeoutS * 1000 * (generator === 'vllm' ? Math.max(1, run.case.prompts) : 1),
        signal: controller.signal,
      });
      const death = server?.deathClassification() ?? null;
      const outcome = death?.outcome ?? r.outcome;
      const failure = death?.failure ?? r.failure;
      if (death !== null) serverDeath = death.failure;
      const goodputValue = r.summary === null || outcome !== 'ok' ? null : runGoodput(r.summary, slos, r.requests);
      const list = results.get(key) ?? [];
      list.push({ index: run.index, warmup: run.warmup, outcome, failure, summary: r.summary, goodput: goodputValue });
      results.set(key, list);
      const stored: RunResult = {
        outcome,
        exitCode: null,
        signal: null,
        metrics: r.summary === null ? null : runMeasurement([{ case: run.case, summary: r.summary, goodput: goodputValue }], memory === null ? null : memoryMetrics(memory)),
        durationMs: Date.now() - started,
        failure,
        executedOps: null,
      };
      if (generator === 'builtin') await writeBuiltinLog(logPath, key, run.warmup, outcome, failure, r.summary, r.requests);
      session.finish(runId, stored);
      say(`${key} ${run.warmup ? 'warm-up' : 'run'} ${run.index + 1}/${warmups + measured}: ${outcome}${failure === null ? '' : ` (${failure})`}`);
    }

    const stored: StoredServeCase[] = plan.run.map((c) => {
      const runs = results.get(caseKey(c)) ?? [];
      return { key: caseKey(c), inputLen: c.inputLen, outputLen: c.outputLen, load: c.load, prompts: c.prompts, runs, figures: caseFigures(runs, slos) };
    });
    const path = writeServeResults(runDir, {
      format: SERVE_RESULTS_FORMAT,
      createdAt: now.toISOString(),
      session: session.id,
      model,
      baseUrl,
      startedServer: server !== null,
      generator,
      engineArgs,
      slos: slos.map((s) => s.text),
      memory,
      skipped: plan.skipped.map((s) => ({ key: caseKey(s.case), reason: s.reason })),
      cases: stored,
      baseline: v['--baseline'] ?? null,
    });
    const rows = stored.map((c) => {
      const base = baseline?.get(c.key);
      const ok = c.runs.filter((x) => !x.warmup && x.outcome === 'ok' && x.summary !== null);
      const spread = (pick: (r: CaseRunResult) => number | null | undefined): ReturnType<typeof spreadOf> =>
        spreadOf(ok.flatMap((x) => {
          const value = pick(x);
          return typeof value === 'number' ? [value] : [];
        }));
      return {
        key: c.key,
        figures: c.figures,
        delta:
          base === undefined
            ? null
            : {
                outputTokensPerSec: runsDelta(spread((x) => x.summary?.outputThroughput), base.outputTokensPerSec),
                tpotMeanMs: runsDelta(spread((x) => x.summary?.latency.tpot?.meanMs), base.tpotMeanMs),
              },
      };
    });
    if (a.switches.has('--json')) {
      process.stdout.write(`${readFileSync(path, 'utf8')}`);
    } else {
      for (const line of serveTable(rows, memory, slos.length > 0, baseline !== null)) process.stdout.write(`${line}\n`);
      process.stdout.write(`results: ${path}\n`);
      process.stdout.write(`session: ${session.id} (autotune status ${session.id}, autotune export ${session.id} --csv -)\n`);
    }
    if (controller.signal.aborted) throw new AutotuneError('E_INTERRUPTED', `stopped; partial results in ${path}`);
    if (serverDeath !== null) throw new AutotuneError('E_BENCH_FAILED', `the server died ${serverDeath}`);
    const failed = stored.reduce((n, c) => n + c.runs.filter((r) => !r.warmup && r.outcome !== 'ok').length, 0);
    if (failed > 0) throw new AutotuneError('E_BENCH_FAILED', `${failed} measured run(s) failed (see ${path})`);
    end('completed', `Measured ${stored.length} case${stored.length === 1 ? '' : 's'}${plan.skipped.length === 0 ? '' : `, ${plan.skipped.length} skipped`}`);
    return 0;
  } catch (error) {
    if (!ended) {
      const message = error instanceof Error ? error.message : String(error);
      end(error instanceof AutotuneError && error.code === 'E_INTERRUPTED' ? 'stopped' : 'failed', message);
    }
    throw error;
  } finally {
    process.removeListener('SIGINT', onSignal);
    process.removeListener('SIGTERM', onSignal);
    if (server !== null) await server.stop();
    removeServerRecord(runDir);
    store.close();
  }
}
