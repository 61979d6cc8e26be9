/**
 * Runs the shipped Python probe (python/plugin_probe.py) with a time limit and validates what
 * it prints. Any way it can go wrong (no interpreter, no plugin, a hang, garbage) ends in one
 * notice, and discovery then takes the log-based path.
 */
import { fileURLToPath } from 'node:url';
import { Ajv } from 'ajv';
import { execa } from 'execa';
import type { PluginProbe } from '../tuner/plugin-probe.js';

export const DEFAULT_PROBE_TIMEOUT_MS = 60_000;
export const PROBE_SCRIPT = fileURLToPath(new URL('../../../python/plugin_probe.py', import.meta.url));
const MARKER = 'AUTOTUNE_PROBE ';

export type ProbeOutcome = { readonly ok: true; readonly probe: PluginProbe } | { readonly ok: false; readonly notice: string };

interface Printed {
  python: string;
  flaggems: PluginProbe['flaggems'];
  plugin: PluginProbe['plugin'] | null;
  problems: string[];
}

const names = { type: 'array', items: { type: 'string', pattern: '^[A-Za-z0-9_.]+$' } } as const;
const validate = new Ajv().compile<Printed>({
  type: 'object',
  required: ['python', 'flaggems', 'plugin', 'problems'],
  properties: {
    python: { type: 'string' },
    flaggems: { oneOf: [{ type: 'null' }, { type: 'object', required: ['version', 'ops'], properties: { version: { type: ['string', 'null'] }, ops: names } }] },
    plugin: {
      oneOf: [
        { type: 'null' },
        {
          type: 'object',
          required: ['version', 'backends', 'oot'],
          properties: {
            version: { type: ['string', 'null'] },
            backends: { type: 'object', additionalProperties: { type: 'array', items: { enum: ['flagos', 'vendor', 'reference'] } } },
            oot: names,
          },
        },
      ],
    },
    problems: { type: 'array', items: { type: 'string' } },
  },
});

const FALLBACK = "operators come from round 1c's log and the plugin's known dispatch ops";

/**
 * The plugin registers a backend only for what FlagGems may enable, so the probe runs as
 * round 1c does: FlagGems and OOT ops on, no white- or blacklist, no VLLM_FL_CONFIG.
 */
function probeEnv(base: Readonly<Record<string, string | undefined>>): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(base)) if (v !== undefined) env[k] = v;
  for (const k of ['VLLM_FL_FLAGOS_WHITELIST', 'VLLM_FL_FLAGOS_BLACKLIST', 'VLLM_FL_OOT_WHITELIST', 'VLLM_FL_OOT_BLACKLIST', 'VLLM_FL_CONFIG']) delete env[k];
  env['USE_FLAGGEMS'] = '1';
  env['VLLM_FL_OOT_ENABLED'] = '1';
  return env;
}

export async function runPluginProbe(python: string, baseEnv: Readonly<Record<string, string | undefined>>, timeoutMs = DEFAULT_PROBE_TIMEOUT_MS): Promise<ProbeOutcome> {
  const result = await execa(python, [PROBE_SCRIPT], {
    env: probeEnv(baseEnv),
    extendEnv: false,
    reject: false,
    timeout: timeoutMs,
    forceKillAfterDelay: 2_000,
    stdin: 'ignore',
    maxBuffer: 16 * 1024 * 1024,
  });
  const fail = (why: string): ProbeOutcome => ({ ok: false, notice: `Plugin probe (${python}): ${why}; ${FALLBACK}` });
  if (result.timedOut) return fail(`no answer within ${Math.round(timeoutMs / 1000)} s`);
  if (result.failed && result.exitCode === undefined) {
    const code = (result.cause as NodeJS.ErrnoException | undefined)?.code;
    return fail(code === 'ENOENT' ? 'interpreter not found' : `could not start (${code ?? result.shortMessage})`);
  }
  const line = String(result.stdout)
    .split('\n')
    .reverse()
    .find((l) => l.startsWith(MARKER));
  let printed: unknown = null;
  try {
    printed = line === undefined ? null : JSON.parse(line.slice(MARKER.length));
  } catch {
    printed = null;
  }
  if (printed === null || !validate(printed)) {
    return fail(result.exitCode === 0 ? 'printed no readable answer' : `exited with status ${String(result.exitCode)} without an answer`);
  }
  if (printed.plugin === null) {
    const why = printed.problems.find((p) => p.startsWith('vllm_fl') || p.startsWith('dispatch')) ?? 'vllm-plugin-FL is not importable';
    return fail(`vllm-plugin-FL not usable (${why})`);
  }
  return { ok: true, probe: { python: printed.python, flaggems: printed.flaggems, plugin: printed.plugin } };
}
