/**
 * YAML text parsed with its source positions, so that a problem found in the parsed value
 * can be reported at the line where the user wrote it.
 */
import { isMap, isPair, isScalar, isSeq, LineCounter, parseDocument, type Document } from 'yaml';

export type PathSegment = string | number;

export interface SyntaxProblem {
  readonly line: number;
  readonly message: string;
}

export interface YamlSource {
  /** The plain value; undefined for an empty document or when there are syntax problems. */
  readonly value: unknown;
  readonly syntaxProblems: readonly SyntaxProblem[];
  /**
   * The 1-based line of the node at `path` (of its key, with `key`); the nearest enclosing
   * node's line when the path goes further than the document does.
   */
  lineOf(path: readonly PathSegment[], key?: boolean): number;
}

/** yaml's messages end in " at line L, column C:" and a code excerpt; the line is reported apart. */
function firstSentence(message: string): string {
  const head = message.split('\n')[0] ?? message;
  return head.replace(/ at line \d+, column \d+:?$/, '');
}

function childOf(node: unknown, segment: PathSegment): { key: unknown; value: unknown } | null {
  if (isMap(node)) {
    for (const item of node.items) {
      if (isPair(item) && isScalar(item.key) && String(item.key.value) === String(segment)) return { key: item.key, value: item.value };
    }
    return null;
  }
  if (isSeq(node) && typeof segment === 'number') {
    const item: unknown = node.items[segment];
    return item === undefined ? null : { key: item, value: item };
  }
  return null;
}

function startOf(node: unknown): number | null {
  if (typeof node !== 'object' || node === null || !('range' in node)) return null;
  const range = (node as { range?: unknown }).range;
  return Array.isArray(range) && typeof range[0] === 'number' ? range[0] : null;
}

export function parseYamlSource(text: string): YamlSource {
  const counter = new LineCounter();
  const doc: Document = parseDocument(text, { lineCounter: counter, prettyErrors: true });
  const lineAt = (offset: number | null): number => (offset === null ? 1 : counter.linePos(offset).line);
  const syntaxProblems = doc.errors.map((e) => ({ line: e.linePos?.[0].line ?? 1, message: firstSentence(e.message) }));
  const lineOf = (path: readonly PathSegment[], key = false): number => {
    let node: unknown = doc.contents;
    let line = lineAt(startOf(node));
    for (let i = 0; i < path.length; i++) {
      const child = childOf(node, path[i] as PathSegment);
      if (child === null) return line;
      const last = i === path.length - 1;
      const target = last && key ? child.key : (child.value ?? child.key);
      line = lineAt(startOf(target) ?? startOf(child.key));
      node = child.value;
    }
    return line;
  };
  const value: unknown = syntaxProblems.length > 0 || doc.contents === null ? undefined : doc.toJS();
  return { value, syntaxProblems, lineOf };
}
