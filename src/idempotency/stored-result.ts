import { CorruptDataError } from '../errors.js';

/**
 * What a completed idempotency record keeps, decoded: a function's result
 * (`value`: the serializer's text, or undefined for an `undefined` result),
 * an HTTP response (`http`), or nothing (`none`: the result was too large or
 * could not be serialized; a repeat is refused, never run again).
 *
 * @example
 * ```ts
 * const stored: StoredResult = { kind: 'http', status: 201, headers: [['content-type', 'application/json']], body: Buffer.from('{}') };
 * ```
 */
export type StoredResult =
  | {
      /** A function's result. */
      readonly kind: 'value';
      /** The serializer's text; undefined when the function returned `undefined`. */
      readonly text: string | undefined;
    }
  | {
      /** An HTTP response. */
      readonly kind: 'http';
      /** Its status (200 to 499). */
      readonly status: number;
      /** The status line's reason phrase, when it was not the standard one for the status. */
      readonly statusMessage?: string | undefined;
      /** The kept headers, lower-case names. */
      readonly headers: ReadonlyArray<readonly [string, string]>;
      /** The body bytes. */
      readonly body: Buffer;
    }
  | {
      /** Completed, with nothing kept to replay. */
      readonly kind: 'none';
      /** Why nothing was kept: too large, not serializable, or a body sent encoded (compressed) below the middleware. */
      readonly reason: 'too-large' | 'unserializable' | 'encoded';
    };

/** Most headers one stored response keeps. */
export const MAX_STORED_HEADERS = 64;

/** Longest status message one stored response keeps, in characters. */
export const MAX_STATUS_MESSAGE = 1024;

/** A header field name (RFC 9110 token), lower case, at most 256 characters. */
const HEADER_NAME = /^[!#$%&'*+\-.^_`|~0-9a-z]{1,256}$/;
/** A header field value: visible ASCII, spaces, tabs and obs-text; no CR, LF or NUL. */
// biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what is refused
const HEADER_VALUE = /^[^\u0000-\u0008\u000a-\u001f\u007f]{0,8192}$/;
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;
/** A status line's reason phrase, as node accepts it (tab, visible ASCII, space, obs-text). */
const STATUS_MESSAGE = new RegExp(`^[\\t\\x20-\\x7e\\x80-\\xff]{0,${MAX_STATUS_MESSAGE}}$`);

/** @internal Whether a status message can be kept (and so read back and sent): what node would send, at most 1024 characters. */
export function isStorableStatusMessage(message: string): boolean {
  return STATUS_MESSAGE.test(message);
}

/** @internal Whether a response header can be kept (and so read back): a lower-case token name, a value without CR, LF or NUL. */
export function isStorableHeader(name: string, value: string): boolean {
  return HEADER_NAME.test(name) && HEADER_VALUE.test(value);
}

/**
 * @internal Encodes what a completed record keeps, as the text handed to the
 * store. Compact JSON with a one-letter kind tag.
 */
export function encodeStoredResult(result: StoredResult): string {
  switch (result.kind) {
    case 'value':
      return result.text === undefined ? '{"t":"v"}' : JSON.stringify({ t: 'v', d: result.text });
    case 'http':
      // `m` only when there is one: a record without it replays as before.
      return JSON.stringify({
        t: 'h',
        s: result.status,
        ...(result.statusMessage === undefined ? {} : { m: result.statusMessage }),
        h: result.headers,
        b: result.body.toString('base64'),
      });
    case 'none':
      return JSON.stringify({ t: 'x', w: result.reason });
  }
}

function exactKeys(value: Record<string, unknown>, allowed: readonly string[]): boolean {
  const keys = Object.keys(value);
  return keys.every((k) => allowed.includes(k));
}

/**
 * @internal Decodes a stored response read back from the store, as
 * strictly as it was written: anything else (not JSON, an unknown kind or
 * field, a status out of range, a header that is not a header, a body that
 * is not base64 or larger than `maxBytes`) is a {@link CorruptDataError}
 * naming the store key. It is never replayed.
 */
export function decodeStoredResult(text: string, key: string, maxBytes: number): StoredResult {
  const bad = (why: string) =>
    new CorruptDataError(`idempotency record "${key}" holds a response scaleout did not write (${why})`, {
      key,
    });
  // The envelope of a body of maxBytes: base64 (4/3) plus headers and framing.
  if (
    text.length >
    Math.ceil((maxBytes * 4) / 3) + MAX_STORED_HEADERS * 8_300 + MAX_STATUS_MESSAGE * 6 + 64
  ) {
    throw bad('too large');
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw bad('not JSON');
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw bad('not an object');
  const record = parsed as Record<string, unknown>;
  switch (record.t) {
    case 'v': {
      if (!exactKeys(record, ['t', 'd'])) throw bad('unknown field');
      if (record.d !== undefined && typeof record.d !== 'string') throw bad('value is not text');
      return { kind: 'value', text: record.d as string | undefined };
    }
    case 'h': {
      if (!exactKeys(record, ['t', 's', 'm', 'h', 'b'])) throw bad('unknown field');
      const { s, m, h, b } = record;
      if (typeof s !== 'number' || !Number.isInteger(s) || s < 200 || s > 499) throw bad('status');
      if (m !== undefined && (typeof m !== 'string' || !STATUS_MESSAGE.test(m))) throw bad('status message');
      if (!Array.isArray(h) || h.length > MAX_STORED_HEADERS) throw bad('headers');
      const headers: Array<[string, string]> = [];
      for (const pair of h as unknown[]) {
        if (!Array.isArray(pair) || pair.length !== 2) throw bad('headers');
        const [name, value] = pair as unknown[];
        if (typeof name !== 'string' || !HEADER_NAME.test(name)) throw bad('header name');
        if (typeof value !== 'string' || !HEADER_VALUE.test(value)) throw bad('header value');
        headers.push([name, value]);
      }
      if (typeof b !== 'string' || b.length % 4 !== 0 || !BASE64.test(b)) throw bad('body');
      const body = Buffer.from(b, 'base64');
      if (body.length > maxBytes) throw bad('body too large');
      return m === undefined
        ? { kind: 'http', status: s, headers, body }
        : { kind: 'http', status: s, statusMessage: m as string, headers, body };
    }
    case 'x': {
      if (!exactKeys(record, ['t', 'w'])) throw bad('unknown field');
      if (record.w !== 'too-large' && record.w !== 'unserializable' && record.w !== 'encoded')
        throw bad('reason');
      return { kind: 'none', reason: record.w };
    }
    default:
      throw bad('unknown kind');
  }
}
