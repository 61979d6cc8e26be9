/**
 * `autotune export ID|RUN_DIR [--csv PATH] [--json PATH] [--format results-json|summary-csv
 * [--out PATH]] [--artifacts] [--recipe DIR]`: history.csv (and every run) rebuilt from the
 * database at any time, mid-session and after a crash included. `-` is stdout. `--format`
 * writes the standard result documents (one per point) or the per-point cost summary.
 * `--artifacts` rewrites every artifact of a completed session into its run directory (the
 * serving recipe included); `--recipe` writes the recipe into DIR.
 */
import { AutotuneError } from '../../errors.js';
import { atomicWriteFile } from '../../store/atomic-write.js';
import type { Store } from '../../store/db.js';
import { loadDecisions } from '../../store/decisions.js';
import { engineHistoryInput, pointsInput, resultsInput, sweepResultsInput } from '../../store/results-input.js';
import { formatSummaryCsv, resultDocuments, type ResultDocument } from '../../tuner/results-document.js';
import { version } from '../version.js';
import { formatSweepCsv } from '../../tuner/sweep-results.js';
import type { SessionRecord } from '../../store/records.js';
import { writeBestConfig } from '../../store/artifacts.js';
import { writeEventArtifacts, writeFinalArtifacts } from '../../store/journal.js';
import { loadObservations, loadRuns } from '../../store/runs.js';
import { OUTPUT_TOKENS_PER_S, REQUESTS_PER_S, TOTAL_TOKENS_PER_S, type Measurement } from '../../tuner/metrics.js';
import type { PolicyEvent } from '../../tuner/policy.js';
import { policyContext, readSessionOptions } from '../session-options.js';
import { decidesByEstimate, formatHistoryCsv, historyRows, type HistoryRow } from '../../tuner/results.js';
import { lookupSession } from '../lookup.js';
import { parseVerbArgs } from '../verb-args.js';
import { sessionRecipe, writeServeRecipe } from '../../store/recipe.js';
import { isServeSession, serveFigures, serveFiguresCsv } from '../serve-figures-view.js';
import { formatEngineHistoryCsv } from '../../tuner/engine-history.js';

/** What release 0.1.0's runs reported: `--policy reference` exports stay byte for byte as they were. */
const REFERENCE_METRICS = [TOTAL_TOKENS_PER_S, OUTPUT_TOKENS_PER_S, REQUESTS_PER_S];

/** The stored metrics of `names`, in the store's order. */
function pick(metrics: Measurement | null, names: readonly string[]): Record<string, number> {
  return Object.fromEntries(Object.entries(metrics ?? {}).filter(([name]) => names.includes(name)));
}

function exportJson(store: Store, session: SessionRecord): string {
  const frozen = session.policy === 'reference';
  const runs = loadRuns(store, session.id).map((r) => ({
    seq: r.seq,
    step: r.step,
    trial: r.trialKey,
    kind: r.kind,
    warmupIndex: r.warmupIndex,
    outcome: r.outcome,
    exitCode: r.exitCode,
    signal: r.signal,
    requestsPerSec: r.metrics?.[REQUESTS_PER_S] ?? null,
    totalTokensPerSec: r.metrics?.[TOTAL_TOKENS_PER_S] ?? null,
    outputTokensPerSec: r.metrics?.[OUTPUT_TOKENS_PER_S] ?? null,
    metrics: frozen ? pick(r.metrics, REFERENCE_METRICS) : (r.metrics ?? {}),
    runner: r.runner,
    handle: r.handle,
    durationMs: r.durationMs,
    startedAt: new Date(r.startedAt).toISOString(),
    endedAt: r.endedAt === null ? null : new Date(r.endedAt).toISOString(),
    failure: r.failure,
    logPath: r.logPath,
    configPath: r.configPath,
  }));
  const doc = {
    session: { id: session.id, state: session.state, policy: session.policy, model: session.model, runDir: session.runDir, args: session.args, options: session.options, createdAt: new Date(session.createdAt).toISOString() },
    ops: session.ops,
    decisions: loadDecisions(store, session.id),
    final: session.final,
    // The reference format stays as it was; a model-based policy's rows say which numbers are estimates.
    ...(!decidesByEstimate(session.policy) ? {} : { history: historyJson(historyRows(resultsInput(store, session))) }),
    // A serving session's figures per trial (a bench's per case): mean, sd, min, max over measured runs.
    ...(isServeSession(session) ? { serving: serveFigures(store, session) } : {}),
    runs,
  };
  return `${JSON.stringify(doc, null, 2)}\n`;
}

/**
 * The policy is replayed over the stored runs (it is deterministic), so the files its events
 * wrote (autotune_ops*.yaml, best_config_temp.yaml) come back exactly; the rest is derived
 * from the database as the worker derived it.
 */
async function regenerateArtifacts(store: Store, session: SessionRecord): Promise<void> {
  if (session.state !== 'completed' || session.final === null) {
    throw new AutotuneError('E_SESSION_STATE', `session ${session.id} is ${session.state}; --artifacts rewrites the artifacts of a completed session (resume it to finish it)`);
  }
  const opts = readSessionOptions(session.options);
  // Loaded here, for --artifacts only: the other exports read the database and need neither
  // the policies nor vLLM's option lists.
  const [{ POLICIES }, { replay }, { serveOptions }] = await Promise.all([import('../../tuner/policies/index.js'), import('../../tuner/session.js'), import('../serve-options.js')]);
  const events: PolicyEvent[] = [];
  const replayed = replay(POLICIES[opts.policy], policyContext(opts), loadObservations(store, session.id), (proposal) => events.push(...proposal.events));
  const { next } = replayed;
  events.push(...(next.type === 'runs' ? next.runs.flatMap((r) => r.events) : next.events));
  // The run command writes an empty one before the first run, as the reference does (a sweep has none).
  if (opts.policy !== 'sweep' && !events.some((e) => e.type === 'best')) writeBestConfig(session.runDir, {}, 'temp');
  writeEventArtifacts(session.runDir, events);
  writeFinalArtifacts(store, session, opts.csvName, session.final, { vllmBin: opts.vllmBin, serveOptions: serveOptions() });
}

/** history.csv's rows with full precision; `estimated` rows show the model's estimate and its ratio interval. */
function historyJson(rows: readonly HistoryRow[]): object[] {
  return rows.map((r) => ({
    op: r.op,
    backend: r.backend === '' ? null : r.backend,
    totalTokensPerSec: r.total,
    outputTokensPerSec: r.output,
    ratio: r.ratio,
    estimated: r.estimated !== undefined,
    ratioLow: r.estimated?.low ?? null,
    ratioHigh: r.estimated?.high ?? null,
  }));
}

/** The session's CSV as its run directory holds it: serving figures, a sweep's table, an engine study's points, else history.csv. */
function sessionCsv(store: Store, session: SessionRecord): string {
  if (isServeSession(session)) return serveFiguresCsv(store, session);
  if (session.policy === 'sweep') return formatSweepCsv(sweepResultsInput(store, session));
  if (session.policy === 'tiers') return formatEngineHistoryCsv(engineHistoryInput(store, session));
  return formatHistoryCsv(historyRows(resultsInput(store, session)));
}

const FORMATS = ['results-json', 'summary-csv'] as const;
type Format = (typeof FORMATS)[number];

function formatOf(value: string | undefined): Format | null {
  if (value === undefined) return null;
  const f = FORMATS.find((x) => x === value);
  if (f === undefined) throw new AutotuneError('E_USAGE', `export --format takes ${FORMATS.join(' or ')}, not '${value}'`);
  return f;
}

/** GPU groups of one size give every point that many devices; groups of mixed sizes leave tp x pp x dp. */
function slotDevices(groups: readonly string[] | undefined): number | null {
  const sizes = new Set((groups ?? []).map((g) => g.split(',').filter((d) => d.trim() !== '').length));
  const [only] = sizes;
  return sizes.size === 1 && only !== undefined && only > 0 ? only : null;
}

function documents(store: Store, session: SessionRecord): ResultDocument[] {
  const opts = readSessionOptions(session.options);
  return resultDocuments({
    tool: { name: 'autotune', version: version() },
    session: { id: session.id, policy: session.policy, model: session.model, args: session.args, vllmBin: opts.vllmBin },
    slotDevices: slotDevices(opts.gpuGroups),
    ...pointsInput(store, session),
  });
}

function emit(path: string, content: string): void {
  if (path === '-') process.stdout.write(content);
  else atomicWriteFile(path, content);
}

export async function exportCommand(argv: string[]): Promise<number> {
  const args = parseVerbArgs(argv, { values: ['--db', '--csv', '--json', '--recipe', '--format', '--out'], switches: ['--artifacts'] });
  const format = formatOf(args.values['--format']);
  if (format === null && args.values['--out'] !== undefined) throw new AutotuneError('E_USAGE', 'export --out names the file of --format results-json or summary-csv');
  const target = args.positional[0];
  if (target === undefined) throw new AutotuneError('E_USAGE', 'export needs a session id or run directory, e.g. `autotune export 20261123-061455-a1b2 --csv history.csv`');
  const { store, session } = lookupSession(target, args.values['--db'] ?? null, 'read');
  try {
    const artifacts = args.switches.has('--artifacts');
    if (artifacts) await regenerateArtifacts(store, session);
    const recipeDir = args.values['--recipe'];
    const csvPath = args.values['--csv'] ?? (args.values['--json'] === undefined && !artifacts && recipeDir === undefined && format === null ? '-' : undefined);
    if (csvPath !== undefined) {
      emit(csvPath, sessionCsv(store, session));
    }
    const jsonPath = args.values['--json'];
    if (jsonPath !== undefined) emit(jsonPath, exportJson(store, session));
    if (format !== null) {
      const docs = documents(store, session);
      emit(args.values['--out'] ?? '-', format === 'results-json' ? `${JSON.stringify(docs, null, 2)}\n` : formatSummaryCsv(docs));
    }
    if (recipeDir !== undefined) {
      if (session.final === null) throw new AutotuneError('E_USAGE', `session ${session.id} has no chosen configuration yet (it is ${session.state}); a recipe needs a completed session`);
      // vLLM's option lists (and their schema check) load for a recipe only, as the policies do for --artifacts.
      const { serveOptions } = await import('../serve-options.js');
      const settings = { vllmBin: readSessionOptions(session.options).vllmBin, serveOptions: serveOptions() };
      const files = writeServeRecipe(recipeDir, sessionRecipe(session, session.final, settings));
      process.stderr.write(`wrote ${files.shell} and ${files.json}\n`);
    }
    return 0;
  } finally {
    store.close();
  }
}
