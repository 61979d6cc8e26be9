/** Option names as parsers see them: how far apart two are, and what vLLM's parser reads. Pure. */

/** Optimal string alignment distance: insertions, deletions, substitutions and adjacent swaps (`polciy`). */
export function editDistance(a: string, b: string): number {
  const rows: number[][] = [];
  for (let i = 0; i <= a.length; i++) {
    const row: number[] = [];
    for (let j = 0; j <= b.length; j++) {
      if (i === 0 || j === 0) {
        row.push(i + j);
        continue;
      }
      const up = rows[i - 1] as number[];
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let d = Math.min((up[j] as number) + 1, (row[j - 1] as number) + 1, (up[j - 1] as number) + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d = Math.min(d, ((rows[i - 2] as number[])[j - 2] as number) + 1);
      row.push(d);
    }
    rows.push(row);
  }
  return (rows[a.length] as number[])[b.length] as number;
}

/** The option vLLM's FlexibleArgumentParser sees in `--a_b.key+=v`: `--a-b`. */
export function normalizedOption(token: string): string {
  const name = token.split('=', 1)[0] ?? token;
  const head = (name.split('.', 1)[0] ?? name).replace(/\+$/, '');
  return head.startsWith('--') ? `--${head.slice(2).replace(/_/g, '-')}` : head;
}
