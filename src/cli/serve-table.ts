/** The results table of `autotune bench serve`. Pure: lines in, lines out. */
import type { ServerMemory } from '../runners/benchmarks/serve/server-log.js';
import type { BaselineDelta, CaseFigures } from '../tuner/serve-report.js';

export interface TableRow {
  readonly key: string;
  readonly figures: CaseFigures;
  readonly delta: BaselineDelta | null;
}

const num = (v: number | null, digits = 2): string => (v === null ? '-' : v.toFixed(digits));
const pct = (v: number | null): string => (v === null ? '-' : `${v >= 0 ? '+' : ''}${(v * 100).toFixed(1)}%`);
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
    if (withBaseline) cells.push(pct(r.delta?.outputTokensPerSec ?? null), pct(r.delta?.tpotMeanMs ?? null));
    return cells;
  });
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((row) => (row[i] ?? '').length)));
  const line = (cells: readonly string[]): string => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i] ?? 0) : c.padStart(widths[i] ?? 0))).join('  ').trimEnd();
  return [line(header), ...body.map(line), '(latencies in ms; decode tok/s = 1000 / mean TPOT, one stream)'];
}
