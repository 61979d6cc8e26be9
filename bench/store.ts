/**
 * Cost of reading a busy database: `status`, `export` and resume planning (loading and
 * replaying a session's runs) on 20 sessions x 500 runs. Target: < 200 ms each (exit 1 on a miss).
 * Prints in-process times per operation and end-to-end CLI process times.
 */
import { fromThroughput } from '../src/tuner/metrics.js';
import { objectiveFor } from '../src/tuner/objective.js';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { median, quantile } from 'simple-statistics';
import { sessionView } from '../src/cli/session-view.js';
import { openReadOnly, openStore, type Store } from '../src/store/db.js';
import { resultsInput } from '../src/store/results-input.js';
import { beginRun, finishRun, loadObservations } from '../src/store/runs.js';
import { createSession, setSessionOps } from '../src/store/sessions.js';
import { POLICIES } from '../src/tuner/policies/index.js';
import type { PolicyContext } from '../src/tuner/policy.js';
import { formatHistoryCsv, historyRows } from '../src/tuner/results.js';
import { replay } from '../src/tuner/session.js';
import { loadScenario } from '../simulator/scenario.js';
import { simulate } from '../simulator/model.js';

const SESSIONS = 20;
const RUNS = 500;
const ROOT = resolve(fileURLToPath(new URL('../..', import.meta.url)));
const CLI = join(ROOT, 'dist', 'src', 'cli', 'main.js');

function context(seed: number): PolicyContext {
  return { numRuns: 9, objective: objectiveFor('total'), minGain: 0.005, budget: null, seed, discovery: { explicitOps: null, configOps: null } };
}

/** Records RUNS runs the reference policy asks for on the typical scenario, as a live session would. */
function fillSession(store: Store, index: number, dir: string): string {
  const scenario = loadScenario('typical');
  const ctx = context(index);
  const session = createSession(store, {
    runDir: join(dir, `run_${index}`),
    policy: 'reference',
    args: ['--model', `/models/m${index}`, '--input-len', '512'],
    options: { ...ctx, timeoutSec: 7200, vllmBin: 'vllm', csvName: 'history.csv', policy: 'reference' },
    env: {},
  });
  const cursor = POLICIES.reference.start(ctx);
  const ordinals = new Map<string, number>();
  let step = cursor.next();
  for (let i = 0; i < RUNS && step.type === 'run'; i++) {
    for (const e of step.events) if (e.type === 'ops') setSessionOps(store, session.id, e.final);
    const trial = step.trial;
    const ordinal = ordinals.get(trial.key) ?? 0;
    ordinals.set(trial.key, ordinal + 1);
    const env: Record<string, string | undefined> = {};
    for (const [k, v] of Object.entries(trial.env)) env[k] = v ?? undefined;
    const sim = simulate(scenario, { env, config: trial.config, trialOrdinal: ordinal, step: i, runKey: `${session.id}:${i}:${ordinal}:${trial.key}` });
    const begun = beginRun(store, session.id, {
      trial,
      kind: step.kind,
      warmupIndex: step.warmupIndex,
      step: i,
      slot: 0,
      files: (seq) => ({ logPath: join(dir, `${seq}.log`), configPath: join(dir, `${seq}.yaml`) }),
    });
    const outcome = sim.outcome === 'ok' ? 'ok' : 'engine_failure';
    finishRun(store, begun.runId, {
      outcome,
      exitCode: outcome === 'ok' ? 0 : 1,
      signal: null,
      metrics: fromThroughput(sim.throughput),
      durationMs: 90_000 + (i % 7) * 1000,
      failure: null,
      executedOps: trial.recordOplist ? sim.executedOps : null,
    });
    step = cursor.next({ trialKey: trial.key, kind: step.kind, outcome, metrics: fromThroughput(sim.throughput), executedOps: trial.recordOplist ? sim.executedOps : null, durationMs: 0 });
  }
  return session.id;
}

function timeEach(label: string, ids: readonly string[], op: (id: string) => void): void {
  const samples = ids.map((id) => {
    const start = performance.now();
    op(id);
    return performance.now() - start;
  });
  report(label, samples);
}

function report(label: string, samples: number[]): void {
  const p50 = median(samples);
  const max = Math.max(...samples);
  if (p50 >= 200) process.exitCode = 1;
  console.log(`${label.padEnd(44)} median ${p50.toFixed(1).padStart(6)} ms   p90 ${quantile(samples, 0.9).toFixed(1).padStart(6)} ms   max ${max.toFixed(1).padStart(6)} ms   median < 200 ms: ${p50 < 200 ? 'ok' : 'MISSED'}`);
}

const dir = mkdtempSync(join(tmpdir(), 'autotune-bench-store-'));
const dbPath = join(dir, 'autotune.db');
const writer = openStore(dbPath);
const fillStart = performance.now();
const ids = Array.from({ length: SESSIONS }, (_, i) => fillSession(writer, i + 1, dir));
writer.close();
console.log(`database: ${SESSIONS} sessions x ${RUNS} runs, filled in ${((performance.now() - fillStart) / 1000).toFixed(1)} s (${dbPath})`);

const store = openReadOnly(dbPath);
const now = Date.now();
const { getSession } = await import('../src/store/sessions.js');
const session = (id: string) => {
  const s = getSession(store, id);
  if (s === null) throw new Error(`lost session ${id}`);
  return s;
};
timeEach('status (session view)', ids, (id) => void sessionView(store, session(id), now));
timeEach('export (history.csv from the database)', ids, (id) => void formatHistoryCsv(historyRows(resultsInput(store, session(id)))));
timeEach('resume planning (load + replay 500 runs)', ids, (id) => {
  const s = session(id);
  const opts = s.options as unknown as PolicyContext;
  void replay(POLICIES.reference, context(opts.seed), loadObservations(store, id));
});
store.close();

const cliSamples = async (args: (id: string) => string[]): Promise<number[]> => {
  const out: number[] = [];
  for (const id of ids.slice(0, 8)) {
    const start = performance.now();
    const r = await execa(process.execPath, [CLI, ...args(id)], { reject: false });
    out.push(performance.now() - start);
    if (r.exitCode !== 0) throw new Error(r.stderr);
  }
  return out;
};
console.log('whole CLI processes (node start included; floor ~85 ms):');
report('  autotune status ID', await cliSamples((id) => ['status', id, '--db', dbPath]));
report('  autotune export ID --csv -', await cliSamples((id) => ['export', id, '--db', dbPath, '--csv', '-']));
report('  autotune list', await cliSamples(() => ['list', '--db', dbPath]));
