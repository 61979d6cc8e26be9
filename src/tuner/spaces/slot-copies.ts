/**
 * A configuration measured again on another slot is a trial of its own, keyed `<key>#slot<i>`
 * (a sweep's calibration copies, the reference policy's per-slot baselines): it gets its own
 * runs and file names, and the Slots table matches it with the trial it repeats.
 */
import type { TrialSpec } from '../types.js';

const COPY = /#slot(\d+)$/;

/** The trial measured again on `slot`: the same configuration, keyed and filed as a copy. */
export function slotCopy(trial: TrialSpec, slot: number, label: string | undefined = trial.label): TrialSpec {
  return { ...trial, key: `${trial.key}#slot${slot}`, prefix: `${trial.prefix}_slot${slot}`, ...(label === undefined ? {} : { label }) };
}

/** The trial a slot copy repeats (its key without `#slot<i>`); any other key unchanged. */
export function calibratedKey(key: string): string {
  return key.replace(COPY, '');
}
