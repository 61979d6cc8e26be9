/**
 * Which operator runs on which backend, derived from the environment and the VLLM_FL_CONFIG
 * payload exactly as vllm-plugin-FL and FlagGems would (flagos-env.md sections 1-6). Pure.
 */
import type { AttentionBackend, Backend } from '../src/tuner/types.js';
import { IMPL_ID } from './plugin-registry.js';
import type { OpSpec, Scenario } from './scenario.js';

export type PluginEnv = Readonly<Record<string, string | undefined>>;

export interface ActiveConfiguration {
  /** FlagGems loaded (USE_FLAGGEMS), whether or not it enables anything. */
  readonly flaggemsOn: boolean;
  /** Active ops and the backend each runs on, keys sorted. */
  readonly active: Readonly<Record<string, Backend>>;
  readonly attention: AttentionBackend;
  /** VLLM_FL_FLAGOS_WHITELIST when FlagGems is on, else null. */
  readonly whitelist: readonly string[] | null;
}

export type PluginError =
  | { readonly kind: 'both_lists' }
  | { readonly kind: 'no_impl_available'; readonly op: string }
  | { readonly kind: 'no_impl_selected'; readonly op: string; readonly candidates: readonly string[]; readonly order: readonly string[] };

export type Resolution =
  | { readonly ok: true; readonly config: ActiveConfiguration }
  | { readonly ok: false; readonly error: PluginError; readonly flaggemsOn: boolean };

const BACKEND_TOKENS: ReadonlySet<string> = new Set(['flagos', 'vendor', 'reference']);
const DEFAULT_ORDER: Readonly<Record<Backend, readonly Backend[]>> = {
  flagos: ['flagos', 'vendor', 'reference'],
  vendor: ['vendor', 'flagos', 'reference'],
  reference: ['reference', 'flagos', 'vendor'],
};

/** utils.py accepts `1` and `true` in any case; anything else is false. */
function flag(value: string | undefined, unset: boolean): boolean {
  return value === undefined ? unset : /^(1|true)$/i.test(value.trim());
}

/** A comma list; unset or empty means "not given". */
function list(value: unknown): string[] | null {
  const items = Array.isArray(value)
    ? value.map(String)
    : typeof value === 'string'
      ? value.split(',')
      : [];
  const names = items.map((s) => s.trim()).filter((s) => s !== '');
  return names.length > 0 ? names : null;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function asPrefer(value: unknown): Backend {
  return value === 'vendor' || value === 'reference' ? value : 'flagos';
}

/** `op_backends` entries are lists or `a|b` strings; `vendor:cuda` counts as vendor. */
function orderOf(value: unknown): string[] | null {
  const tokens = Array.isArray(value) ? value.map(String) : typeof value === 'string' ? value.split('|') : null;
  return tokens === null ? null : tokens.map((t) => t.trim());
}

function backendOfToken(token: string): Backend | null {
  const base = token.split(':')[0] ?? '';
  return BACKEND_TOKENS.has(base) ? (base as Backend) : null;
}

function attentionOf(env: PluginEnv, fallback: AttentionBackend): AttentionBackend {
  const value = env['VLLM_ATTENTION_BACKEND'];
  return value === 'FLASH_ATTN' || value === 'FLASHINFER' ? value : fallback;
}

/**
 * `config` is the parsed VLLM_FL_CONFIG file, or null when the variable is unset or the file
 * is missing; either way the policy then comes from the environment.
 */
export function resolvePlugin(s: Scenario, env: PluginEnv, config: unknown): Resolution {
  const envPrefer = env['VLLM_FL_PREFER'];
  const flaggemsOn = flag(env['USE_FLAGGEMS'], true) && (envPrefer === undefined || envPrefer === 'flagos');
  const whitelist = list(env['VLLM_FL_FLAGOS_WHITELIST']);
  const envBlacklist = list(env['VLLM_FL_FLAGOS_BLACKLIST']);
  if (whitelist !== null && envBlacklist !== null) return { ok: false, error: { kind: 'both_lists' }, flaggemsOn };

  const configSet = (env['VLLM_FL_CONFIG'] ?? '') !== '';
  const fileConfig = config === null ? null : isRecord(config) ? config : {};
  const prefer = fileConfig !== null ? asPrefer(fileConfig['prefer']) : asPrefer(envPrefer);
  // A set VLLM_FL_CONFIG replaces the platform config, blacklist included, even when it is `{}` or missing.
  const blacklist =
    envBlacklist ?? (configSet ? list(fileConfig?.['flagos_blacklist']) : [...s.platformBlacklist]) ?? [];
  const ootWhitelist = list(env['VLLM_FL_OOT_WHITELIST']);
  const ootBlacklist = list(env['VLLM_FL_OOT_BLACKLIST']) ?? list(fileConfig?.['oot_blacklist']) ?? [];
  const ootEnabled = flag(env['VLLM_FL_OOT_ENABLED'], true);
  const opBackends = isRecord(fileConfig?.['op_backends']) ? fileConfig['op_backends'] : {};

  const useFlaggemsOp = (name: string, op: OpSpec): boolean =>
    flaggemsOn && (whitelist !== null ? whitelist.includes(name) : op.executed && !blacklist.includes(name));
  const ootRegistered = (name: string): boolean =>
    ootEnabled && (ootWhitelist !== null ? ootWhitelist.includes(name) : !ootBlacklist.includes(name));

  const active: Record<string, Backend> = {};
  for (const name of Object.keys(s.ops).sort()) {
    const op = s.ops[name] as OpSpec;
    if (op.kind === 'gems') {
      if (op.effects.flagos !== undefined && useFlaggemsOp(name, op)) active[name] = 'flagos';
      continue;
    }
    if (op.kind === 'oot' && !ootRegistered(name)) continue;
    const candidates = (['flagos', 'vendor', 'reference'] as const).filter(
      (b) => op.effects[b] !== undefined && (b !== 'flagos' || useFlaggemsOp(name, op)),
    );
    if (candidates.length === 0) return { ok: false, error: { kind: 'no_impl_available', op: name }, flaggemsOn };
    const order = orderOf(opBackends[name]) ?? [...DEFAULT_ORDER[prefer]];
    const chosen = order.map(backendOfToken).find((b): b is Backend => b !== null && candidates.includes(b));
    if (chosen === undefined) {
      const ids = candidates.map((b) => IMPL_ID[b]);
      return { ok: false, error: { kind: 'no_impl_selected', op: name, candidates: ids, order }, flaggemsOn };
    }
    active[name] = chosen;
  }
  return {
    ok: true,
    config: { flaggemsOn, active, attention: attentionOf(env, s.defaultAttention), whitelist: flaggemsOn ? whitelist : null },
  };
}

/** Names FlagGems/the dispatcher would log to the enable-oplist file. */
export function executedOps(s: Scenario, c: ActiveConfiguration): string[] {
  if (!c.flaggemsOn) return [];
  return Object.keys(c.active).filter((name) => c.active[name] === 'flagos' && s.ops[name]?.oplist !== 'none');
}

/** Identity of a configuration: same signature, same physical run, same noise stream. */
export function signatureOf(r: Resolution): string {
  if (!r.ok) return `invalid:${r.error.kind}:${'op' in r.error ? r.error.op : ''}`;
  const ops = Object.entries(r.config.active).map(([op, backend]) => `${op}=${backend}`);
  return `${r.config.flaggemsOn ? 'gems' : 'nogems'}|${r.config.attention}|${ops.join(',')}`;
}
