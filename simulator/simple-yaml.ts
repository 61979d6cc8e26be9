/**
 * A strict parser for the small YAML subset that VLLM_FL_CONFIG files use (block mappings,
 * block or flow lists of plain scalars). It exists because importing the `yaml` package costs
 * ~45 ms per simulated run. It returns undefined for anything outside the subset, so callers
 * fall back to the full parser and results never differ from it.
 */

const KEY_LINE = /^([A-Za-z_][A-Za-z0-9_.-]*):(?: +(.*))?$/;
const PLAIN = /^[A-Za-z_][A-Za-z0-9_.:|/-]*$/;
const INTEGER = /^-?(0|[1-9][0-9]*)$/;
const DECIMAL = /^-?(0|[1-9][0-9]*)\.[0-9]+$/;

const OUTSIDE = Symbol('outside the subset');
type Parsed = unknown;

interface Line {
  readonly indent: number;
  readonly text: string;
}

function scalar(raw: string): Parsed | typeof OUTSIDE {
  const text = raw.trim();
  if (/^(null|Null|NULL|~)$/.test(text)) return null;
  if (/^(true|True|TRUE)$/.test(text)) return true;
  if (/^(false|False|FALSE)$/.test(text)) return false;
  if (INTEGER.test(text)) {
    const n = Number(text);
    return Number.isSafeInteger(n) ? n : OUTSIDE;
  }
  if (DECIMAL.test(text)) return Number(text);
  if (/^'[^']*'$/.test(text) || /^"[^"\\]*"$/.test(text)) return text.slice(1, -1);
  return PLAIN.test(text) && !/^(null|true|false)$/i.test(text) ? text : OUTSIDE;
}

function inlineValue(raw: string): Parsed | typeof OUTSIDE {
  const text = raw.trim();
  if (text.includes(' #') || text.startsWith('#')) return OUTSIDE;
  if (text === '{}') return {};
  if (text.startsWith('[') && text.endsWith(']')) {
    const inner = text.slice(1, -1).trim();
    if (inner === '') return [];
    const items = inner.split(',').map(scalar);
    return items.includes(OUTSIDE) || /[[\]{}'"]/.test(inner) ? OUTSIDE : items;
  }
  return scalar(text);
}

function parseBlock(lines: readonly Line[], start: number, indent: number): [Parsed | typeof OUTSIDE, number] {
  const first = lines[start];
  if (first === undefined) return [null, start];
  if (first.text === '-' || first.text.startsWith('- ')) {
    const items: Parsed[] = [];
    let i = start;
    for (let line = lines[i]; line !== undefined && line.indent === indent && line.text.startsWith('- '); line = lines[++i]) {
      const item = inlineValue(line.text.slice(2));
      if (item === OUTSIDE || KEY_LINE.test(line.text.slice(2).trim())) return [OUTSIDE, i];
      items.push(item);
    }
    return [items, i];
  }
  const map: Record<string, Parsed> = {};
  let i = start;
  for (let line = lines[i]; line !== undefined && line.indent === indent; line = lines[i]) {
    const m = KEY_LINE.exec(line.text);
    const key = m?.[1];
    if (m === null || key === undefined || Object.hasOwn(map, key) || /^(null|Null|NULL)$/.test(key)) return [OUTSIDE, i];
    const rest = m[2]?.trim() ?? '';
    i++;
    if (rest !== '') {
      const value = inlineValue(rest);
      if (value === OUTSIDE) return [OUTSIDE, i];
      map[key] = value;
      continue;
    }
    const next = lines[i];
    const nestedList = next !== undefined && next.indent === indent && next.text.startsWith('- ');
    if (next === undefined || (next.indent <= indent && !nestedList)) {
      map[key] = null;
      continue;
    }
    const [value, end] = parseBlock(lines, i, next.indent);
    if (value === OUTSIDE) return [OUTSIDE, end];
    map[key] = value;
    i = end;
  }
  return [map, i];
}

/** The parsed document, or undefined when `text` is outside the subset. */
export function parseSimpleYaml(text: string): unknown {
  const lines: Line[] = [];
  for (const raw of text.split(/\r?\n/)) {
    if (raw.includes('\t')) return undefined;
    const trimmed = raw.trim();
    if (trimmed === '' || trimmed.startsWith('#')) continue;
    lines.push({ indent: raw.length - raw.trimStart().length, text: trimmed.replace(/\s+$/, '') });
  }
  const first = lines[0];
  if (first === undefined) return null;
  if (lines.length === 1 && (first.text.startsWith('{') || first.text.startsWith('['))) {
    try {
      return JSON.parse(first.text) as unknown;
    } catch {
      const value = first.indent === 0 ? inlineValue(first.text) : OUTSIDE;
      return value === OUTSIDE ? undefined : value;
    }
  }
  const [value, end] = parseBlock(lines, 0, first.indent);
  return value === OUTSIDE || end !== lines.length || first.indent !== 0 ? undefined : value;
}
