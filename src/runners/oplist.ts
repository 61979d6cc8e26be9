/**
 * Reads the FlagGems enable-oplist log (FLAGGEMS_ENABLE_OPLIST_PATH): which operators really
 * ran. Line shapes: flagos-env.md §6.3.
 */
import { readFile } from 'node:fs/promises';
import { splitLogLines } from './log-text.js';

/** `[LEVEL] dotted.logger.name: message`; the level tag is optional for robustness. */
const RECORD = /^\s*(?:\[[A-Z]+\]\s+)?([A-Za-z_][\w.]*):\s*(.*)$/;
/** FlagGems messages start with `GEMS`, MetaX builds print `METAX GEMS`. */
const GEMS_MESSAGE = /^(?:[A-Z]+\s+)?GEMS\b/;
/** Vendor-specialised kernels (`...hopper.ops.mm.general_mm`) carry the real name in `[op]: mm`. */
const OP_FIELD = /\[op\]:\s*([A-Za-z_]\w*)/;
const OP_NAME = /^[a-z_][a-z0-9_]*$/;

function opOfLine(line: string): string | null {
  const record = RECORD.exec(line);
  if (record === null) return null;
  const logger = record[1] ?? '';
  const message = record[2] ?? '';
  const lastSegment = logger.slice(logger.lastIndexOf('.') + 1);
  let op: string | null = null;
  if (logger.startsWith('flag_gems.') && GEMS_MESSAGE.test(message)) {
    op = OP_FIELD.exec(message)?.[1] ?? lastSegment;
  } else if (logger.startsWith('vllm_fl.dispatch.ops.') && message.trim().length > 0) {
    // The plugin's record of a dispatch op served by its default flagos implementation.
    op = lastSegment;
  }
  if (op === null) return null;
  const name = op.toLowerCase();
  return OP_NAME.test(name) ? name : null;
}

/** Sorted, unique, lower-case operator names; every other line is ignored. */
export function parseOplist(text: string): string[] {
  const ops = new Set<string>();
  for (const line of splitLogLines(text)) {
    const op = opOfLine(line);
    if (op !== null) ops.add(op);
  }
  return [...ops].sort();
}

/** Null when the file does not exist: FlagGems never initialised (or recorded nothing) in that run. */
export async function readOplist(path: string): Promise<string[] | null> {
  try {
    return parseOplist(await readFile(path, 'utf8'));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw error;
  }
}
