/** GPUs one benchmark invocation occupies, and GPU-hours, from the session's vLLM arguments. Pure. */

const TP_FLAGS = new Set(['--tensor-parallel-size', '-tp']);
const PP_FLAGS = new Set(['--pipeline-parallel-size', '-pp']);
const DP_FLAGS = new Set(['--data-parallel-size', '-dp']);

/** The last value of a flag (`--flag N`, `--flag=N`; vLLM reads `_` as `-` in long names), as argparse does. */
function lastCount(args: readonly string[], flags: ReadonlySet<string>): number {
  let value = 1;
  args.forEach((arg, i) => {
    const eq = arg.indexOf('=');
    const raw = eq === -1 ? arg : arg.slice(0, eq);
    const name = raw.startsWith('--') ? raw.replace(/_/g, '-') : raw;
    if (!flags.has(name)) return;
    const text = eq === -1 ? args[i + 1] : arg.slice(eq + 1);
    const n = Number(text);
    if (text !== undefined && Number.isSafeInteger(n) && n > 0) value = n;
  });
  return value;
}

/** Tensor-parallel x pipeline-parallel x data-parallel size (1 when none is given). */
export function gpusPerRun(args: readonly string[]): number {
  return lastCount(args, TP_FLAGS) * lastCount(args, PP_FLAGS) * lastCount(args, DP_FLAGS);
}

export function gpuHours(durationMs: number, gpus: number): number {
  return (durationMs * gpus) / 3_600_000;
}
