/**
 * The files a session leaves in its run directory, in the reference's exact formats. Each
 * write replaces the whole file atomically, so a reader or a crash never sees half a file.
 */
import { basename, join } from 'node:path';
import { stringify } from 'yaml';
import type { OpsDiscovered } from '../tuner/policy.js';
import { formatHistoryCsv, formatOpConfigJson, historyRows, opConfigEntries, type ResultsInput } from '../tuner/results.js';
import { formatSweepCsv, type SweepResultsInput } from '../tuner/sweep-results.js';
import { formatEngineHistoryCsv, type EngineHistoryInput } from '../tuner/engine-history.js';
import type { Backend } from '../tuner/types.js';
import { atomicWriteFile } from './atomic-write.js';
import { runDirPath } from './run-dir.js';

export const ARTIFACTS = {
  history: 'history.csv',
  bestConfig: 'best_config.yaml',
  bestConfigTemp: 'best_config_temp.yaml',
  opsInitial: 'autotune_ops.initial.yaml',
  ops: 'autotune_ops.yaml',
  opConfig: 'op_config.json',
  sessionLog: 'autotune.log',
  report: 'report.html',
} as const;

/**
 * PyYAML's `safe_dump(sort_keys=False)` layout: block style, sequences not indented under
 * their key, YAML 1.1 scalars (`yes`, `on` quoted) in single quotes. Operator names are
 * identifiers, for which the two libraries agree byte for byte.
 */
function safeDump(value: unknown): string {
  return stringify(value, { version: '1.1', singleQuote: true, indentSeq: false });
}

type OpBackends = Readonly<Record<string, Backend>>;

export function formatBestConfigYaml(opBackends: OpBackends): string {
  return safeDump({ op_backends: Object.fromEntries(Object.entries(opBackends).map(([op, b]) => [op, [b]])) });
}

/** A run's VLLM_FL_CONFIG payload; `{}` for the baselines. */
export function formatRunConfigYaml(config: Readonly<Record<string, unknown>>): string {
  return safeDump(config);
}

export function formatAutotuneOpsYaml(ops: Readonly<Record<string, readonly Backend[]>>): string {
  return safeDump({ action: 'auto_tune', op_backends: ops });
}

/** `--csv-path` is reduced to its base name inside the run directory, as in the reference. */
export function writeHistoryCsv(runDir: string, csvName: string, input: ResultsInput): string {
  const path = runDirPath(runDir, basename(csvName));
  atomicWriteFile(path, formatHistoryCsv(historyRows(input)));
  return path;
}

/** An engine study's history.csv: its points, named as the session's CSV. */
export function writeEngineHistoryCsv(runDir: string, csvName: string, input: EngineHistoryInput): string {
  const path = runDirPath(runDir, basename(csvName));
  atomicWriteFile(path, formatEngineHistoryCsv(input));
  return path;
}

/** A sweep's results table, named as the session's CSV (sweep.csv unless the job named another). */
export function writeSweepCsv(runDir: string, csvName: string, input: SweepResultsInput): string {
  const path = runDirPath(runDir, basename(csvName));
  atomicWriteFile(path, formatSweepCsv(input));
  return path;
}

export function writeOpConfigJson(runDir: string, input: ResultsInput): string {
  const path = join(runDir, ARTIFACTS.opConfig);
  atomicWriteFile(path, formatOpConfigJson(opConfigEntries(input)));
  return path;
}

/** best_config.yaml (final) or best_config_temp.yaml (rewritten after every operator). */
export function writeBestConfig(runDir: string, opBackends: OpBackends, which: 'final' | 'temp'): string {
  const path = join(runDir, which === 'final' ? ARTIFACTS.bestConfig : ARTIFACTS.bestConfigTemp);
  atomicWriteFile(path, formatBestConfigYaml(opBackends));
  return path;
}

export function writeRunConfig(configPath: string, config: Readonly<Record<string, unknown>>): void {
  atomicWriteFile(configPath, formatRunConfigYaml(config));
}

/** autotune_ops.initial.yaml and autotune_ops.yaml: the operator list before and after round 1c. */
export function writeAutotuneOps(runDir: string, discovered: OpsDiscovered): void {
  atomicWriteFile(join(runDir, ARTIFACTS.opsInitial), formatAutotuneOpsYaml(discovered.initial));
  atomicWriteFile(join(runDir, ARTIFACTS.ops), formatAutotuneOpsYaml(discovered.final));
}
