/** The start-of-session probes: nvidia-smi and the Python version list, each optional and bounded. */
import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { captureHardware, parseNvidiaSmi } from '../../src/runners/hardware.js';

function binDir(scripts: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'autotune-hw-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  for (const [name, body] of Object.entries(scripts)) {
    writeFileSync(join(dir, name), `#!/bin/sh\n${body}\n`);
    chmodSync(join(dir, name), 0o755);
  }
  return dir;
}

describe('hardware capture', () => {
  it('parses nvidia-smi csv rows', () => {
    assert.deepEqual(parseNvidiaSmi('NVIDIA H100 80GB HBM3, 550.54.15, 81559\nNVIDIA H100 80GB HBM3, 550.54.15, [N/A]\n\n'), [
      { name: 'NVIDIA H100 80GB HBM3', driver: '550.54.15', memoryMiB: 81559 },
      { name: 'NVIDIA H100 80GB HBM3', driver: '550.54.15', memoryMiB: null },
    ]);
  });

  it('reads GPUs and versions from the tools on PATH', async () => {
    const dir = binDir({
      'nvidia-smi': `[ "$1" = "--query-gpu=name,driver_version,memory.total" ] || exit 9\necho "NVIDIA H200, 570.86.15, 143771"\necho "NVIDIA H200, 570.86.15, 143771"`,
      python3: `echo '{"python": "3.12.1", "vllm": "0.11.0", "plugin": "0.2.0", "flagGems": "3.0", "torch": null}'`,
    });
    const hw = await captureHardware({ PATH: dir });
    assert.equal(hw.gpus.length, 2);
    assert.deepEqual(hw.gpus[0], { name: 'NVIDIA H200', driver: '570.86.15', memoryMiB: 143771 });
    assert.deepEqual(hw.software, { python: '3.12.1', vllm: '0.11.0', plugin: '0.2.0', flagGems: '3.0', torch: null });
    assert.deepEqual(hw.notes, []);
  });

  it('turns a missing tool, garbage output and a hung probe into notes', async () => {
    const missing = await captureHardware({ PATH: binDir({}) });
    assert.deepEqual(missing.gpus, []);
    assert.equal(missing.software.vllm, null);
    assert.deepEqual([...missing.notes].sort(), ['nvidia-smi not found', 'python3 not found']);

    const odd = await captureHardware({ PATH: binDir({ 'nvidia-smi': 'echo "Failed to initialize NVML" >&2; exit 9', python3: 'echo "{\\"vllm\\": 3}"' }) });
    assert.deepEqual([...odd.notes].sort(), ['nvidia-smi failed: Failed to initialize NVML', 'python3 printed no version list']);

    const started = Date.now();
    const hung = await captureHardware({ PATH: binDir({ 'nvidia-smi': 'exec /bin/sleep 30', python3: 'exec /bin/sleep 30' }) }, { timeoutMs: 300 });
    assert.ok(Date.now() - started < 10_000);
    assert.deepEqual([...hung.notes].sort(), ['nvidia-smi did not answer within 0.3 s', 'python3 did not answer within 0.3 s']);
  });
});
