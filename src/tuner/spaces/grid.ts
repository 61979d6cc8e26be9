/**
 * A grid search space as data: every workload point x operator set x engine configuration is
 * one trial. Each point is its own stage (round) whose baseline is the first operator set on
 * the first engine configuration at that point. Pure.
 */
import type { TrialSpec, WorkloadPoint } from '../types.js';
import type { KindInfo } from './kinds.js';
import { slotCopy } from './slot-copies.js';

/** A grid's trials: one workload point with one configuration each, the point the stage. */
export const GRID_KIND: KindInfo = { kind: 'point', role: 'configuration', anchor: false };

/** An operator set: the environment and VLLM_FL_CONFIG payload that select the kernels. */
export interface OperatorSet {
  readonly name: string;
  readonly env: Readonly<Record<string, string | null>>;
  readonly config: Readonly<Record<string, unknown>>;
}

/** Engine arguments added to the user's own for every point. */
export interface EngineConfig {
  readonly name: string;
  readonly args: readonly string[];
}

export interface GridPoint {
  /** Unique in the grid and file-name safe, e.g. `b8-i1024-o128`. */
  readonly key: string;
  readonly workload: WorkloadPoint;
}

export interface GridSpace {
  readonly benchmark: string;
  readonly points: readonly GridPoint[];
  /** At least one; `[DEFAULT_OPERATOR_SET]` measures with the environment as it is. */
  readonly operatorSets: readonly OperatorSet[];
  readonly engines: readonly EngineConfig[];
  /**
   * Slots to calibrate (2 or more): the grid's first trial is measured once more on every
   * other slot, as copies keyed `<key>#slot<i>` in groups of their own placed right after it,
   * so the first proposals (every slot idle) put copy i on slot i. Absent: no copies.
   */
  readonly calibrationSlots?: number;
}


function calibrationCopies(first: TrialSpec, slots: number): TrialSpec[] {
  return Array.from({ length: Math.max(0, slots - 1) }, (_, i): TrialSpec => {
    // The grid's first trial is its point's baseline, so it has none of its own to copy.
    return slotCopy(first, i + 1, `${first.label ?? first.prefix} (slot ${i + 1} calibration)`);
  });
}

/** FlagGems as the user's environment has it: nothing added, nothing removed. */
export const DEFAULT_OPERATOR_SET: OperatorSet = { name: 'default', env: {}, config: {} };
export const DEFAULT_ENGINE: EngineConfig = { name: 'default', args: [] };

/** A VLLM_FL_CONFIG payload (such as a best_config.yaml's) as an operator set, FlagGems on. */
export function flagGemsOperatorSet(name: string, config: Readonly<Record<string, unknown>>): OperatorSet {
  return { name, env: { USE_FLAGGEMS: '1' }, config };
}

function trialKey(space: GridSpace, point: GridPoint, ops: OperatorSet, engine: EngineConfig): string {
  return `${space.benchmark}:${point.key}${engine.name === DEFAULT_ENGINE.name ? '' : `:${engine.name}`}${ops.name === DEFAULT_OPERATOR_SET.name ? '' : `@${ops.name}`}`;
}

/** Point-major: every configuration of a point side by side, points in grid order. */
export function gridTrials(space: GridSpace): TrialSpec[] {
  const trials: TrialSpec[] = [];
  for (const point of space.points) {
    const first = trialKey(space, point, space.operatorSets[0] ?? DEFAULT_OPERATOR_SET, space.engines[0] ?? DEFAULT_ENGINE);
    for (const engine of space.engines) {
      for (const ops of space.operatorSets) {
        const key = trialKey(space, point, ops, engine);
        const suffix = [engine.name, ops.name].filter((n) => n !== 'default').join('_');
        trials.push({
          key,
          prefix: suffix === '' ? point.key : `${point.key}_${suffix}`,
          kind: GRID_KIND.kind,
          round: point.key,
          op: null,
          backend: null,
          attention: null,
          opBackends: {},
          env: ops.env,
          extraArgs: engine.args,
          config: ops.config,
          recordOplist: false,
          benchmark: space.benchmark,
          workload: point.workload,
          ...(key === first ? {} : { baseline: first }),
          label: `${point.key}${suffix === '' ? '' : ` (${suffix.replace('_', ', ')})`}`,
        });
      }
    }
  }
  const [head, ...rest] = trials;
  return head === undefined ? trials : [head, ...calibrationCopies(head, space.calibrationSlots ?? 0), ...rest];
}
