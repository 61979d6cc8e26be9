/** Boolean option values (`--background true`), apart from args.ts so that every verb's parser can read them cheaply. */
import { AutotuneError } from '../errors.js';

const BOOL_WORDS: Readonly<Record<string, boolean>> = { true: true, '1': true, false: false, '0': false };

/** The reference's words, any case: true/1 and false/0. Anything else is refused rather than read as false. */
export function isBoolWord(value: string): boolean {
  return value.trim().toLowerCase() in BOOL_WORDS;
}

export function parseBoolWord(value: string, flag: string): boolean {
  const b = BOOL_WORDS[value.trim().toLowerCase()];
  if (b === undefined) throw new AutotuneError('E_USAGE', `Expected \`${flag}\` to be true, 1, false or 0 (any case), got \`${value}\``);
  return b;
}
