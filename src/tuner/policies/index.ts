/** Policies by name (the CLI defaults to noise-aware). */
import type { Policy } from '../policy.js';
import type { PolicyName } from '../types.js';
import { noiseAwarePolicy } from './noise-aware.js';
import { referencePolicy } from './reference.js';
import { screeningPolicy } from './screening.js';

/** What the CLI runs without --policy. */
export const DEFAULT_POLICY: PolicyName = 'noise-aware';

export const POLICIES: Readonly<Record<PolicyName, Policy>> = {
  reference: referencePolicy,
  'noise-aware': noiseAwarePolicy,
  screening: screeningPolicy,
};
