#!/usr/bin/env node
/**
 * Entry point: picks the verb, runs it, and turns errors into one line and an exit status.
 * The only place that sets the process exit status. Commands are imported lazily so that
 * `--help` stays fast.
 */
import { isAutotuneError } from '../errors.js';
import { HELP, wantsHelp } from './help.js';
import { version } from './version.js';

const VERBS = ['run', 'validate', 'resume', 'status', 'list', 'stop', 'export', 'report', 'compare', 'bench', 'sweep', 'ops'] as const;
type Verb = (typeof VERBS)[number] | 'tune';

async function dispatch(verb: Verb, args: string[]): Promise<number> {
  switch (verb) {
    case 'tune':
      return (await import('./commands/run.js')).runCommand(args, false);
    case 'run':
      return (await import('./commands/run.js')).runCommand(args, true);
    case 'validate':
      return (await import('./commands/validate.js')).validateCommand(args);
    case 'resume':
      return (await import('./commands/resume.js')).resumeCommand(args);
    case 'status':
      return (await import('./commands/status.js')).statusCommand(args);
    case 'list':
      return (await import('./commands/list.js')).listCommand(args);
    case 'stop':
      return (await import('./commands/stop.js')).stopCommand(args);
    case 'export':
      return (await import('./commands/export.js')).exportCommand(args);
    case 'report':
      return (await import('./commands/report.js')).reportCommand(args);
    case 'compare':
      return (await import('./commands/compare.js')).compareCommand(args);
    case 'bench':
      return (await import('./commands/bench.js')).benchCommand(args);
    case 'sweep':
      return (await import('./commands/sweep.js')).sweepCommand(args);
    case 'ops':
      return (await import('./commands/ops.js')).opsCommand(args);
  }
}

async function main(argv: string[]): Promise<number> {
  const first = argv[0];
  if (first === undefined || first === '--help' || first === '-h' || first === 'help') {
    process.stdout.write(HELP);
    return first === undefined ? 2 : 0;
  }
  if (first === '--version' || first === '-V') {
    process.stdout.write(`${version()}\n`);
    return 0;
  }
  // Anything that is not a verb is a tuning command line.
  const verb: Verb = (VERBS as readonly string[]).includes(first) ? (first as Verb) : 'tune';
  const rest = verb === 'tune' ? argv : argv.slice(1);
  // Help anywhere among autotune's own arguments (not after a literal `--`) runs nothing.
  if (wantsHelp(rest)) {
    process.stdout.write(HELP);
    return 0;
  }
  return dispatch(verb, rest);
}

/** Failures of the machine rather than of autotune: a full or read-only disk, a locked database. */
function environmentError(error: unknown): string | null {
  if (!(error instanceof Error)) return null;
  const code = (error as { code?: unknown }).code;
  if (error.name === 'SqliteError') return `database error (${String(code)}): ${error.message}`;
  if (typeof code === 'string' && /^E[A-Z]+$/.test(code) && 'syscall' in error) return error.message;
  return null;
}

function report(error: unknown): number {
  if (isAutotuneError(error)) {
    process.stderr.write(`autotune: ${error.message}\n`);
    return error.exitStatus;
  }
  const environment = environmentError(error);
  if (environment !== null) {
    process.stderr.write(`autotune: ${environment}\n`);
    return 1;
  }
  const debug = process.env['AUTOTUNE_DEBUG'] !== undefined && process.env['AUTOTUNE_DEBUG'] !== '';
  const message = error instanceof Error ? error.message : String(error);
  process.stderr.write(`autotune: internal error: ${message}${debug ? '' : ' (set AUTOTUNE_DEBUG=1 for details)'}\n`);
  if (debug && error instanceof Error && error.stack !== undefined) process.stderr.write(`${error.stack}\n`);
  return 70;
}

main(process.argv.slice(2)).then(
  (status) => {
    process.exitCode = status;
  },
  (error: unknown) => {
    process.exitCode = report(error);
  },
);
