/**
 * @internal The `Idempotency-Key` header of one request, read: absent, a
 * key, or invalid (with why, never the value).
 */
export type KeyHeader =
  | { readonly kind: 'absent' }
  | { readonly kind: 'invalid'; readonly reason: string }
  | { readonly kind: 'key'; readonly key: string };

const ABSENT: KeyHeader = Object.freeze({ kind: 'absent' });

/** Printable ASCII (the characters of a Structured Field String). */
const PRINTABLE = /^[\x20-\x7e]*$/;

/**
 * @internal Reads the header's value(s). The draft makes the field an
 * RFC 8941 Structured Field String (`Idempotency-Key: "8e03978e-..."`);
 * most clients (Stripe's, scaleout's ServiceClient) send the bare key.
 * Both are accepted: a quoted value is unquoted (`\"` and `\\` escapes),
 * a bare one is taken as it is. Either must be printable ASCII, 1 to
 * `maxLength` characters, and sent once.
 */
export function readKeyHeader(value: unknown, maxLength: number): KeyHeader {
  if (value === undefined) return ABSENT;
  if (Array.isArray(value)) {
    if (value.length === 0) return ABSENT;
    if (value.length > 1) return invalid('the header was sent more than once');
    value = value[0];
  }
  if (typeof value !== 'string') return invalid('the header is not text');
  // More than the longest quoted key could be: refuse before scanning.
  if (value.length > 2 * maxLength + 2 + 64) return invalid(`the key is longer than ${maxLength} characters`);
  const text = value.replace(/^[ \t]+|[ \t]+$/g, '');
  if (text.length === 0) return invalid('the key is empty');
  if (!PRINTABLE.test(text)) return invalid('the key must be printable ASCII');
  let key = text;
  if (text.startsWith('"')) {
    const unquoted = unquote(text);
    if (unquoted === undefined) return invalid('the key is not a valid quoted string');
    key = unquoted;
    if (key.length === 0) return invalid('the key is empty');
  }
  if (key.length > maxLength) return invalid(`the key is longer than ${maxLength} characters`);
  return { kind: 'key', key };
}

/** The content of an RFC 8941 String (`"..."` with `\"` and `\\` escapes), or undefined. */
function unquote(text: string): string | undefined {
  if (text.length < 2 || !text.endsWith('"')) return undefined;
  let out = '';
  for (let i = 1; i < text.length - 1; i++) {
    const c = text[i]!;
    if (c === '\\') {
      const next = text[i + 1];
      if (next !== '"' && next !== '\\') return undefined;
      if (i + 1 >= text.length - 1) return undefined;
      out += next;
      i++;
    } else if (c === '"') {
      return undefined;
    } else {
      out += c;
    }
  }
  return out;
}

function invalid(reason: string): KeyHeader {
  return { kind: 'invalid', reason };
}
