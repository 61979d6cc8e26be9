/** Command line of `vllm bench throughput`. Pure. */
import type { TrialSpec } from '../../../tuner/types.js';

/** `<vllm> bench throughput <user args> <trial args> [--output-json PATH]`. */
export function benchArgv(
  passthrough: readonly string[],
  trial: Pick<TrialSpec, 'extraArgs'>,
  outputJsonPath: string | null,
): string[] {
  return [
    'bench',
    'throughput',
    ...passthrough,
    ...trial.extraArgs,
    ...(outputJsonPath === null ? [] : ['--output-json', outputJsonPath]),
  ];
}
