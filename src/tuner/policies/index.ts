/** Policies by name (the CLI default is DEFAULT_POLICY). */
import type { Policy } from '../policy.js';
import type { PolicyName } from '../types.js';
import { noiseAwarePolicy } from './noise-aware.js';
import { referencePolicy } from './reference.js';
import { sweepPolicy } from './sweep.js';
import { screeningPolicy } from './screening.js';
import { tiersPolicy } from './tiers.js';

export { DEFAULT_POLICY } from '../types.js';

export const POLICIES: Readonly<Record<PolicyName, Policy>> = {
  reference: referencePolicy,
  'noise-aware': noiseAwarePolicy,
  screening: screeningPolicy,
  sweep: sweepPolicy,
  tiers: tiersPolicy,
};
