/**
 * The stored form of a cache value: `1:<softExpiresAt>:<loadMs>:<payload>`.
 * `softExpiresAt` (ms since the epoch) is when the value turns stale, and
 * `loadMs` how long its loader took (for XFetch early refresh). Text without
 * the header (a counter written by `increment`, a value written by another
 * tool) is read as a payload that never turns stale.
 */
export interface Decoded {
  payload: string;
  soft: number;
  delta: number;
}

/** Encodes a payload with its soft expiry and load time. */
export function encode(payload: string, soft: number, delta: number): string {
  return `1:${soft}:${delta}:${payload}`;
}

/** Decodes stored text (see {@link encode}). */
export function decode(text: string): Decoded {
  if (text.charCodeAt(0) === 49 /* 1 */ && text.charCodeAt(1) === 58 /* : */) {
    const a = text.indexOf(':', 2);
    const b = a === -1 ? -1 : text.indexOf(':', a + 1);
    if (b !== -1) {
      const soft = Number(text.slice(2, a));
      const delta = Number(text.slice(a + 1, b));
      // As written: non-negative safe integers (a header another program
      // wrote with 1e300 or -5 is no header, and the text fails to parse).
      if (Number.isSafeInteger(soft) && soft >= 0 && Number.isSafeInteger(delta) && delta >= 0) {
        return { payload: text.slice(b + 1), soft, delta };
      }
    }
  }
  return { payload: text, soft: Number.POSITIVE_INFINITY, delta: 0 };
}
