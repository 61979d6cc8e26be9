/**
 * Tiered engine-parameter search. Tiers run in order; each searches its axes with the winners
 * of the tiers before it fixed, and an optional last tier runs the operator search (the
 * noise-aware policy) on the winning engine configuration.
 *
 * Within a tier the default search is coordinate-wise: along one axis at a time it walks from
 * the current value towards its neighbours while a neighbour is better beyond the noise, and
 * stops at the first that is not: throughput is usually unimodal in batch sizes, so the walk
 * ends at the knee without measuring the values past it. An unordered axis (speculative
 * methods, KV-cache dtypes) has no such shape, so each of its values is tried. `grid` measures
 * every point.
 * Comparisons come from the noise model of the whole session (noise/estimation.ts): a close
 * call earns more runs of the two points, up to a cap, and a tie keeps the incumbent.
 *
 * Each tensor-parallel size of a tier walks its own batching optimum (one pass each, a second
 * only for the best two: successive halving), the best two candidates go on to the next tier,
 * and after the last a closing pass walks every axis around them: a
 * later tier's argument can move an earlier optimum.
 *
 * Points are checked before they run (engine.ts rejectReason), and an out-of-memory failure
 * marks a memory ceiling: a point past it on the memory-monotone axes (pastCeiling: a KV-cache
 * shortage is cured, not caused, by more gpu-memory-utilization) is pruned without running.
 * Throughput objectives are compared per GPU, so a larger tensor-parallel size must pay for
 * its GPUs.
 */
import type { DoneStep, EngineAnswer, FinalResult, Policy, PolicyContext } from '../policy.js';
import type { Objective } from '../objective.js';
import {
  cartesian,
  describePoint,
  engineArgs,
  engineTrial,
  gridSize,
  pastCeiling,
  orderedValues,
  pointKey,
  rejectReason,
  startValue,
  canonicalPoint,
  gpusOf,
  isNumeric,
  valueIn,
  type Axis,
  type EnginePoint,
  type EngineSpace,
  type FailureClass,
  type MemoryCeiling,
  type Tier,
} from '../spaces/engine.js';
import { KV_CACHE_SHORTAGE, type Observation, type TrialSpec } from '../types.js';
import { InvocationBudget } from './budget.js';
import { cursorOf, EventQueue, runStep, type PolicyGenerator } from './cursor.js';
import { pct } from './format.js';
import { interval } from './noise/decision-rule.js';
import { Ledger, type Comparison } from './noise/estimation.js';
import { noiseAwarePolicy } from './noise-aware.js';
import type { Runs } from './noise/session.js';

/** How the decisions on points that never ran begin: `status` counts them. */
export const REJECTED = 'rejected before running';
export const PRUNED = 'pruned without running';

/** One-sided z a neighbour's gain must clear to replace the incumbent. */
const Z_MOVE = 1.645;
/** Runs a point may get beyond the session's --num-runs to settle a close call. */
const EXTRA_RUNS = 2;
/** Arguments that give the KV cache more room, and the batching ones that room pays through (closing pass only). */
const CAPACITY: ReadonlySet<string> = new Set(['kv-cache-dtype', 'gpu-memory-utilization']);
const BATCHING: ReadonlySet<string> = new Set(['max-num-seqs', 'max-num-batched-tokens']);
/** Candidates carried from one tier to the next. */
const BEAM = 2;
/** Coordinate passes over a tier's axes: a second one catches axes that interact (max-num-seqs and batched tokens). */
const PASSES = 2;

export function failureClass(outcome: Observation['outcome']): FailureClass | null {
  switch (outcome) {
    case 'ok':
      return null;
    case 'oom':
      return 'oom';
    case 'timeout':
      return 'timeout';
    case 'engine_failure':
      return 'engine';
    case 'nonzero_exit':
    case 'spawn_error':
      return 'exit';
    case 'no_result':
      return 'no-result';
  }
}

type PointState = 'ok' | 'failed' | 'rejected' | 'pruned';

interface PointRecord {
  readonly point: EnginePoint;
  readonly trial: TrialSpec;
  readonly tier: string;
  state: PointState | null;
  invocations: number;
  reason: string | null;
}

/** Every run of the session, scored per GPU, and the noise model over them once the default configuration is known. */
class Book {
  private readonly pending: { observation: Observation; label: string }[] = [];
  private ledger: Ledger | null = null;

  constructor(private readonly objective: Objective) {}

  record(observation: Observation, gpus: number): void {
    const scored = perGpu(this.objective, observation, gpus);
    if (this.ledger === null) this.pending.push({ observation: scored, label: scored.trialKey });
    else this.ledger.record(scored, false);
  }

  setBaseline(key: string): void {
    if (this.ledger !== null) return;
    this.ledger = new Ledger(this.objective, key);
    for (const p of this.pending) this.ledger.record(p.observation, false, p.label);
    this.pending.length = 0;
  }

  get baseline(): string | null {
    return this.ledger?.baselineKey ?? null;
  }

  /** Log-difference vs the default configuration; the default itself is 0 with no error of its own. */
  compare(key: string): Comparison | null {
    if (this.ledger === null) return null;
    if (key === this.ledger.baselineKey) return { delta: 0, se: 0, runs: this.ledger.samplesOf(key) };
    return this.ledger.compare(key);
  }

  samples(key: string): number {
    return this.ledger?.samplesOf(key) ?? 0;
  }
}

/** Throughput is compared per GPU; other objectives (latency) as they are. */
function perGpu(objective: Objective, o: Observation, gpus: number): Observation {
  const value = o.metrics?.[objective.metric];
  if (o.metrics === null || value === undefined || objective.direction !== 'maximize' || gpus <= 1) return o;
  return { ...o, metrics: { ...o.metrics, [objective.metric]: value / gpus } };
}

class TierSearch {
  readonly events = new EventQueue();
  readonly budget: InvocationBudget;
  readonly book: Book;
  readonly points = new Map<string, PointRecord>();
  /** Configurations that ran out of memory: the ceilings. */
  readonly ceilings: MemoryCeiling[] = [];

  constructor(
    readonly ctx: PolicyContext,
    readonly space: EngineSpace,
  ) {
    this.budget = new InvocationBudget(ctx.budget);
    this.book = new Book(ctx.objective);
  }

  private recordOf(raw: EnginePoint, tier: string): PointRecord {
    const point = canonicalPoint(raw, this.space.base);
    const key = pointKey(point);
    let r = this.points.get(key);
    if (r === undefined) {
      r = { point, trial: engineTrial(point, tier, this.book.baseline), tier, state: null, invocations: 0, reason: null };
      this.points.set(key, r);
    }
    return r;
  }

  /** A tier's new incumbent, kept until the tier closes: `status` shows the best point so far. */
  lead(point: EnginePoint, reason: string): void {
    const r = this.points.get(pointKey(point));
    if (r !== undefined && r.state === 'ok') this.decide(r, 'kept', reason);
  }

  private decide(r: PointRecord, verdict: 'kept' | 'dropped' | 'failed' | 'inconclusive', reason: string): void {
    const c = this.book.compare(r.trial.key);
    const i = c === null ? null : interval(c);
    this.events.emit({
      type: 'decision',
      subject: r.trial.key,
      op: null,
      backend: null,
      verdict,
      estimate: i?.estimate ?? null,
      low: i?.low ?? null,
      high: i?.high ?? null,
      runs: this.book.samples(r.trial.key),
      reason,
    });
  }

  /** One invocation of a point: its first is the warm-up, later ones are measurements. */
  private *invoke(r: PointRecord): Runs<Observation> {
    const first = r.invocations === 0;
    const o = yield runStep(r.trial, first ? 'warmup' : 'measure', first ? 1 : null, this.events.take());
    r.invocations += 1;
    this.budget.spend();
    this.book.record(o, gpusOf({ ...this.space.base, ...r.point }));
    return o;
  }

  /**
   * Brings a point to at least `numRuns` invocations unless it is rejected, pruned or fails;
   * a failure of a class the session retries gets one more attempt.
   */
  *evaluate(raw: EnginePoint, tier: string): Runs<PointState> {
    const r = this.recordOf(raw, tier);
    const point = r.point;
    if (r.state === 'rejected' || r.state === 'pruned' || r.state === 'failed') return r.state;
    if (r.state === null) {
      const reason = rejectReason(this.whole(point), this.space.limits);
      if (reason !== null) return this.close(r, 'rejected', `${REJECTED}: ${reason}`);
      const ceiling = this.ceilingOf(point);
      if (ceiling !== undefined) {
        const why = ceiling.kvCache ? 'leaves the KV cache no more room than' : 'needs at least the memory of';
        return this.close(r, 'pruned', `${PRUNED}: ${why} ${describePoint(ceiling.point)}, which ran out of ${ceiling.kvCache ? 'KV-cache memory' : 'memory'}`);
      }
    }
    let retried = false;
    while (r.invocations < this.ctx.numRuns && !this.budget.exhausted()) {
      const o = yield* this.invoke(r);
      const cls = failureClass(o.outcome);
      if (cls === null) continue;
      if (!retried && this.space.retry.includes(cls)) {
        retried = true;
        continue;
      }
      if (cls !== 'oom') return this.close(r, 'failed', `failed (${o.outcome.replace('_', ' ')})`);
      const kvCache = o.failure?.startsWith(KV_CACHE_SHORTAGE) ?? false;
      this.ceilings.push({ point, kvCache });
      return this.close(r, 'failed', `failed (${kvCache ? 'no room for the KV cache' : 'out of memory'}): a memory ceiling for larger memory-monotone values`);
    }
    r.state = 'ok';
    return r.state;
  }

  /** The pass-through arguments with the point on top: what the checks and the ceilings compare. */
  private whole(point: EnginePoint): EnginePoint {
    return { ...this.space.base, ...point };
  }

  /** The ceiling a point is past, if any: it would run out of memory as that one did. */
  ceilingOf(point: EnginePoint): MemoryCeiling | undefined {
    const whole = this.whole(point);
    return this.ceilings.find((c) => pastCeiling(whole, { ...c, point: this.whole(c.point) }));
  }

  private close(r: PointRecord, state: PointState, reason: string): PointState {
    r.state = state;
    r.reason = reason;
    this.decide(r, 'failed', reason);
    return state;
  }

  /** Whether `a` beats `b` beyond the noise (and by at least the minimum gain); close calls earn runs. */
  *better(a: EnginePoint, b: EnginePoint): Runs<boolean> {
    const ra = this.recordOf(a, '');
    const rb = this.recordOf(b, '');
    const threshold = Math.log1p(this.ctx.minGain);
    const cap = this.ctx.numRuns + EXTRA_RUNS;
    for (;;) {
      const ca = this.book.compare(ra.trial.key);
      const cb = this.book.compare(rb.trial.key);
      if (ca === null || cb === null) return ca !== null;
      const d = ca.delta - cb.delta;
      const se = Math.sqrt(ca.se ** 2 + cb.se ** 2);
      if (d - Z_MOVE * se > 0 && d >= threshold) return true;
      if (d + Z_MOVE * se < threshold) return false;
      const next = [ra, rb].filter((r) => r.invocations < cap).sort((x, y) => this.book.samples(x.trial.key) - this.book.samples(y.trial.key))[0];
      if (next === undefined || this.budget.exhausted()) return false;
      yield* this.invoke(next);
    }
  }

  /**
   * The default configuration: the first tier's start, with the next tensor-parallel size
   * while it cannot run (a model too large for one GPU); the noise model is anchored on it.
   */
  *findBaseline(tier: Tier, start: EnginePoint): Runs<EnginePoint | null> {
    const tpAxis = tier.axes.find((a) => a.name === 'tensor-parallel-size');
    const candidates: EnginePoint[] = [start];
    if (tpAxis !== undefined) {
      for (const v of orderedValues(tpAxis)) if (v !== start['tensor-parallel-size']) candidates.push({ ...start, 'tensor-parallel-size': v });
    }
    for (const c of candidates) {
      if ((yield* this.evaluate(c, tier.name)) !== 'ok') continue;
      const point = canonicalPoint(c, this.space.base);
      this.book.setBaseline(pointKey(point));
      this.lead(point, 'the default configuration');
      return point;
    }
    return null;
  }

  /** The best measured point of a tier by its estimate (grid search), the start if none ran. */
  bestOf(points: readonly EnginePoint[], fallback: EnginePoint): EnginePoint {
    let best = fallback;
    let bestDelta = this.deltaOf(fallback);
    for (const p of points) {
      const d = this.deltaOf(p);
      if (d !== null && (bestDelta === null || d > bestDelta)) [best, bestDelta] = [p, d];
    }
    return best;
  }

  private deltaOf(p: EnginePoint): number | null {
    const r = this.points.get(pointKey(p));
    if (r === undefined || r.state !== 'ok') return null;
    return this.book.compare(r.trial.key)?.delta ?? null;
  }

  /**
   * Walks a numeric axis from the current value while a neighbour is better; the first direction
   * that improves wins. An unordered axis (speculative methods, dtypes) has no neighbours and no
   * unimodal shape to exploit: one method losing says nothing of the next, so every value is
   * tried against the incumbent. `upward` walks only towards larger values.
   */
  *lineSearch(axis: Axis, current: EnginePoint, tier: string, companions: readonly Axis[] = [], upward = false): Runs<EnginePoint> {
    const values = orderedValues(axis);
    const at = values.indexOf(valueIn(axis, current));
    const ordered = isNumeric(axis);
    const walks = !ordered ? [values.filter((_, k) => k !== at)] : at < 0 ? [values] : upward ? [values.slice(at + 1)] : [values.slice(at + 1), values.slice(0, at).reverse()];
    let best = current;
    for (const walk of walks) {
      let moved = false;
      for (const value of walk) {
        if (this.budget.exhausted()) break;
        const candidate = canonicalPoint({ ...best, [axis.name]: value }, this.space.base);
        const state = yield* this.evaluate(candidate, tier);
        // Invalid values (tp=3 with 32 heads) are stepped over, and so are failed and pruned ones: the
        // values past a ceiling are pruned as the walk reaches them (no run), and a larger
        // gpu-memory-utilization may give a starved KV cache the room it lacked.
        if (state !== 'ok') continue;
        // A value that adds KV-cache room pays through the larger batches it allows: it is judged
        // after the batching axes have walked up from it (more room never favours smaller ones).
        let joint = candidate;
        if (CAPACITY.has(axis.name)) for (const c of companions) joint = yield* this.lineSearch(c, joint, tier, [], true);
        if (!(yield* this.better(joint, best))) {
          if (ordered) break;
          continue;
        }
        this.lead(joint, `tier ${tier} leader: beats ${describePoint(best)} beyond the noise`);
        best = joint;
        moved = true;
      }
      if (moved) break;
    }
    return best;
  }

  /** A tier's candidates from `start`: the grid's best, or the coordinate walk's end for each tensor-parallel size. */
  *searchTier(tier: Tier, start: EnginePoint): Runs<EnginePoint[]> {
    if (this.space.search === 'grid') {
      const points = cartesian(start, tier.axes).map((p) => canonicalPoint(p, this.space.base));
      let leader = start;
      for (const [i, p] of points.entries()) {
        if (this.budget.exhausted()) break;
        if ((yield* this.evaluate(p, tier.name)) !== 'ok') continue;
        const best = this.bestOf(points.slice(0, i + 1), start);
        if (pointKey(best) !== pointKey(leader)) this.lead(best, `tier ${tier.name} leader: the best estimate so far`);
        leader = best;
      }
      return [this.bestOf(points, start)];
    }
    // Each tensor-parallel size has its own batching optimum (the memory per GPU differs): the
    // other axes are walked from every size that runs, and each size's best is a candidate.
    // The closing pass only polishes its candidates: it walks tp from each like any other axis.
    const parallel = tier.name === REFINE ? undefined : tier.axes.find((a) => a.name === 'tensor-parallel-size');
    if (parallel === undefined || tier.axes.length < 2) return [yield* this.coordinate(tier.axes, start, tier.name)];
    const rest = tier.axes.filter((a) => a !== parallel);
    const found: EnginePoint[] = [];
    for (const v of orderedValues(parallel)) {
      const from = canonicalPoint({ ...start, [parallel.name]: v }, this.space.base);
      if ((yield* this.evaluate(from, tier.name)) === 'ok') found.push(yield* this.coordinate(rest, from, tier.name, 1));
    }
    if (found.length === 0) return [start];
    // Successive halving over the sizes: the later passes, which catch interacting axes, are
    // spent only on the sizes that go on to the next tier.
    const ranked = this.ranked(found);
    const polished: EnginePoint[] = [];
    for (const p of ranked.slice(0, BEAM)) polished.push(yield* this.coordinate(rest, p, tier.name, PASSES - 1));
    return [...polished, ...ranked.slice(BEAM)];
  }

  /** Coordinate passes over `axes` from `start` (measured first when it is new). */
  private *coordinate(axes: readonly Axis[], start: EnginePoint, tier: string, passes: number = PASSES): Runs<EnginePoint> {
    yield* this.evaluate(start, tier);
    let current = start;
    for (let pass = 0; pass < passes; pass++) {
      const before = pointKey(current);
      const batching = tier === REFINE ? axes.filter((a) => BATCHING.has(a.name)) : [];
      for (const axis of axes) current = yield* this.lineSearch(axis, current, tier, batching);
      if (pointKey(current) === before || axes.length < 2) break;
    }
    return current;
  }

  /** Points measured at least --num-runs times. */
  settled(): EnginePoint[] {
    return [...this.points.values()].filter((r) => r.state === 'ok' && this.book.samples(r.trial.key) >= this.ctx.numRuns).map((r) => r.point);
  }

  /** Measured points, best first by their estimate; each once. */
  ranked(points: readonly EnginePoint[]): EnginePoint[] {
    const unique = [...new Map(points.map((p) => [pointKey(p), p])).values()];
    const delta = (p: EnginePoint): number => this.deltaOf(p) ?? -Infinity;
    return unique.sort((a, b) => delta(b) - delta(a));
  }

  /** Verdicts on every measured point of a tier once its winner is known. */
  closeTier(tier: string, winner: EnginePoint): void {
    const winnerKey = pointKey(winner);
    for (const r of this.points.values()) {
      if (r.tier !== tier || r.state !== 'ok') continue;
      if (r.trial.key === winnerKey) this.decide(r, 'kept', `tier ${tier} winner`);
      else this.decide(r, 'dropped', `tier ${tier} chose ${describePoint(winner)}`);
    }
  }
}

/** The closing pass's tier name. */
const REFINE = 'refine';

/**
 * A closing coordinate pass over every tier's axes around the last winner: a later tier's
 * arguments move an earlier tier's optimum (fp8 KV doubles the room for sequences, so more of
 * them pay), which the earlier tier could not see. Only for dependent tiers searched by
 * coordinate; the walk starts at the winner, so it costs the neighbours it measures.
 */
function refinement(space: EngineSpace): Tier[] {
  if (space.search !== 'coordinate' || space.tiers.length < 2 || space.tiers.some((t) => t.independent)) return [];
  const axes = new Map<string, Axis>();
  for (const t of space.tiers) for (const a of t.axes) axes.set(a.name, a);
  return [{ name: REFINE, axes: [...axes.values()], fixed: {}, independent: false }];
}

/** A tier's start: its fixed arguments over what came before, each axis at its start value. */
function tierStart(tier: Tier, before: EnginePoint, base: EnginePoint): EnginePoint {
  const from: EnginePoint = tier.independent ? { ...tier.fixed } : { ...before, ...tier.fixed };
  const start: Record<string, EnginePoint[string]> = { ...from };
  for (const axis of tier.axes) start[axis.name] = startValue(axis, { ...base, ...from });
  return canonicalPoint(start, base);
}

function answerOf(s: TierSearch, winner: EnginePoint, baseline: EnginePoint | null): EngineAnswer {
  const c = s.book.compare(pointKey(winner));
  const i = c === null || baseline === null ? null : interval(c);
  return { args: engineArgs(winner), defaultArgs: baseline === null ? [] : engineArgs(baseline), gain: i?.estimate ?? null, low: i?.low ?? null, high: i?.high ?? null };
}

function* tiersSession(ctx: PolicyContext): PolicyGenerator {
  const space = ctx.engine;
  if (space === undefined || space.tiers.length === 0) throw new Error('tiers policy: the session has no engine space');
  const s = new TierSearch(ctx, space);
  const first = space.tiers[0] as Tier;
  const baseline = yield* s.findBaseline(first, tierStart(first, {}, space.base));
  if (baseline === null) {
    return { type: 'fail', code: 'E_NO_RESULT', message: 'no configuration of the first tier could run, the default one included (see the decisions for why)', events: s.events.take() };
  }
  const winners: { tier: string; point: EnginePoint }[] = [];
  let current = baseline;
  // The best few candidates go on to the next tier, not only the best: a later tier's argument
  // can reverse a close call of an earlier one (fp8 KV pays most where the KV cache was tightest).
  let beam: EnginePoint[] = [baseline];
  for (const tier of [...space.tiers, ...refinement(space)]) {
    const found: EnginePoint[] = [];
    const starts = tier === first ? [baseline] : tier.independent ? [tierStart(tier, {}, space.base)] : beam.map((b) => tierStart(tier, b, space.base));
    for (const start of starts) found.push(...(yield* s.searchTier(tier, start)));
    const ranked = s.ranked(found);
    const winner = ranked[0] ?? current;
    s.closeTier(tier.name, winner);
    winners.push({ tier: tier.name, point: winner });
    current = winner;
    if (!tier.independent) beam = ranked.slice(0, BEAM);
  }
  // Moves need a gain beyond the noise, so a walk can stop one close call short; the answer is
  // the best estimate over every point measured --num-runs times (and every tier's winner: a
  // sweep file's experiments each end at their own).
  const chosen = s.bestOf([...winners.map((w) => w.point), ...s.settled()], current);
  if (pointKey(chosen) !== pointKey(current)) s.lead(chosen, 'the answer: the best estimate of the points measured --num-runs times');
  const answer = answerOf(s, chosen, baseline);
  const summary: string[] = [
    `Default configuration: ${describePoint(baseline)}`,
    ...winners.map((w) => `Tier ${w.tier} winner: ${describePoint(w.point)}`),
    `Winning engine arguments: ${answer.args.length === 0 ? '(none)' : answer.args.join(' ')}`,
    answer.gain === null
      ? 'Gain over the default configuration: not measured'
      : `Gain over the default configuration${ctx.objective.direction === 'maximize' ? ' (per GPU)' : ''}: ${pct(answer.gain)} (95% interval ${pct(answer.low ?? 0)} to ${pct(answer.high ?? 0)})`,
  ];
  const states = [...s.points.values()];
  const count = (st: PointState): number => states.filter((r) => r.state === st).length;
  summary.push(
    `Points: ${count('ok')} measured, ${count('failed')} failed, ${count('pruned')} pruned past a memory ceiling, ${count('rejected')} rejected before running`,
    `Invocations: ${s.budget.used} (${space.search} search; the full grid is ${gridSize(space)} points x ${ctx.numRuns} runs = ${gridSize(space) * ctx.numRuns})`,
  );
  if (!space.operators) {
    const result: FinalResult = { opBackends: {}, attention: null, validated: false, speedup: null, low: null, high: null, summary, engine: answer };
    return { type: 'done', result, events: s.events.take() };
  }
  const done = yield* operatorTier(ctx, answer.args, s.events);
  return { ...done, result: { ...done.result, summary: [...summary, ...done.result.summary], engine: answer } };
}

/** The operator search (noise-aware policy) with the winning engine arguments on every one of its trials. */
function* operatorTier(ctx: PolicyContext, args: readonly string[], events: EventQueue): Generator<ReturnType<typeof runStep>, DoneStep, Observation> {
  const inner = noiseAwarePolicy.start(ctx);
  let step = inner.next();
  while (step.type === 'run') {
    const trial: TrialSpec = { ...step.trial, extraArgs: [...args, ...step.trial.extraArgs], round: `ops-${step.trial.round}` };
    const o = yield runStep(trial, step.kind, step.warmupIndex, [...events.take(), ...step.events]);
    step = inner.next(o);
  }
  if (step.type === 'fail') {
    return { type: 'done', result: { opBackends: {}, attention: null, validated: false, speedup: null, low: null, high: null, summary: [`Operator tier: ${step.message}`] }, events: [...events.take(), ...step.events] };
  }
  return { ...step, events: [...events.take(), ...step.events] };
}

export const tiersPolicy: Policy = {
  name: 'tiers',
  start: (context) => cursorOf(tiersSession(context)),
};
