/** Number formatting shared by decision reasons and summaries. */

export function pct(x: number, digits = 2): string {
  const sign = x > 0 ? '+' : '';
  return `${sign}${(x * 100).toFixed(digits)}%`;
}

/** A spread or a proportion, which has no direction: `0.64%`. */
export function percent(x: number, digits = 2): string {
  return `${(x * 100).toFixed(digits)}%`;
}

export function describeSet(opBackends: Readonly<Record<string, string>>): string {
  const entries = Object.entries(opBackends);
  return entries.length === 0 ? '(none)' : entries.map(([op, backend]) => `${op}=${backend}`).join(', ');
}
