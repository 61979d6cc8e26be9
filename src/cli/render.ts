/** Human-readable console lines for engine events. Formatting only; no decisions. */
import { kindInfo } from '../tuner/spaces/kinds.js';
import type { EngineEvent } from '../tuner/session.js';
import type { FinalResult } from '../tuner/policy.js';
import { metricInfo, OUTPUT_TOKENS_PER_S, TOTAL_TOKENS_PER_S, type Measurement } from '../tuner/metrics.js';
import { OPERATOR_STAGE_ORDER, OPERATOR_STAGES } from '../tuner/spaces/operators.js';
import type { RoundId, TrialSpec } from '../tuner/types.js';

/** Titles of the FlagGems rounds (the operator space's stages); other search spaces' rounds print their id. */
export const ROUND_TITLES: Readonly<Record<RoundId, string>> = Object.fromEntries(OPERATOR_STAGE_ORDER.map((s) => [s.round, s.title]));

/** The screening policy's design runs (prefix `screen`): its round 2, in place of one operator at a time. */
const SCREEN_PREFIX = 'screen';
const SCREEN_TITLE = 'Round 2: Screening (operators in groups)';

/** The round a trial's runs are shown under. */
export function shownRound(trial: Pick<TrialSpec, 'round' | 'prefix'>): RoundId {
  return trial.prefix === SCREEN_PREFIX ? OPERATOR_STAGES.op.round : trial.round;
}

/** The title of the stage a trial belongs to. */
export function stageTitle(trial: Pick<TrialSpec, 'round' | 'prefix'>): string {
  if (trial.prefix === SCREEN_PREFIX) return SCREEN_TITLE;
  return ROUND_TITLES[trial.round] ?? `Round ${trial.round}`;
}

function pct(x: number): string {
  return `${x >= 0 ? '+' : ''}${(x * 100).toFixed(2)}%`;
}

/** One console line of a run's result: latency when measured, else throughput as release 0.1.0 printed it, else every metric by name. */
function describeMeasurement(m: Measurement): string {
  const avg = m['latency_avg_s'];
  if (avg !== undefined) {
    const p99 = m['latency_p99_s'];
    const output = m[OUTPUT_TOKENS_PER_S];
    return `avg=${avg.toFixed(4)} s${p99 === undefined ? '' : `, p99=${p99.toFixed(4)} s`}${output === undefined ? '' : `, output=${output.toFixed(2)} tok/s`}`;
  }
  const total = m[TOTAL_TOKENS_PER_S];
  if (total !== undefined) {
    const output = m[OUTPUT_TOKENS_PER_S];
    return `total=${total.toFixed(2)} tok/s${output === undefined ? '' : `, output=${output.toFixed(2)} tok/s`}`;
  }
  return Object.entries(m)
    .map(([name, v]) => `${name}=${v.toFixed(4)}${metricInfo(name) === undefined ? '' : ` ${metricInfo(name)?.unit ?? ''}`}`)
    .join(', ');
}

function trialName(t: TrialSpec): string {
  if (t.label !== undefined) return t.label;
  if (t.op !== null) return `${t.op} (${t.backend}${t.attention === null ? '' : `, ${t.attention}`})`;
  if (kindInfo(t.kind).role === 'combined') return `${t.prefix} [${Object.entries(t.opBackends).map(([op, b]) => `${op}:${b}`).join(', ')}]`;
  return t.prefix;
}

/** `operators`: the session chose an operator set (a sweep only measures, and writes no best_config.yaml). */
export function finalSummary(r: FinalResult, operators = true): string[] {
  const ops = Object.entries(r.opBackends);
  const lines = ['=== Summary ==='];
  lines.push(...r.summary);
  if (!operators) return lines;
  lines.push(
    ops.length === 0
      ? 'best_config.yaml: no operators (serve without FlagGems operator overrides)'
      : `best_config.yaml: ${ops.map(([op, b]) => `${op}=${b}`).join(', ')}${r.validated ? ' (validated as a set)' : ' (not validated as a set)'}`,
  );
  if (r.speedup !== null) {
    const interval = r.low !== null && r.high !== null ? ` [${pct(r.low)}, ${pct(r.high)}]` : '';
    lines.push(`speed-up vs baseline: ${pct(r.speedup)}${interval}`);
  }
  return lines;
}

const ROUND_ORDER: readonly RoundId[] = OPERATOR_STAGE_ORDER.map((s) => s.round);

/** Headers print once per round; a baseline anchor measured later does not reopen round 1a. */
export function createRenderer(write: (line: string) => void, operators = true): (event: EngineEvent) => void {
  let round = -1;
  /** The last run started: a result printed right after it needs no name, one of another run in flight does. */
  let lastStarted: number | null = null;
  return (event) => {
    switch (event.type) {
      case 'replayed':
        write(`Resuming: ${event.runs} completed runs restored from the database`);
        return;
      case 'run-start': {
        const index = ROUND_ORDER.indexOf(shownRound(event.trial));
        if (index > round) {
          round = index;
          write(`=== ${stageTitle(event.trial)} ===`);
        }
        const which = event.kind === 'warmup' ? `warm-up ${event.warmupIndex ?? ''}`.trim() : 'benchmark';
        write(`[${String(event.seq).padStart(4, '0')}] ${trialName(event.trial)}: ${which} -> ${event.logPath}`);
        lastStarted = event.seq;
        return;
      }
      case 'run-end': {
        const r = event.result;
        const secs = (r.durationMs / 1000).toFixed(1);
        const lead = event.seq === lastStarted ? '       ' : `[${String(event.seq).padStart(4, '0')}] ${trialName(event.trial)}: `;
        lastStarted = null;
        if (r.outcome === 'ok' && r.metrics !== null) {
          write(`${lead}${describeMeasurement(r.metrics)} (${secs} s)`);
        } else {
          write(`${lead}${r.outcome}${r.failure === null ? '' : `: ${r.failure}`} (${secs} s)`);
        }
        return;
      }
      case 'policy': {
        const e = event.event;
        if (e.type === 'decision') {
          const est = e.estimate === null ? 'n/a' : pct(e.estimate);
          const ci = e.low !== null && e.high !== null ? ` [${pct(e.low)}, ${pct(e.high)}]` : '';
          write(`  -> ${e.subject}: ${e.verdict} ${est}${ci}, ${e.runs} run(s): ${e.reason}`);
        } else if (e.type === 'ops') {
          const ops = Object.entries(e.final);
          write(`Operators to tune (${ops.length}, from ${e.source}): ${ops.map(([op, b]) => `${op}[${b.join(',')}]`).join(', ')}`);
        } else if (e.type === 'note') {
          write(`${e.level === 'warn' ? 'WARNING: ' : ''}${e.message}`);
        }
        return;
      }
      case 'done':
        for (const line of finalSummary(event.result, operators)) write(line);
        return;
      case 'stopped':
        write('Session stopped; continue it with `autotune resume`.');
        return;
    }
  };
}
