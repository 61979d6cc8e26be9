/** Runners by the name stored with each run's handle, so a run is reaped by the runner that ran it. */
import { AutotuneError } from '../errors.js';
import type { Runner } from '../tuner/ports.js';
import { LocalRunner } from './local.js';
import { SlotRunner } from './slots.js';

const FACTORIES: Readonly<Record<string, () => Runner>> = {
  local: () => new SlotRunner(new LocalRunner()),
};

export function createRunner(name = 'local'): Runner {
  const make = FACTORIES[name];
  if (make === undefined) throw new AutotuneError('E_CONFIG', `unknown runner '${name}' (known: ${Object.keys(FACTORIES).join(', ')})`);
  return make();
}
