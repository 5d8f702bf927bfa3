import { InvalidArgumentError } from '../errors.js';
import { optionsChecker } from '../internal/validate.js';
import { Idempotency } from './idempotency.js';
import type { IdempotencyRunOptions } from './idempotency-options.js';

/**
 * Options of {@link idempotent}: the {@link Idempotency} that keeps the
 * records, and the options of {@link Idempotency.run}.
 *
 * @example
 * ```ts
 * const options: IdempotentOptions = { idempotency: keys, fingerprint: { orderId }, ttlMs: 3_600_000 };
 * ```
 */
export interface IdempotentOptions extends IdempotencyRunOptions {
  /** Keeps the records (its store, ttlMs, leaseMs, waitMs apply). Required. */
  idempotency: Idempotency;
}

const checkOptions = optionsChecker({
  where: 'idempotent() options',
  keys: ['idempotency', 'fingerprint', 'ttlMs', 'signal'],
  hints: {
    store: 'idempotency',
    keys: 'idempotency',
    adapter: 'idempotency',
    ttl: 'ttlMs',
    expiresIn: 'ttlMs',
    hash: 'fingerprint',
    payload: 'fingerprint',
  },
  bareNumber: 'ttlMs',
});

/**
 * Runs `fn` once per `key`, for code that is not an HTTP handler (a job, a
 * script, a webhook sender): the function form of {@link Idempotency.run}.
 * The first call runs `fn` and keeps its result; a repeat resolves to the
 * kept result without running it; a concurrent repeat waits, then throws
 * `IdempotencyConflictError`; a repeat with another `fingerprint` throws
 * `IdempotencyMismatchError`; when `fn` throws nothing is kept.
 *
 * @example
 * ```ts
 * const keys = new Idempotency({ adapter: redisIdempotencyStore({ connection: redis }) });
 * const sent = await idempotent(`welcome-mail:${userId}`, () => mailer.send(welcome(userId)), {
 *   idempotency: keys,
 * });
 * ```
 */
export async function idempotent<T>(
  key: string,
  fn: () => T | Promise<T>,
  options: IdempotentOptions,
): Promise<Awaited<T>> {
  checkOptions(options);
  if (options === undefined || !(options.idempotency instanceof Idempotency)) {
    throw new InvalidArgumentError('idempotent() needs { idempotency: new Idempotency({ adapter }) }', {
      argument: 'idempotency',
    });
  }
  const { idempotency, ...run } = options;
  return idempotency.run(key, fn, run);
}
