/** Runners by the name stored with each run's handle, so a run is reaped by the runner that ran it. */
import { AutotuneError } from '../errors.js';
import type { Runner } from '../tuner/ports.js';
import { LocalRunner } from './local.js';
import { gpuSlots, SlotRunner } from './slots.js';
import { DEFAULT_SLURM_OPTIONS, type SlurmOptions } from './slurm/options.js';
import { SlurmRunner } from './slurm/runner.js';

export interface RunnerSettings {
  /** Where and how SLURM jobs are submitted; reaping needs none of it. */
  readonly slurm?: SlurmOptions;
  /** The session's GPU groups, one local slot each; absent or null: one slot on the inherited devices. */
  readonly gpuGroups?: readonly string[] | null;
}

const FACTORIES: Readonly<Record<string, (s: RunnerSettings) => Runner>> = {
  local: (s) => new SlotRunner(new LocalRunner(), gpuSlots(s.gpuGroups)),
  // Slots are jobs in flight: the cluster's queue, not this machine, decides where they run.
  slurm: (s) => new SlotRunner(new SlurmRunner(s.slurm ?? DEFAULT_SLURM_OPTIONS), (s.slurm ?? DEFAULT_SLURM_OPTIONS).maxJobs),
};

export function createRunner(name = 'local', settings: RunnerSettings = {}): Runner {
  const make = FACTORIES[name];
  if (make === undefined) throw new AutotuneError('E_CONFIG', `unknown runner '${name}' (known: ${Object.keys(FACTORIES).join(', ')})`);
  return make(settings);
}
