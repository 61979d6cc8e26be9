/**
 * The FlagGems operator search space, one search space among others (grid.ts is another):
 * its stages as data (round, trial kind, title) and the trial of each, as the environment
 * vllm-plugin-FL reads, the VLLM_FL_CONFIG payload and the file prefix. The reference,
 * noise-aware and screening policies take their trials from here. Pure.
 */
import { OOT_OPS } from '../plugin-ops.js';
import { ATTENTION_BACKENDS, type AttentionBackend, type Backend, type RoundId, type TrialSpec } from '../types.js';
import type { KindInfo } from './kinds.js';
import { slotCopy } from './slot-copies.js';

/** One stage of the space: its round id, the kind of its trials (and what readers know of it) and its console title. */
export interface OperatorStage extends KindInfo {
  readonly round: RoundId;
  readonly title: string;
  /** The history.csv row its pooled runs make (operator and combined trials make their own). */
  readonly historyRow: string | null;
}

/**
 * The reference tool's rounds, in order: three baselines (1a, 1b, 1c; the first is every
 * stage's baseline), one operator on one backend (2), the kept operators together (3).
 */
export const OPERATOR_STAGES = {
  baseline: { round: '1a', kind: 'baseline', role: 'baseline', anchor: true, historyRow: 'baseline', title: 'Round 1a: Baseline (no FlagGems, no OOT)' },
  fakeGems: { round: '1b', kind: 'fake_gems', role: 'gems', anchor: false, historyRow: 'baseline_gems_fake_op', title: 'Round 1b: Baseline (gems_fake_op whitelist)' },
  gemsEnable: { round: '1c', kind: 'gems_enable', role: 'gems', anchor: false, historyRow: 'baseline_gems_enable', title: 'Round 1c: FlagGems enable-all (capture ops)' },
  op: { round: '2', kind: 'op', role: 'operator', anchor: false, historyRow: null, title: 'Round 2: Per-operator tuning' },
  combined: { round: '3', kind: 'combined', role: 'combined', anchor: false, historyRow: null, title: 'Round 3: Combined best operators' },
} as const satisfies Readonly<Record<string, OperatorStage>>;

/** The stages in the order a session runs them. */
export const OPERATOR_STAGE_ORDER: readonly OperatorStage[] = Object.values(OPERATOR_STAGES);

/** The whitelist entry that exists nowhere: loads FlagGems while enabling nothing. */
export const FAKE_GEMS_OP = 'gems_fake_op';

/**
 * Operator and backend names: FlagGems and the plugin name them as identifiers (dotted module
 * paths at most). Names end up in file names, comma-separated whitelists and YAML keys, so
 * anything else (a path separator, `..`, a comma) is refused before it gets there.
 */
const NAME_PATTERN = /^[A-Za-z_][A-Za-z0-9_.]*$/;

export function isValidName(name: string): boolean {
  return NAME_PATTERN.test(name);
}

function checkedName(name: string, what: string): string {
  if (!isValidName(name)) throw new Error(`${what} ${JSON.stringify(name)} is not an identifier`);
  return name;
}

interface Knobs {
  flaggems: boolean;
  gemsWhitelist: readonly string[];
  oot: boolean;
  ootWhitelist: readonly string[];
  attention: AttentionBackend | null;
}

/** The reference's per-invocation environment. VLLM_ATTENTION_BACKEND is only ever set, never inherited from an earlier trial. */
function pluginEnv(k: Knobs): Record<string, string | null> {
  const env: Record<string, string | null> = {
    USE_FLAGGEMS: k.flaggems ? '1' : '0',
    VLLM_FL_FLAGOS_WHITELIST: k.flaggems && k.gemsWhitelist.length > 0 ? k.gemsWhitelist.join(',') : null,
    VLLM_FL_FLAGOS_BLACKLIST: null,
    VLLM_FL_OOT_ENABLED: k.oot ? '1' : '0',
    VLLM_FL_OOT_WHITELIST: k.ootWhitelist.length > 0 ? k.ootWhitelist.join(',') : null,
  };
  if (k.attention !== null) env['VLLM_ATTENTION_BACKEND'] = k.attention;
  return env;
}

const OFF: Knobs = { flaggems: false, gemsWhitelist: [], oot: false, ootWhitelist: [], attention: null };

export function baselineTrial(): TrialSpec {
  return {
    key: 'baseline',
    prefix: 'baseline',
    kind: OPERATOR_STAGES.baseline.kind,
    round: OPERATOR_STAGES.baseline.round,
    op: null,
    backend: null,
    attention: null,
    opBackends: {},
    env: pluginEnv(OFF),
    extraArgs: [],
    config: {},
    recordOplist: false,
  };
}

/**
 * The baseline measured again on another slot, as a configuration of its own: it gets the
 * same number of runs as every operator trial on that slot (its first one cold), so the two
 * compare like for like, as round 1a and the operators do on slot 0.
 */
export function slotBaselineTrial(slot: number): TrialSpec {
  return slotCopy(baselineTrial(), slot, `baseline (slot ${slot})`);
}

export function fakeGemsTrial(): TrialSpec {
  return {
    ...baselineTrial(),
    key: 'baseline_fake_gems_op',
    prefix: 'baseline_fake_gems_op',
    kind: OPERATOR_STAGES.fakeGems.kind,
    round: OPERATOR_STAGES.fakeGems.round,
    env: pluginEnv({ ...OFF, flaggems: true, gemsWhitelist: [FAKE_GEMS_OP] }),
  };
}

export function gemsEnableTrial(): TrialSpec {
  return {
    ...baselineTrial(),
    key: 'baseline_gems_enable',
    prefix: 'baseline_gems_enable',
    kind: OPERATOR_STAGES.gemsEnable.kind,
    round: OPERATOR_STAGES.gemsEnable.round,
    env: pluginEnv({ ...OFF, flaggems: true }),
    recordOplist: true,
  };
}

/** The key of an operator trial (and of the decision on that candidate). */
export function opTrialKey(op: string, backend: Backend, attention: AttentionBackend | null): string {
  return attention === null ? `op:${op}:${backend}` : `op:${op}:${backend}:${attention}`;
}

/** The attention backend a candidate's key names, or undefined when the key is not that operator backend's. */
export function attentionOfKey(key: string, op: string, backend: Backend): AttentionBackend | null | undefined {
  return [null, ...ATTENTION_BACKENDS].find((a) => opTrialKey(op, backend, a) === key);
}

/**
 * One operator on one backend; reference-backend trials also pick the attention backend. As
 * in the reference, an operator among the plugin's OOT names (`oot`: what the probe read from
 * the installed plugin, else the built-in list) gets OOT registration on and whitelisted alone.
 */
export function opTrial(op: string, backend: Backend, attention: AttentionBackend | null = null, oot: ReadonlySet<string> = OOT_OPS): TrialSpec {
  if ((backend === 'reference') !== (attention !== null)) {
    throw new Error(`opTrial(${op}): an attention backend goes with the reference backend only`);
  }
  checkedName(op, 'operator');
  const flaggems = backend === 'flagos';
  const isOot = oot.has(op);
  const suffix = attention === null ? backend : `${backend}_${attention.toLowerCase()}`;
  return {
    key: opTrialKey(op, backend, attention),
    prefix: `op_${op}_${suffix}`,
    kind: OPERATOR_STAGES.op.kind,
    round: OPERATOR_STAGES.op.round,
    op,
    backend,
    attention,
    opBackends: { [op]: backend },
    env: pluginEnv({
      flaggems,
      gemsWhitelist: flaggems ? [op] : [],
      oot: isOot,
      ootWhitelist: isOot ? [op] : [],
      attention,
    }),
    extraArgs: [],
    config: { op_backends: { [op]: [backend] } },
    recordOplist: false,
  };
}

/**
 * Operators measured together. Unlike the reference, every flagos operator (OOT ones
 * included) is whitelisted, so FlagGems is never switched on wholesale and an OOT op's
 * flagos implementation is never left unregistered.
 */
export function combinedTrial(
  opBackends: Readonly<Record<string, Backend>>,
  prefix = 'combined_best',
  attention: AttentionBackend | null = null,
  ootNames: ReadonlySet<string> = OOT_OPS,
): TrialSpec {
  const ops = Object.keys(opBackends).map((op) => checkedName(op, 'operator'));
  const gems = ops.filter((op) => opBackends[op] === 'flagos');
  const oot = ops.filter((op) => ootNames.has(op));
  const signature = ops
    .slice()
    .sort()
    .map((op) => `${op}=${opBackends[op]}`)
    .join(',');
  return {
    key: `combined:${signature}${attention === null ? '' : `@${attention}`}`,
    prefix,
    kind: OPERATOR_STAGES.combined.kind,
    round: OPERATOR_STAGES.combined.round,
    op: null,
    backend: null,
    attention,
    opBackends: { ...opBackends },
    env: pluginEnv({ flaggems: gems.length > 0, gemsWhitelist: gems, oot: oot.length > 0, ootWhitelist: oot, attention }),
    extraArgs: [],
    config: { op_backends: Object.fromEntries(ops.map((op) => [op, [opBackends[op]]])) },
    recordOplist: false,
  };
}
