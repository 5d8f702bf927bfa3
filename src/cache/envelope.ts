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
    // As written: decimal digits only, safe integers (a header another
    // program wrote with 1e15, 0x10, +5, ' 5', -5 or 1e300 is no header, and
    // the text fails to parse).
    if (b !== -1 && digitsOnly(text, 2, a) && digitsOnly(text, a + 1, b)) {
      const soft = Number(text.slice(2, a));
      const delta = Number(text.slice(a + 1, b));
      if (Number.isSafeInteger(soft) && Number.isSafeInteger(delta)) {
        return { payload: text.slice(b + 1), soft, delta };
      }
    }
  }
  return { payload: text, soft: Number.POSITIVE_INFINITY, delta: 0 };
}

/** Whether `text[from, to)` is 1 to 16 decimal digits. */
function digitsOnly(text: string, from: number, to: number): boolean {
  if (to <= from || to - from > 16) return false;
  for (let i = from; i < to; i++) {
    const c = text.charCodeAt(i);
    if (c < 48 || c > 57) return false;
  }
  return true;
}
