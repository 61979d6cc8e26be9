/**
 * A configuration measured again on another slot is a trial of its own, keyed `<key>#slot<i>`
 * (a sweep's calibration copies, the reference policy's per-slot baselines): it gets its own
 * runs and file names, and the Slots table matches it with the trial it repeats.
 */
const COPY = /#slot(\d+)$/;

export function slotCopyKey(key: string, slot: number): string {
  return `${key}#slot${slot}`;
}

/** The trial a slot copy repeats (its key without `#slot<i>`); any other key unchanged. */
export function calibratedKey(key: string): string {
  return key.replace(COPY, '');
}
