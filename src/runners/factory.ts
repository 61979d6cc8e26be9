/** Runners by the name stored with each run's handle, so a run is reaped by the runner that ran it. */
import { AutotuneError } from '../errors.js';
import type { Runner } from '../tuner/ports.js';
import { LocalRunner } from './local.js';
import { gpuSlots, SlotRunner } from './slots.js';

const FACTORIES: Readonly<Record<string, (gpuGroups: readonly string[] | null) => Runner>> = {
  local: (gpuGroups) => new SlotRunner(new LocalRunner(), gpuSlots(gpuGroups)),
};

/** `gpuGroups`: the session's GPU groups, one slot each; null: one slot on the inherited devices. */
export function createRunner(name = 'local', gpuGroups: readonly string[] | null = null): Runner {
  const make = FACTORIES[name];
  if (make === undefined) throw new AutotuneError('E_CONFIG', `unknown runner '${name}' (known: ${Object.keys(FACTORIES).join(', ')})`);
  return make(gpuGroups);
}
