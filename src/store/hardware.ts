/** The session_hardware row: what the machine was when a session first started. */
import type { HardwareInfo } from '../tuner/hardware.js';
import type { Store } from './db.js';

/** The first capture wins: a resume on another node does not rewrite where the session began. */
export function saveHardware(store: Store, sessionId: string, hardware: HardwareInfo): void {
  store
    .statement('INSERT OR IGNORE INTO session_hardware (session_id, captured_at, hardware_json) VALUES (?, ?, ?)')
    .run(sessionId, store.now(), JSON.stringify(hardware));
}

export function hasHardware(store: Store, sessionId: string): boolean {
  return store.statement('SELECT 1 FROM session_hardware WHERE session_id = ?').get(sessionId) !== undefined;
}

export function loadHardware(store: Store, sessionId: string): HardwareInfo | null {
  const row = store.statement('SELECT hardware_json FROM session_hardware WHERE session_id = ?').get(sessionId) as
    | { hardware_json: string }
    | undefined;
  return row === undefined ? null : (JSON.parse(row.hardware_json) as HardwareInfo);
}
