/** Options of the management verbs (list, status, stop, resume, export). Pure. */
import { AutotuneError } from '../errors.js';

export interface VerbArgs {
  readonly positional: string[];
  readonly values: Partial<Record<string, string>>;
  readonly switches: Set<string>;
}

export function parseVerbArgs(argv: readonly string[], spec: { values: readonly string[]; switches: readonly string[] }): VerbArgs {
  const out: VerbArgs = { positional: [], values: {}, switches: new Set() };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    const eq = arg.indexOf('=');
    const name = arg.startsWith('--') && eq > 0 ? arg.slice(0, eq) : arg;
    if (spec.switches.includes(arg)) {
      out.switches.add(arg);
    } else if (spec.values.includes(name)) {
      const value = name !== arg ? arg.slice(eq + 1) : argv[++i];
      if (value === undefined) throw new AutotuneError('E_USAGE', `\`${name}\` needs a value`);
      out.values[name] = value;
    } else if (arg.startsWith('-')) {
      throw new AutotuneError('E_USAGE', `unknown option \`${arg}\` (see autotune --help)`);
    } else {
      out.positional.push(arg);
    }
  }
  if (out.positional.length > 1) throw new AutotuneError('E_USAGE', `expected at most one session, got ${out.positional.join(' ')}`);
  return out;
}
