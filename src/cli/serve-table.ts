/** The results table of `autotune bench serve`. Pure: lines in, lines out. */
import type { ServerMemory } from '../runners/benchmarks/serve/server-log.js';
import type { RunsDelta } from '../tuner/serve-figures.js';
import type { CaseFigures } from '../tuner/serve-report.js';

export interface TableRow {
  readonly key: string;
  readonly figures: CaseFigures;
  /** Against the baseline's runs: output tokens/s and mean TPOT. */
  readonly delta: { readonly outputTokensPerSec: RunsDelta | null; readonly tpotMeanMs: RunsDelta | null } | null;
}

const num = (v: number | null, digits = 2): string => (v === null ? '-' : v.toFixed(digits));
const pct = (v: number): string => `${v >= 0 ? '+' : ''}${(v * 100).toFixed(1)}%`;
/** `+3.2% [+1.0%, +5.1%]`: the change of the means, and the range the runs allow. */
const change = (d: RunsDelta | null): string => (d === null ? '-' : `${pct(d.delta)} [${pct(d.low)}, ${pct(d.high)}]`);
const int = (v: number | null): string => (v === null ? '-' : Math.round(v).toLocaleString('en-US'));

export function serveTable(rows: readonly TableRow[], memory: ServerMemory | null, withSlo: boolean, withBaseline: boolean): string[] {
  const header = ['case', 'runs', 'out tok/s', 'decode tok/s', 'TTFT mean', 'TTFT p99', 'TPOT mean', 'TPOT p99', 'model GiB', 'KV GiB', 'KV tokens'];
  if (withSlo) header.push('goodput req/s', 'SLO');
  if (withBaseline) header.push('vs base out', 'vs base TPOT');
  const body = rows.map((r) => {
    const f = r.figures;
    const cells = [
      r.key,
      f.failedRuns > 0 ? `${f.runs} (+${f.failedRuns} failed)` : String(f.runs),
      num(f.outputTokensPerSec),
      num(f.decodeTokensPerSec),
      num(f.ttftMeanMs),
      num(f.ttftP99Ms),
      num(f.tpotMeanMs),
      num(f.tpotP99Ms),
      num(memory?.modelMemoryGiB ?? null),
      num(memory?.kvCacheMemoryGiB ?? null),
      int(memory?.kvCacheTokens ?? null),
    ];
    if (withSlo) cells.push(num(f.goodput), f.sloMet === null ? '-' : f.sloMet ? 'met' : 'BROKEN');
    if (withBaseline) cells.push(change(r.delta?.outputTokensPerSec ?? null), change(r.delta?.tpotMeanMs ?? null));
    return cells;
  });
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((row) => (row[i] ?? '').length)));
  const line = (cells: readonly string[]): string => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i] ?? 0) : c.padStart(widths[i] ?? 0))).join('  ').trimEnd();
  return [line(header), ...body.map(line), `(latencies in ms; decode tok/s = 1000 / mean TPOT, one stream${withBaseline ? '; vs base: change of the means [lowest run vs highest baseline run, highest vs lowest]' : ''})`];
}
