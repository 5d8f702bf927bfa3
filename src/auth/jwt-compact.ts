/**
 * The compact JWS serialization (`header.payload.signature`, three
 * base64url parts) as scaleout reads it: the shape test, the canonical
 * base64url check of a signature, and the decoding of one JSON part with
 * its refusals (not base64url, not JSON, not an object, a
 * prototype-pollution key). Nothing here knows keys or claims rules.
 *
 * @module
 */
import { JwtMalformedError } from '../errors.js';
import { assertSafePayload } from '../serializer.js';

/** @internal Three base64url parts (the signature may be empty, then refused by the verifier). */
export const TOKEN_SHAPE = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/;
const BASE64URL = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';

/**
 * True when the last character of an unpadded base64url string carries no
 * stray bits: base64url spells bytes one way only, so a signature whose
 * unused trailing bits are set (a second spelling of the same bytes) is
 * refused instead of verifying as a different token string.
 *
 * @internal
 */
export function canonicalTail(part: string): boolean {
  const rest = part.length % 4;
  if (rest === 0) return true;
  const bits = BASE64URL.indexOf(part[part.length - 1]!);
  return rest === 2 ? (bits & 0x0f) === 0 : (bits & 0x03) === 0;
}

/** @internal Freezes a decoded JSON value and everything in it (own keys only). */
export function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    // Own keys only (Object.keys uses V8's enum cache: no per-call values array).
    const record = value as Record<string, unknown>;
    for (const k of Object.keys(record)) {
      const v = record[k];
      if (typeof v === 'object' && v !== null) deepFreeze(v);
    }
  }
  return value;
}

/**
 * Decodes one base64url part of a token into a JSON object, refusing with
 * {@link JwtMalformedError} (whose message never quotes the input) anything
 * else, and any prototype-pollution key.
 *
 * @internal
 */
export function decodeJsonObject(part: string, what: 'header' | 'payload'): Record<string, unknown> {
  if (part.length % 4 === 1) throw new JwtMalformedError(`token ${what} is not valid base64url`);
  const text = Buffer.from(part, 'base64url').toString('utf8');
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    // The parser's message quotes the input: never attach it.
    throw new JwtMalformedError(`token ${what} is not JSON`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new JwtMalformedError(`token ${what} is not a JSON object`);
  }
  // One scan: "proto" covers "__proto__" and "constructor.prototype"; a
  // backslash may spell either with \u escapes, which JSON.parse decodes.
  if (text.includes('proto') || text.includes('\\')) {
    try {
      assertSafePayload(value);
    } catch {
      throw new JwtMalformedError(`token ${what} carries a prototype-pollution key`);
    }
  }
  return value as Record<string, unknown>;
}
