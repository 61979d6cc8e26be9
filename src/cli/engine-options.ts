/**
 * An engine study's options: tiers of axes from a job file's `engine` block, a sweep file's
 * experiments or repeated `--autotune-axis` flags, and what its points are checked against
 * (the model's attention heads from config.json, the GPUs visible, the lengths of the
 * benchmark), resolved once when the session is created.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { AutotuneError } from '../errors.js';
import { attentionFactsFromConfig } from '../tuner/model-config.js';
import {
  canonicalArg,
  engineValue,
  FAILURE_CLASSES,
  type Axis,
  type EnginePoint,
  type EngineSpace,
  type EngineValue,
  type FailureClass,
  type SearchMode,
  type Tier,
} from '../tuner/spaces/engine.js';

/** What the user asked for, before the checks' facts are looked up. */
export interface EngineRequest {
  readonly tiers: readonly Tier[];
  /** Null: the default (coordinate; grid for a sweep file). */
  readonly search: SearchMode | null;
  readonly operators: boolean;
  readonly retry: readonly FailureClass[];
  /** GPUs the session may use; null: CUDA_VISIBLE_DEVICES, else unchecked. */
  readonly gpus: number | null;
  /** The model's config.json; null: the `--model` directory's, when there is one. */
  readonly modelConfig: string | null;
  /** What reading the study's file set aside, said once when the session starts. */
  readonly notes: readonly string[];
}

const usage = (message: string): AutotuneError => new AutotuneError('E_USAGE', message);

/** A list value written on the command line: numbers as numbers, `none` as no argument. */
function flagValue(text: string): EngineValue {
  const t = text.trim();
  if (/^-?\d+(\.\d+)?$/.test(t)) return Number(t);
  if (/^(true|false)$/i.test(t)) return t.toLowerCase() === 'true';
  return engineValue(t);
}

/**
 * `--autotune-axis [TIER:]NAME=V1,V2,...`: an axis of tier TIER (default `0`); tiers run in the
 * order they are first named. A value holding commas (a JSON speculative config) goes in a job file.
 */
export function axisTiers(specs: readonly string[]): Tier[] {
  const tiers = new Map<string, Axis[]>();
  for (const spec of specs) {
    const eq = spec.indexOf('=');
    const head = eq > 0 ? spec.slice(0, eq) : '';
    const colon = head.indexOf(':');
    const tier = colon >= 0 ? head.slice(0, colon).trim() : '0';
    const name = canonicalArg(colon >= 0 ? head.slice(colon + 1) : head);
    const values = eq > 0 ? spec.slice(eq + 1).split(',').filter((v) => v.trim() !== '').map(flagValue) : [];
    if (!/^[a-z0-9][a-z0-9-]*$/.test(name) || tier === '' || values.length === 0) {
      throw usage(`\`--autotune-axis\` takes [TIER:]NAME=V1,V2 (e.g. max-num-seqs=256,512 or 1:gpu-memory-utilization=0.9,0.95), got \`${spec}\``);
    }
    const axes = tiers.get(tier) ?? [];
    if (axes.some((a) => a.name === name)) throw usage(`\`--autotune-axis\`: ${name} is given twice for tier ${tier}`);
    tiers.set(tier, [...axes, { name, values }]);
  }
  return [...tiers].map(([name, axes]) => ({ name, axes, fixed: {}, independent: false }));
}

export function parseRetryFailures(text: string, flag: string): FailureClass[] {
  const words = text.split(',').map((w) => w.trim().toLowerCase()).filter((w) => w !== '');
  if (words.length === 1 && words[0] === 'none') return [];
  const bad = words.find((w) => !(FAILURE_CLASSES as readonly string[]).includes(w));
  if (bad !== undefined || words.length === 0) throw usage(`\`${flag}\` takes failure classes from ${FAILURE_CLASSES.join(', ')} (comma-separated) or none, got \`${text}\``);
  return [...new Set(words)] as FailureClass[];
}

/** The job file's `engine` block as it passed the schema (configs/job.schema.json). */
export interface EngineBlock {
  readonly search?: SearchMode;
  readonly operators?: boolean;
  readonly retry_failures?: readonly FailureClass[];
  readonly gpus?: number;
  readonly model_config?: string;
  readonly tiers: readonly { readonly name?: string; readonly axes: Readonly<Record<string, readonly unknown[]>> }[];
}

export function engineFromBlock(block: EngineBlock): EngineRequest {
  return {
    tiers: block.tiers.map((t, i) => ({
      name: t.name ?? String(i),
      axes: Object.entries(t.axes).map(([name, values]) => ({ name: canonicalArg(name), values: values.map(engineValue) })),
      fixed: {},
      independent: false,
    })),
    search: block.search ?? null,
    operators: block.operators ?? false,
    retry: block.retry_failures ?? [],
    gpus: block.gpus ?? null,
    modelConfig: block.model_config ?? null,
    notes: [],
  };
}

const NO_REQUEST: EngineRequest = { tiers: [], search: null, operators: false, retry: [], gpus: null, modelConfig: null, notes: [] };

/**
 * The file's request with the command line on top: `--autotune-axis` adds axes (to the tier of
 * that name, else a new tier after the file's), `--autotune-search` and `--retry-failures`
 * replace the file's. Null when nothing asks for an engine study.
 */
export function engineRequestOf(o: {
  readonly engine: EngineRequest | null;
  readonly engineAxes: readonly string[];
  readonly engineSearch: SearchMode | null;
  readonly retryFailures: readonly FailureClass[] | null;
}): EngineRequest | null {
  const flagTiers = axisTiers(o.engineAxes);
  if (o.engine === null && flagTiers.length === 0) {
    if (o.engineSearch !== null || o.retryFailures !== null) throw usage('`--autotune-search` and `--retry-failures` belong to an engine study: add `--autotune-axis NAME=V1,V2` or a job file `engine` block');
    return null;
  }
  const base = o.engine ?? NO_REQUEST;
  const tiers = [...base.tiers];
  for (const t of flagTiers) {
    const i = tiers.findIndex((x) => x.name === t.name);
    const same = tiers[i];
    if (same === undefined) tiers.push(t);
    else tiers[i] = { ...same, axes: [...same.axes.filter((a) => !t.axes.some((b) => b.name === a.name)), ...t.axes] };
  }
  return { ...base, tiers, search: o.engineSearch ?? base.search, retry: o.retryFailures ?? base.retry };
}

/** Engine arguments among the pass-through ones that the checks read: `--name value`, `--name=value`, `--flag`, `--no-flag`. */
export function passthroughPoint(args: readonly string[]): EnginePoint {
  const out: Record<string, EngineValue> = {};
  for (let i = 0; i < args.length; i++) {
    const word = args[i] as string;
    if (!word.startsWith('-') || /^-\d/.test(word)) continue;
    const eq = word.indexOf('=');
    const raw = eq > 0 ? word.slice(0, eq) : word;
    if (raw.startsWith('--no-')) {
      out[canonicalArg(raw.slice(5))] = false;
      continue;
    }
    const name = canonicalArg(raw);
    const next = args[i + 1];
    if (eq > 0) out[name] = flagValue(word.slice(eq + 1));
    else if (next === undefined || (next.startsWith('-') && !/^-\d/.test(next))) out[name] = true;
    else {
      out[name] = flagValue(next);
      i += 1;
    }
  }
  return out;
}

function readConfig(path: string): unknown {
  try {
    return JSON.parse(readFileSync(path, 'utf8'));
  } catch (error) {
    throw new AutotuneError('E_CONFIG', `cannot read the model config ${path}: ${(error as Error).message.split('\n')[0]}`);
  }
}

function visibleGpus(env: NodeJS.ProcessEnv): number | null {
  const list = env['CUDA_VISIBLE_DEVICES'];
  if (list === undefined) return null;
  return list.split(',').filter((d) => d.trim() !== '' && d.trim() !== '-1').length;
}

/**
 * The config.json of a model named by its Hugging Face id, from the local hub cache vLLM
 * downloads into: the revision `refs/main` names, else the only snapshot there is.
 */
function hubConfig(model: string, env: NodeJS.ProcessEnv): string | null {
  if (!/^[\w.-]+\/[\w.-]+$/.test(model)) return null;
  const hub = env['HF_HUB_CACHE'] ?? join(env['HF_HOME'] ?? join(env['HOME'] ?? homedir(), '.cache', 'huggingface'), 'hub');
  const repo = join(hub, `models--${model.replace('/', '--')}`);
  const ref = join(repo, 'refs', 'main');
  const snapshots = join(repo, 'snapshots');
  if (!existsSync(snapshots)) return null;
  const revisions = existsSync(ref) ? [readFileSync(ref, 'utf8').trim()] : readdirSync(snapshots);
  const config = revisions.length === 1 ? join(snapshots, revisions[0] as string, 'config.json') : null;
  return config !== null && existsSync(config) ? config : null;
}

/** The model's config.json: the one the request names, the model directory's, else the hub cache's. */
function modelConfigPath(request: EngineRequest, model: string | null, env: NodeJS.ProcessEnv): string | null {
  if (request.modelConfig !== null) return request.modelConfig;
  if (model === null) return null;
  if (existsSync(join(model, 'config.json'))) return join(model, 'config.json');
  return hubConfig(model, env);
}

const num = (v: EngineValue | undefined): number | null => (typeof v === 'number' ? v : null);

/** The study's space: the request plus the facts its points are checked against. */
export function resolveEngineSpace(request: EngineRequest, passthrough: readonly string[], env: NodeJS.ProcessEnv): EngineSpace {
  if (request.tiers.length === 0 || request.tiers.every((t) => t.axes.length === 0 && Object.keys(t.fixed).length === 0)) {
    throw usage('an engine study needs at least one axis (`--autotune-axis max-num-seqs=256,512` or a job file `engine.tiers`)');
  }
  const base = passthroughPoint(passthrough);
  const model = typeof base['model'] === 'string' ? base['model'] : null;
  const configPath = modelConfigPath(request, model, env);
  const shape = configPath === null ? null : attentionFactsFromConfig(readConfig(configPath), configPath);
  return {
    tiers: request.tiers,
    search: request.search ?? 'coordinate',
    operators: request.operators,
    limits: {
      numHeads: shape?.numHeads ?? null,
      gpus: request.gpus ?? visibleGpus(env),
      maxModelLen: shape?.maxModelLen ?? null,
      inputLen: num(base['input-len']),
      outputLen: num(base['output-len']),
    },
    base,
    retry: request.retry,
  };
}
