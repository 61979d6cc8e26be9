/** The result lines `vllm bench throughput` prints at the end, in each historical format (section 3 of the notes). */
import type { SimThroughput } from './model.js';
import type { Scenario } from './scenario.js';

/** The token totals a run of `numRequests` prints; they follow the baseline's per-request shape. */
export function tokenTotals(s: Scenario, numRequests: number): { prompt: number; output: number } {
  const perRequestTotal = s.baseline.totalTokensPerSec / s.baseline.requestsPerSec;
  const perRequestOutput = s.baseline.outputTokensPerSec / s.baseline.requestsPerSec;
  return {
    prompt: Math.round(numRequests * (perRequestTotal - perRequestOutput)),
    output: Math.round(numRequests * perRequestOutput),
  };
}

export function resultLines(s: Scenario, t: SimThroughput, numRequests: number): string[] {
  const tokens = tokenTotals(s, numRequests);
  const f = (x: number): string => x.toFixed(2);
  switch (s.format) {
    case 'new':
      return [
        `Throughput: ${f(t.requestsPerSec)} requests/s, ${f(t.totalTokensPerSec)} total tokens/s, ` +
          `${f(t.outputTokensPerSec)} output tokens/s`,
        `Total num prompt tokens:  ${tokens.prompt}`,
        `Total num output tokens:  ${tokens.output}`,
      ];
    case 'old':
      return [`Throughput: ${f(t.requestsPerSec)} requests/s, ${f(t.totalTokensPerSec)} tokens/s`];
    case 'serve_legacy': {
      const row = (label: string, value: string | number): string => `${label.padEnd(40)}${value}`;
      return [
        '============ Serving Benchmark Result ============',
        row('Successful requests:', numRequests),
        row('Benchmark duration (s):', f(numRequests / t.requestsPerSec)),
        row('Total input tokens:', tokens.prompt),
        row('Total generated tokens:', tokens.output),
        row('Request throughput (req/s):', f(t.requestsPerSec)),
        row('Output token throughput (tok/s):', f(t.outputTokensPerSec)),
        row('Total Token throughput (tok/s):', f(t.totalTokensPerSec)),
        '==================================================',
      ];
    }
  }
}
