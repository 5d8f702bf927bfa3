import { InvalidArgumentError } from '../errors.js';
import { MAX_DURATION_MS } from '../internal/validate.js';

/**
 * The header that carries a call's remaining time budget downstream: an
 * integer number of milliseconds, relative (so clock skew between hosts does
 * not matter), like gRPC's `grpc-timeout`. {@link ServiceClient} sends the
 * time left for each attempt; a server reads it with {@link readDeadline}
 * and passes the result as `deadlineAt` to its own outgoing calls, so a
 * chain of calls shares one budget instead of each hop starting afresh.
 *
 * @example
 * ```ts
 * res.setHeader('access-control-allow-headers', DEADLINE_HEADER);
 * ```
 */
export const DEADLINE_HEADER = 'x-request-deadline-ms';

/**
 * Request headers as Node's `IncomingMessage`, express, fastify and koa
 * expose them (a record of lower-case names), or a fetch `Headers`.
 *
 * @example
 * ```ts
 * const headers: HeaderBag = { 'x-request-deadline-ms': '250' };
 * ```
 */
export type HeaderBag =
  | Record<string, string | string[] | undefined>
  | {
      /** Reads one header (fetch `Headers`). */
      get(name: string): string | null;
    };

/**
 * Reads the {@link DEADLINE_HEADER} of an incoming request and returns the
 * absolute deadline (epoch ms, `Date.now()` based) it sets, or `undefined`
 * when the header is absent or malformed. Pass it as `deadlineAt` to nested
 * calls. A budget of `0` gives a deadline that has already passed: nested
 * calls fail fast with `TimeoutError` instead of doing work nobody waits for.
 *
 * @example
 * ```ts
 * app.get('/quote', async (req, res) => {
 *   const deadlineAt = readDeadline(req);
 *   const stock = await inventory.get('/stock', { deadlineAt });
 *   res.json(stock);
 * });
 * ```
 */
export function readDeadline(request: { headers: HeaderBag }, now: number = Date.now()): number | undefined {
  if (typeof request !== 'object' || request === null) {
    throw new InvalidArgumentError('readDeadline(): request must be an incoming request ({ headers })', {
      argument: 'request',
    });
  }
  if (typeof now !== 'number' || !Number.isFinite(now)) {
    throw new InvalidArgumentError('readDeadline(): now must be epoch milliseconds', { argument: 'now' });
  }
  const headers = request.headers;
  if (typeof headers !== 'object' || headers === null) return undefined;
  const raw =
    typeof (headers as { get?: unknown }).get === 'function'
      ? (headers as { get(name: string): string | null }).get(DEADLINE_HEADER)
      : (headers as Record<string, string | string[] | undefined>)[DEADLINE_HEADER];
  const text = Array.isArray(raw) ? raw[0] : raw;
  if (typeof text !== 'string' || !/^\s*\d{1,12}\s*$/.test(text)) return undefined;
  return now + Math.min(Number(text), MAX_DURATION_MS);
}
