/** Escaping for everything the report writes into HTML. Pure. */

const HTML: Readonly<Record<string, string>> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/** Text and attribute values alike (attributes are always double-quoted). */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => HTML[c] ?? c);
}

/**
 * JSON for a `<script type="application/json">` island: `<`, `>` and `&` become escapes so no
 * string can close the element or open a comment; U+2028/2029 for old parsers.
 */
export function jsonForScript(value: unknown): string {
  return JSON.stringify(value)
    .replace(/</g, '\\u003c')
    .replace(/>/g, '\\u003e')
    .replace(/&/g, '\\u0026')
    .replace(/\u2028/g, '\\u2028')
    .replace(/\u2029/g, '\\u2029');
}

/** A relative link to a file: each path segment percent-encoded, so no name can break out of href. */
export function hrefOf(relativePath: string): string {
  return relativePath.split('/').map(encodeURIComponent).join('/');
}
