/**
 * Decision-quality benchmark: both policies over every scenario and many seeds, in process.
 *   node dist/bench/decisions.js [--seeds N] [--scenarios a,b]
 * Regret = 1 - true throughput of the chosen set / best achievable (noise-free, warm).
 */
import { objectiveFor } from '../src/tuner/objective.js';
import { parseArgs } from 'node:util';
import { mean } from 'simple-statistics';
import { noiseAwarePolicy } from '../src/tuner/policies/noise-aware.js';
import { referencePolicy } from '../src/tuner/policies/reference.js';
import type { FinalResult, Policy, PolicyContext } from '../src/tuner/policy.js';
import { bestAchievable, groundTruthEffects, trueThroughput } from '../simulator/model.js';
import { listScenarios, loadScenario, type Scenario } from '../simulator/scenario.js';
import { runSession } from './in-process-runner.js';

const MIN_GAIN = 0.005;
const HARMFUL = -0.01;
/** The default policy's targets (see the issue): family regret, invocation ratio, harmful-kept sessions. */
const TARGET_FAMILY_REGRET = 0.01;
const TARGET_INVOCATION_RATIO = 1.5;
const TARGET_HARMFUL_SESSIONS = 0.02;

interface Score {
  readonly regret: number;
  readonly wronglyKept: number;
  readonly harmfulKept: number;
  readonly missed: number;
  readonly invocations: number;
}

function score(s: Scenario, result: FinalResult | null, invocations: number): Score {
  const chosen = result?.opBackends ?? {};
  const attention = result?.attention ?? null;
  const best = bestAchievable(s, 'total').throughput;
  const regret = 1 - trueThroughput(s, chosen, attention, 'total') / best;
  const truth = groundTruthEffects(s, attention ?? s.defaultAttention);
  let wronglyKept = 0;
  let harmfulKept = 0;
  for (const [op, backend] of Object.entries(chosen)) {
    const effect = truth[op]?.effects[backend] ?? 0;
    if (effect <= 0) wronglyKept += 1;
    if (effect <= HARMFUL) harmfulKept += 1;
  }
  let missed = 0;
  for (const [op, t] of Object.entries(truth)) {
    const gains = Object.entries(t.effects).filter(([b]) => t.fails[b as keyof typeof t.fails] === undefined);
    if (t.executed && gains.some(([, e]) => (e ?? 0) >= MIN_GAIN) && chosen[op] === undefined) missed += 1;
  }
  return { regret, wronglyKept, harmfulKept, missed, invocations };
}

interface Row {
  readonly meanRegret: number;
  readonly worstRegret: number;
  readonly wronglyKept: number;
  readonly harmfulKept: number;
  readonly harmfulSessions: number;
  readonly missed: number;
  readonly invocations: number;
}

function summarise(scores: readonly Score[]): Row {
  return {
    meanRegret: mean(scores.map((x) => x.regret)),
    worstRegret: Math.max(...scores.map((x) => x.regret)),
    wronglyKept: mean(scores.map((x) => x.wronglyKept)),
    harmfulKept: mean(scores.map((x) => x.harmfulKept)),
    harmfulSessions: scores.filter((x) => x.harmfulKept > 0).length / scores.length,
    missed: mean(scores.map((x) => x.missed)),
    invocations: mean(scores.map((x) => x.invocations)),
  };
}

const pct = (x: number): string => `${(x * 100).toFixed(2)}%`;
const pad = (x: string, n: number): string => x.padStart(n);

function printTable(title: string, rows: readonly { scenario: string; policy: string; row: Row; ratio?: string }[]): void {
  console.log(`\n${title}`);
  console.log(
    [pad('scenario', 14), pad('policy', 12), pad('mean regret', 12), pad('worst', 8), pad('wrong kept', 11), pad('harmful', 8), pad('missed', 7), pad('invocations', 12), '  default/ref (regret, invocations)'].join(' '),
  );
  for (const { scenario, policy, row, ratio } of rows) {
    console.log(
      [
        pad(scenario, 14),
        pad(policy, 12),
        pad(pct(row.meanRegret), 12),
        pad(pct(row.worstRegret), 8),
        pad(row.wronglyKept.toFixed(2), 11),
        pad(row.harmfulKept.toFixed(2), 8),
        pad(row.missed.toFixed(2), 7),
        pad(row.invocations.toFixed(1), 12),
        ratio === undefined ? '' : `  ${ratio}`,
      ].join(' '),
    );
  }
}

function ratio(a: number, b: number): string {
  return b === 0 ? (a === 0 ? '1.00' : 'inf') : (a / b).toFixed(2);
}

function main(): void {
  const { values } = parseArgs({ options: { seeds: { type: 'string', default: '20' }, scenarios: { type: 'string' } } });
  const seeds = Number(values.seeds);
  const names = values.scenarios?.split(',').filter(Boolean) ?? listScenarios();
  const free: { scenario: string; policy: string; row: Row; ratio?: string }[] = [];
  const tight: typeof free = [];
  const all: Record<'reference' | 'default' | 'budget', Score[]> = { reference: [], default: [], budget: [] };
  const verdicts: string[] = [];

  for (const name of names) {
    const base = loadScenario(name);
    const per: Record<'reference' | 'default' | 'budget', Score[]> = { reference: [], default: [], budget: [] };
    for (let seed = 1; seed <= seeds; seed++) {
      const s: Scenario = { ...base, seed: base.seed + 7919 * seed };
      const ctx: PolicyContext = { numRuns: 2, objective: objectiveFor('total'), minGain: MIN_GAIN, budget: null, seed, discovery: { explicitOps: null, configOps: null } };
      const play = (policy: Policy, c: PolicyContext): Score => {
        const { result, invocations } = runSession(policy, s, c);
        return score(s, result, invocations);
      };
      const ref = play(referencePolicy, ctx);
      per.reference.push(ref);
      per.default.push(play(noiseAwarePolicy, ctx));
      per.budget.push(play(noiseAwarePolicy, { ...ctx, budget: ref.invocations }));
    }
    const [r, d, b] = [summarise(per.reference), summarise(per.default), summarise(per.budget)];
    free.push({ scenario: name, policy: 'reference', row: r });
    free.push({ scenario: name, policy: 'noise-aware', row: d, ratio: `${ratio(d.meanRegret, r.meanRegret)}, ${ratio(d.invocations, r.invocations)}` });
    tight.push({ scenario: name, policy: 'reference', row: r });
    tight.push({ scenario: name, policy: 'noise-aware', row: b, ratio: `${ratio(b.meanRegret, r.meanRegret)}, ${ratio(b.invocations, r.invocations)}` });
    if (d.meanRegret > r.meanRegret + 1e-12) verdicts.push(`default worse than reference on ${name}`);
    if (b.meanRegret >= r.meanRegret && r.meanRegret > 0) verdicts.push(`budgeted default not below reference on ${name}`);
    for (const k of ['reference', 'default', 'budget'] as const) all[k].push(...per[k]);
  }

  printTable(`Decision quality, numRuns 2, metric total, minGain ${MIN_GAIN}, ${seeds} seeds per scenario (default budget)`, free);
  printTable('Same, noise-aware with budget = the reference\'s own invocation count', tight);
  const [r, d, b] = [summarise(all.reference), summarise(all.default), summarise(all.budget)];
  console.log('\nFamily means');
  for (const [label, row] of [['reference', r], ['noise-aware', d], ['noise-aware@ref-budget', b]] as const) {
    console.log(
      `  ${label.padEnd(24)} mean regret ${pct(row.meanRegret)}, worst ${pct(row.worstRegret)}, harmful-kept sessions ${pct(row.harmfulSessions)}, invocations ${row.invocations.toFixed(1)}`,
    );
  }
  console.log(`  invocations noise-aware/reference: ${ratio(d.invocations, r.invocations)}`);
  const family = [
    `family mean regret ${pct(d.meanRegret)} ${d.meanRegret <= TARGET_FAMILY_REGRET ? '<=' : 'MISSES'} ${pct(TARGET_FAMILY_REGRET)}`,
    `invocations ${ratio(d.invocations, r.invocations)}x the reference's ${d.invocations <= TARGET_INVOCATION_RATIO * r.invocations ? '<=' : 'MISSES'} ${TARGET_INVOCATION_RATIO}x`,
    `harmful kept in ${pct(Math.max(d.harmfulSessions, b.harmfulSessions))} of sessions ${Math.max(d.harmfulSessions, b.harmfulSessions) < TARGET_HARMFUL_SESSIONS ? '<' : 'MISSES'} ${pct(TARGET_HARMFUL_SESSIONS)}`,
  ];
  console.log(`  targets for the family: ${family.join('; ')}`);
  console.log(verdicts.length === 0 ? '  targets per scenario: met' : `  targets per scenario missed: ${verdicts.join('; ')}`);
}

main();
