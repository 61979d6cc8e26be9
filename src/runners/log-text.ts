/** Helpers for reading a benchmark's console log as lines. Pure. */

// CSI sequences (colours, cursor moves from tqdm) and the two-byte ESC forms.
const ANSI = /\x1b\[[0-?]*[ -/]*[@-~]|\x1b[@-Z\\-_]/g;

export function stripAnsi(text: string): string {
  return text.replace(ANSI, '');
}

/**
 * Splits on `\n`, `\r\n` and a bare `\r`: tqdm redraws its bar with `\r`, so one physical
 * line can hold many progress segments followed by a real log line.
 */
export function splitLogLines(text: string): string[] {
  return stripAnsi(text).split(/\r\n|\n|\r/);
}
