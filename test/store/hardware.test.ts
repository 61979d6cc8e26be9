/** session_hardware: one capture per session, the first one kept. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { openStore } from '../../src/store/db.js';
import { hasHardware, loadHardware, saveHardware } from '../../src/store/hardware.js';
import { createSession } from '../../src/store/sessions.js';
import type { HardwareInfo } from '../../src/tuner/hardware.js';

const FIRST: HardwareInfo = {
  host: 'node-a',
  gpus: [{ name: 'NVIDIA H100', driver: '550.54', memoryMiB: 81559 }],
  software: { python: '3.12', vllm: '0.11.0', plugin: null, flagGems: '3.0', torch: '2.8' },
  notes: [],
};

describe('session hardware', () => {
  it('stores the first capture and keeps it over a later one (a resume elsewhere)', () => {
    const store = openStore(':memory:');
    try {
      const { id } = createSession(store, { runDir: '/tmp/autotune-hw-run', policy: 'noise-aware', args: [], options: {}, env: {} });
      assert.equal(hasHardware(store, id), false);
      assert.equal(loadHardware(store, id), null);
      saveHardware(store, id, FIRST);
      saveHardware(store, id, { ...FIRST, host: 'node-b', gpus: [] });
      assert.equal(hasHardware(store, id), true);
      assert.deepEqual(loadHardware(store, id), FIRST);
    } finally {
      store.close();
    }
  });
});
