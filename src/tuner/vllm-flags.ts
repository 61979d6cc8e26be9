/** Reading vLLM arguments as argparse does: the last of `--flag V`, `--flag=V`, with `_` as `-` in long names. Pure. */

/** The value of the last occurrence of any of `flags`, or null when none carries one. */
export function lastFlagValue(args: readonly string[], flags: readonly string[]): string | null {
  let value: string | null = null;
  args.forEach((arg, i) => {
    const eq = arg.indexOf('=');
    const raw = eq === -1 ? arg : arg.slice(0, eq);
    const name = raw.startsWith('--') ? raw.replace(/_/g, '-') : raw;
    if (!flags.includes(name)) return;
    const text = eq === -1 ? args[i + 1] : arg.slice(eq + 1);
    if (text !== undefined) value = text;
  });
  return value;
}
