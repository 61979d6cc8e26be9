/** Options of the management verbs (list, status, stop, resume, export). Pure. */
import { AutotuneError } from '../errors.js';
import { isBoolWord, parseBoolWord } from './bool-words.js';

export interface VerbArgs {
  readonly positional: string[];
  readonly values: Partial<Record<string, string>>;
  readonly switches: Set<string>;
  /** Options followed by a boolean word (true/1/false/0, taken as their value) or by none, which means true. */
  readonly booleans: Partial<Record<string, boolean>>;
}

export interface VerbSpec {
  readonly values: readonly string[];
  readonly switches: readonly string[];
  readonly booleans?: readonly string[];
  /** How many sessions the verb names at most (1 unless given). */
  readonly positional?: number;
}

/** The tuning command's name for the database option, taken by every verb too. */
const ALIASES: Readonly<Record<string, string>> = { '--autotune-db': '--db' };

export function parseVerbArgs(argv: readonly string[], spec: VerbSpec): VerbArgs {
  const out: VerbArgs = { positional: [], values: {}, switches: new Set(), booleans: {} };
  const booleans = spec.booleans ?? [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    const eq = arg.indexOf('=');
    const raw = arg.startsWith('--') && eq > 0 ? arg.slice(0, eq) : arg;
    const name = ALIASES[raw] ?? raw;
    const inline = raw !== arg ? arg.slice(eq + 1) : undefined;
    if (spec.switches.includes(arg)) {
      out.switches.add(arg);
    } else if (booleans.includes(name)) {
      const next = argv[i + 1];
      if (inline !== undefined) out.booleans[name] = parseBoolWord(inline, name);
      else if (next !== undefined && isBoolWord(next)) {
        out.booleans[name] = parseBoolWord(next, name);
        i += 1;
      } else out.booleans[name] = true;
    } else if (spec.values.includes(name)) {
      const value = inline ?? argv[++i];
      if (value === undefined) throw new AutotuneError('E_USAGE', `\`${raw}\` needs a value`);
      out.values[name] = value;
    } else if (arg.startsWith('-')) {
      throw new AutotuneError('E_USAGE', `unknown option \`${arg}\` (see autotune --help)`);
    } else {
      out.positional.push(arg);
    }
  }
  const most = spec.positional ?? 1;
  if (out.positional.length > most) {
    throw new AutotuneError('E_USAGE', `expected at most ${most === 1 ? 'one session' : `${most} sessions`}, got ${out.positional.join(' ')}`);
  }
  return out;
}
