/** True, noise-free effects of a configuration, in log space so they add up. Pure. */
import type { AttentionBackend, Backend } from '../src/tuner/types.js';

/** The throughput a scenario's baseline is given in. */
export type Metric = 'total' | 'output' | 'requests';
import type { ActiveConfiguration } from './plugin.js';
import type { Scenario } from './scenario.js';

/** ln(1 + relative effect) of one op on one backend; 0 when the op lacks that backend. */
export function opLogEffect(s: Scenario, op: string, backend: Backend, attention: AttentionBackend): number {
  return Math.log1p(s.ops[op]?.effects[backend]?.[attention] ?? 0);
}

export interface TrueLogEffect {
  readonly ops: number;
  readonly interactions: number;
  /** FlagGems loaded-but-idle cost, paid whenever USE_FLAGGEMS is on. */
  readonly overhead: number;
}

export function trueLogEffect(s: Scenario, c: ActiveConfiguration): TrueLogEffect {
  let ops = 0;
  for (const [op, backend] of Object.entries(c.active)) ops += opLogEffect(s, op, backend, c.attention);
  let interactions = 0;
  for (const group of s.interactions) {
    if (group.ops.every((op) => c.active[op] !== undefined)) interactions += Math.log1p(group.effect);
  }
  return { ops, interactions, overhead: c.flaggemsOn ? Math.log1p(s.flaggemsOverhead) : 0 };
}

export function baselineOf(s: Scenario, metric: Metric): number {
  switch (metric) {
    case 'total':
      return s.baseline.totalTokensPerSec;
    case 'output':
      return s.baseline.outputTokensPerSec;
    case 'requests':
      return s.baseline.requestsPerSec;
  }
}
