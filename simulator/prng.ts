/**
 * Counter-based randomness: a draw is a pure function of a string key and an index, so any
 * run can be replayed without carrying generator state between invocations.
 */

/** 32-bit hash of `text`, mixed with `salt` (a cyrb53-style double lane, folded). */
export function hash32(text: string, salt = 0): number {
  let h1 = 0xdeadbeef ^ salt;
  let h2 = 0x41c6ce57 ^ salt;
  for (let i = 0; i < text.length; i++) {
    const ch = text.charCodeAt(i);
    h1 = Math.imul(h1 ^ ch, 2654435761);
    h2 = Math.imul(h2 ^ ch, 1597334677);
  }
  h1 = Math.imul(h1 ^ (h1 >>> 16), 2246822507) ^ Math.imul(h2 ^ (h2 >>> 13), 3266489909);
  h2 = Math.imul(h2 ^ (h2 >>> 16), 2246822507) ^ Math.imul(h1 ^ (h1 >>> 13), 3266489909);
  return splitmix32((h1 ^ h2) >>> 0);
}

/** One splitmix32 finalisation round; spreads nearby hashes over the whole range. */
function splitmix32(x: number): number {
  let z = (x + 0x9e3779b9) | 0;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
  return (z ^ (z >>> 16)) >>> 0;
}

/** Uniform in (0, 1), never exactly 0, so it is safe under a logarithm. */
export function uniform(key: string, index = 0): number {
  return (hash32(key, index) + 0.5) / 4294967296;
}

/** Standard normal draw (Box-Muller over two uniforms of the same key). */
export function standardNormal(key: string): number {
  const u1 = uniform(key, 1);
  const u2 = uniform(key, 2);
  return Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2);
}
