/** Option names as parsers see them: how far apart two are, and what vLLM's parser reads. Pure. */

/** Optimal string alignment distance: insertions, deletions, substitutions and adjacent swaps (`polciy`). */
export { editDistance } from '../config/did-you-mean.js';

/** The option vLLM's FlexibleArgumentParser sees in `--a_b.key+=v`: `--a-b`. */
export function normalizedOption(token: string): string {
  const name = token.split('=', 1)[0] ?? token;
  const head = (name.split('.', 1)[0] ?? name).replace(/\+$/, '');
  return head.startsWith('--') ? `--${head.slice(2).replace(/_/g, '-')}` : head;
}
