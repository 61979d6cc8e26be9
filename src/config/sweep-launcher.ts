/**
 * Sweep-launcher files, read as they are: `fixed_args` applied to every experiment,
 * `experiments` with a `name` and `args`, list values expanded as a cartesian product, an
 * experiment's args overriding fixed ones. Each experiment becomes an independent tier of an
 * engine study; the launcher's own keys (the script, SLURM's queue and time, dataset columns)
 * mean nothing to `vllm bench throughput` and are set aside with a note. Pure.
 */
import { AutotuneError } from '../errors.js';
import { canonicalArg, engineValue, type Axis, type EnginePoint, type EngineValue, type Tier } from '../tuner/spaces/engine.js';

/** The launcher's names for what the benchmark calls otherwise. */
const LAUNCHER_NAMES: Readonly<Record<string, string>> = {
  'model-name-or-path': 'model',
  'model-max-context': 'max-model-len',
  'max-tokens': 'output-len',
};

/** Top-level keys of a launcher file that only steer the launcher. */
const LAUNCHER_KEYS: ReadonlySet<string> = new Set(['script', 'continue_on_failure']);

export interface SweepFile {
  /** Arguments every experiment shares, for the benchmark's pass-through arguments. */
  readonly passthrough: readonly string[];
  readonly tiers: readonly Tier[];
  /** One line per key set aside. */
  readonly notes: readonly string[];
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Whether a parsed YAML document is in the launcher's format rather than a job file. */
export function isSweepLauncher(doc: unknown): boolean {
  return isRecord(doc) && doc['version'] === undefined && ('experiments' in doc || 'fixed_args' in doc);
}

function bad(file: string, what: string): never {
  throw new AutotuneError('E_CONFIG', `${file}: ${what}`);
}

interface Entry {
  readonly name: string;
  readonly value: EngineValue | readonly EngineValue[];
}

function entries(file: string, where: string, args: unknown): Entry[] {
  if (args === undefined || args === null) return [];
  if (!isRecord(args)) bad(file, `${where} must be a mapping of argument: value`);
  return Object.entries(args).map(([key, value]) => {
    const bare = canonicalArg(key);
    const name = LAUNCHER_NAMES[bare] ?? bare;
    if (Array.isArray(value)) {
      if (value.length === 0) bad(file, `${where}.${key} is an empty list`);
      return { name, value: value.map(engineValue) };
    }
    return { name, value: engineValue(value) };
  });
}

function words(name: string, value: EngineValue): string[] {
  if (value === null || value === false) return [];
  return value === true ? [`--${name}`] : [`--${name}`, String(value)];
}

/**
 * `accepts(flag)`: whether the benchmark takes an option; the others are the launcher's
 * (SLURM, dataset columns) and are set aside rather than failing every run.
 */
export function readSweepLauncher(doc: unknown, file: string, accepts: (flag: string) => boolean): SweepFile {
  if (!isRecord(doc)) bad(file, 'is not a YAML mapping');
  const notes: string[] = [];
  for (const key of Object.keys(doc)) {
    if (key === 'fixed_args' || key === 'experiments') continue;
    if (LAUNCHER_KEYS.has(key)) notes.push(`${file}: ${key} steers the sweep launcher; autotune runs the benchmark itself`);
    else bad(file, `unknown key \`${key}\` (a sweep file has fixed_args and experiments)`);
  }
  const setAside = new Set<string>();
  const keep = (e: Entry): boolean => {
    if (accepts(`--${e.name}`)) return true;
    setAside.add(e.name);
    return false;
  };
  const fixed = entries(file, 'fixed_args', doc['fixed_args']).filter(keep);
  const experiments = doc['experiments'] ?? [];
  if (!Array.isArray(experiments) || experiments.length === 0) bad(file, 'experiments must be a non-empty list');
  const passthrough = fixed.filter((e) => !Array.isArray(e.value)).flatMap((e) => words(e.name, e.value as EngineValue));
  const names = new Set<string>();
  const tiers = experiments.map((raw, i): Tier => {
    if (!isRecord(raw)) bad(file, `experiments[${i}] must be a mapping with name and args`);
    const name = typeof raw['name'] === 'string' && raw['name'].trim() !== '' ? raw['name'] : `experiment-${i + 1}`;
    if (names.has(name)) bad(file, `experiments[${i}]: the name ${name} is used twice`);
    names.add(name);
    const own = entries(file, `experiments[${i}].args`, raw['args']).filter(keep);
    // An experiment's argument replaces the fixed one of the same name, list or not.
    const merged = new Map<string, Entry>();
    for (const e of [...fixed, ...own]) merged.set(e.name, e);
    const axes: Axis[] = [];
    const point: Record<string, EngineValue> = {};
    for (const e of merged.values()) {
      if (Array.isArray(e.value)) axes.push({ name: e.name, values: e.value });
      // Scalars of fixed_args are pass-through arguments already; the experiment's own ride on its points.
      else if (own.includes(e)) point[e.name] = e.value as EngineValue;
    }
    return { name, axes, fixed: point as EnginePoint, independent: true };
  });
  if (setAside.size > 0) notes.push(`${file}: not \`vllm bench throughput\` arguments, set aside: ${[...setAside].sort().join(', ')}`);
  return { passthrough, tiers, notes };
}
