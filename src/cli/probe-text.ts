/** How the plugin probe's outcome reads on the console, and its time limit. */
import { AutotuneError } from '../errors.js';
import { DEFAULT_PROBE_TIMEOUT_MS, type ProbeOutcome } from '../runners/python-probe.js';

/** AUTOTUNE_PROBE_TIMEOUT (seconds) bounds the probe; importing vLLM and torch can take a while. */
export function probeTimeoutMs(env: NodeJS.ProcessEnv): number {
  const raw = env['AUTOTUNE_PROBE_TIMEOUT'];
  if (raw === undefined || raw.trim() === '') return DEFAULT_PROBE_TIMEOUT_MS;
  const sec = Number(raw);
  if (!Number.isFinite(sec) || sec <= 0) throw new AutotuneError('E_USAGE', `Expected AUTOTUNE_PROBE_TIMEOUT to be a number of seconds > 0, got \`${raw}\``);
  return sec * 1000;
}

export function probeSummary(outcome: ProbeOutcome): string {
  if (!outcome.ok) return outcome.notice;
  const p = outcome.probe;
  const gems = p.flaggems === null ? 'FlagGems not listed' : `FlagGems ${p.flaggems.version ?? '?'} (${p.flaggems.ops.length} operators)`;
  return `Plugin probe: python ${p.python}, vllm-plugin-FL ${p.plugin.version ?? '?'} (${Object.keys(p.plugin.backends).length} dispatch operators, ${p.plugin.oot.length} OOT), ${gems}`;
}
