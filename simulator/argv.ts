/** Reading the simulated benchmark's command line the way argparse does. */

/** Value of `--name V` or `--name=V` (underscores accepted, as vLLM's parser does), last one winning. */
export function argValue(args: readonly string[], name: string): string | null {
  let value: string | null = null;
  const canonical = (arg: string): string => arg.replace(/_/g, '-');
  args.forEach((arg, i) => {
    const eq = arg.indexOf('=');
    const flag = canonical(eq === -1 ? arg : arg.slice(0, eq));
    if (flag !== name) return;
    value = eq === -1 ? (args[i + 1] ?? null) : arg.slice(eq + 1);
  });
  return value;
}

/** Whether a store_true flag is present. */
export function argFlag(args: readonly string[], name: string): boolean {
  return args.some((arg) => arg.replace(/_/g, '-') === name);
}
