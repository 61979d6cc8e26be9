/**
 * Captures the GPUs (nvidia-smi) and the vLLM / plugin / FlagGems versions (a Python probe)
 * when a session starts. Both are optional and bounded in time: a missing tool or a hung
 * probe becomes a note, never a failed session.
 */
import { hostname } from 'node:os';
import { Ajv } from 'ajv';
import { execa } from 'execa';
import type { GpuInfo, HardwareInfo, SoftwareVersions } from '../tuner/hardware.js';

export const PROBE_TIMEOUT_MS = 10_000;

type Env = Readonly<Record<string, string | undefined>>;

/**
 * Distribution names are tried in order; the plugin and FlagGems have shipped under more than
 * one. importlib.metadata reads versions without importing the packages (importing vLLM takes
 * seconds and may touch the GPU).
 */
const PYTHON_PROBE = `
import json, platform
from importlib import metadata
def version(*names):
    for name in names:
        try:
            return metadata.version(name)
        except Exception:
            pass
    return None
print(json.dumps({
    "python": platform.python_version(),
    "vllm": version("vllm"),
    "plugin": version("vllm-plugin-fl", "vllm_plugin_fl", "vllm-fl", "vllm_fl"),
    "flagGems": version("flag-gems", "flag_gems", "FlagGems"),
    "torch": version("torch"),
}))
`;

const nullableString = { type: ['string', 'null'] } as const;
const validateVersions = new Ajv().compile<SoftwareVersions>({
  type: 'object',
  properties: { python: nullableString, vllm: nullableString, plugin: nullableString, flagGems: nullableString, torch: nullableString },
  required: ['python', 'vllm', 'plugin', 'flagGems', 'torch'],
});

const NO_SOFTWARE: SoftwareVersions = { python: null, vllm: null, plugin: null, flagGems: null, torch: null };

/** `name, driver_version, memory.total [MiB]` rows of `--format=csv,noheader,nounits`. */
export function parseNvidiaSmi(csv: string): GpuInfo[] {
  return csv
    .split(/\r?\n/)
    .map((line) => line.split(',').map((cell) => cell.trim()))
    .filter((cells) => cells.length >= 1 && (cells[0] ?? '') !== '')
    .map((cells) => {
      const memory = Number(cells[2]);
      return {
        name: cells[0] ?? '',
        driver: cells[1] === undefined || cells[1] === '' ? null : cells[1],
        memoryMiB: Number.isFinite(memory) && cells[2] !== '' && cells[2] !== undefined ? memory : null,
      };
    });
}

function firstLine(text: string): string {
  return text.split(/\r?\n/).find((l) => l.trim() !== '')?.trim() ?? '';
}

function failure(what: string, error: unknown, timeoutMs: number): string {
  if (typeof error === 'object' && error !== null) {
    const e = error as { timedOut?: unknown; code?: unknown; stderr?: unknown; shortMessage?: unknown };
    if (e.timedOut === true) return `${what} did not answer within ${timeoutMs / 1000} s`;
    if (e.code === 'ENOENT') return `${what} not found`;
    const detail = typeof e.stderr === 'string' && e.stderr.trim() !== '' ? firstLine(e.stderr) : typeof e.shortMessage === 'string' ? e.shortMessage : '';
    return `${what} failed${detail === '' ? '' : `: ${detail}`}`;
  }
  return `${what} failed`;
}

async function probeGpus(env: Env, timeoutMs: number, notes: string[]): Promise<GpuInfo[]> {
  try {
    const r = await execa('nvidia-smi', ['--query-gpu=name,driver_version,memory.total', '--format=csv,noheader,nounits'], {
      env,
      extendEnv: false,
      timeout: timeoutMs,
      stdin: 'ignore',
    });
    const gpus = parseNvidiaSmi(r.stdout);
    if (gpus.length === 0) notes.push('nvidia-smi listed no GPU');
    return gpus;
  } catch (error) {
    notes.push(failure('nvidia-smi', error, timeoutMs));
    return [];
  }
}

async function probeSoftware(python: string, env: Env, timeoutMs: number, notes: string[]): Promise<SoftwareVersions> {
  try {
    const r = await execa(python, ['-c', PYTHON_PROBE], { env, extendEnv: false, timeout: timeoutMs, stdin: 'ignore' });
    let parsed: unknown;
    try {
      parsed = JSON.parse(firstLine(r.stdout));
    } catch {
      parsed = null;
    }
    if (!validateVersions(parsed)) {
      notes.push(`${python} printed no version list`);
      return NO_SOFTWARE;
    }
    return parsed;
  } catch (error) {
    notes.push(failure(python, error, timeoutMs));
    return NO_SOFTWARE;
  }
}

export interface CaptureOptions {
  readonly python?: string;
  readonly timeoutMs?: number;
}

/** Both probes run in parallel; each is killed after the timeout (PROBE_TIMEOUT_MS by default). */
export async function captureHardware(env: Env, options: CaptureOptions = {}): Promise<HardwareInfo> {
  const notes: string[] = [];
  const timeoutMs = options.timeoutMs ?? PROBE_TIMEOUT_MS;
  const python = options.python ?? 'python3';
  const [gpus, software] = await Promise.all([probeGpus(env, timeoutMs, notes), probeSoftware(python, env, timeoutMs, notes)]);
  return { host: hostname(), gpus, software, notes };
}
