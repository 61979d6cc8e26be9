/** The runners a session can name, apart from their code, so option parsing loads none of it. */
export const RUNNER_NAMES = ['local', 'slurm'] as const;
export type RunnerName = (typeof RUNNER_NAMES)[number];

/** Runners that can follow a run a previous worker left in flight to its end, instead of killing it. */
export function adoptsRuns(name: string): boolean {
  return name === 'slurm';
}
