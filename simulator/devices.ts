/**
 * Non-identical GPUs and runs that take time, for parallel slots (one trial per GPU group).
 *
 * `VLLM_SIM_DEVICE_SPEED="2,3=0.95 7=1.02"`: the speed of the devices a run sees
 * (CUDA_VISIBLE_DEVICES). An entry naming the whole group wins; otherwise a group runs at the
 * pace of its slowest listed device (tensor parallelism waits for the slowest GPU); unlisted
 * devices run at 1. Speed multiplies throughput and divides latency, like any other constant
 * level, and is a deterministic property of the devices (no draw depends on it).
 *
 * `VLLM_SIM_SLEEP_MS=200`: every benchmark run also takes this long (divided by the speed: a
 * slower group is slower on the clock too), whatever VLLM_SIM_TIME_SCALE says.
 */
import type { PluginEnv } from './plugin.js';

const ENTRY = /^([A-Za-z0-9_.:,-]+)=(\d+(?:\.\d+)?)$/;

/** The speed table; a malformed entry is an error, so a typo never silently means "identical GPUs". */
export function parseDeviceSpeeds(value: string | undefined): Map<string, number> {
  const speeds = new Map<string, number>();
  for (const word of (value ?? '').trim().split(/\s+/)) {
    if (word === '') continue;
    const m = ENTRY.exec(word);
    const speed = Number(m?.[2]);
    if (m === null || !(speed > 0)) throw new Error(`VLLM_SIM_DEVICE_SPEED: \`${word}\` is not DEVICES=SPEED (e.g. 2,3=0.95, speed > 0)`);
    speeds.set(m[1] as string, speed);
  }
  return speeds;
}

/** The speed of the run's devices: 1 without a table or without CUDA_VISIBLE_DEVICES. */
export function deviceSpeed(env: PluginEnv): number {
  const speeds = parseDeviceSpeeds(env['VLLM_SIM_DEVICE_SPEED']);
  const group = (env['CUDA_VISIBLE_DEVICES'] ?? '').trim();
  if (speeds.size === 0 || group === '') return 1;
  const whole = speeds.get(group);
  if (whole !== undefined) return whole;
  return Math.min(1, ...group.split(',').map((d) => speeds.get(d.trim()) ?? 1));
}

/** Extra wall time of one run, in milliseconds. */
export function runSleepMs(env: PluginEnv, speed: number): number {
  const raw = env['VLLM_SIM_SLEEP_MS'];
  if (raw === undefined || raw.trim() === '') return 0;
  const ms = Number(raw);
  if (!Number.isFinite(ms) || ms < 0) throw new Error(`VLLM_SIM_SLEEP_MS: \`${raw}\` is not a number of milliseconds >= 0`);
  return ms / speed;
}
