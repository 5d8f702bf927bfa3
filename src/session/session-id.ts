import { randomBytes } from 'node:crypto';

/**
 * Bytes of randomness in a session id (256 bits; 43 base64url characters).
 *
 * @example
 * ```ts
 * SESSION_ID_BYTES * 8; // 256 bits
 * ```
 */
export const SESSION_ID_BYTES = 32;

const ID_PATTERN = /^[A-Za-z0-9_-]{43}$/;

/**
 * A new session id: 256 bits from the operating system's CSPRNG, base64url
 * (43 characters, no padding).
 *
 * @example
 * ```ts
 * const id = generateSessionId(); // 'q3Yf...' (43 chars)
 * ```
 */
export function generateSessionId(): string {
  return randomBytes(SESSION_ID_BYTES).toString('base64url');
}

/**
 * True when `value` has the exact shape of an id made by
 * {@link generateSessionId}. Anything else (oversized, wrong alphabet, glob
 * or control characters) is treated as "no session" and never reaches a
 * back end.
 *
 * @example
 * ```ts
 * isValidSessionId('../../etc/passwd'); // false
 * ```
 */
export function isValidSessionId(value: unknown): value is string {
  return typeof value === 'string' && value.length === 43 && ID_PATTERN.test(value);
}
