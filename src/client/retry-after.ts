/**
 * Reads a `Retry-After` header value (delay in seconds, or an HTTP date) as
 * milliseconds from `now`. Returns `undefined` for a missing or malformed
 * value; a date in the past gives `0`.
 *
 * @example
 * ```ts
 * parseRetryAfterMs('2'); // 2000
 * parseRetryAfterMs('Wed, 21 Oct 2026 07:28:00 GMT', Date.now());
 * ```
 */
export function parseRetryAfterMs(value: unknown, now: number = Date.now()): number | undefined {
  const text = Array.isArray(value) ? value[0] : value;
  if (typeof text !== 'string') return typeof text === 'number' && text >= 0 ? text * 1000 : undefined;
  const trimmed = text.trim();
  if (trimmed === '') return undefined;
  if (/^\d+(\.\d+)?$/.test(trimmed)) return Math.round(Number(trimmed) * 1000);
  const at = Date.parse(trimmed);
  if (Number.isNaN(at)) return undefined;
  return Math.max(0, at - now);
}
