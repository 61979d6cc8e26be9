/**
 * A benchmark's command line: parseArgs with `--help`, and one line and exit status 2 on a bad
 * option or value (a benchmark is a command like any other: no stack trace for a typo).
 */
import { parseArgs, type ParseArgsConfig } from 'node:util';

/** A bad value, found after parsing: `runMain` ends the benchmark with its message. */
export class UsageError extends Error {}

export function benchArgs<T extends ParseArgsConfig>(usage: string, config: T): ReturnType<typeof parseArgs<T>>['values'] {
  if (process.argv.slice(2).includes('--help')) {
    process.stdout.write(`usage: ${usage}\n`);
    process.exit(0);
  }
  try {
    return parseArgs(config).values;
  } catch (e) {
    return usageError(usage, e instanceof Error ? e.message : String(e));
  }
}

/** Runs a benchmark's main: a UsageError ends it with one line and exit status 2. */
export function runMain(usage: string, main: () => void): void {
  try {
    main();
  } catch (e) {
    if (e instanceof UsageError) usageError(usage, e.message);
    throw e;
  }
}

/** Ends the benchmark for a bad value: one line, the usage, exit status 2. */
export function usageError(usage: string, message: string): never {
  process.stderr.write(`${message}\nusage: ${usage}\n`);
  process.exit(2);
}
