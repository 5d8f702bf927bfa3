import type { JwtDenylistAdapter } from '../../contracts/jwt-denylist.js';
import { InvalidArgumentError, InvalidOptionsError } from '../../errors.js';
import { clockOption, isWellFormed, optionsChecker } from '../../internal/validate.js';
import { type Clock, systemClock } from '../../types.js';
import { type RedisConnection, RedisConnectionHandle, redisFailure } from './connection.js';
import { validatePrefix } from './keys.js';

/**
 * Options of {@link RedisJwtDenylist}.
 *
 * @example
 * ```ts
 * const options: RedisJwtDenylistOptions = { connection: redis, prefix: 'app:deny:' };
 * ```
 */
export interface RedisJwtDenylistOptions {
  /** An ioredis `Redis`/`Cluster` (reused, never closed), a `redis://` URL or ioredis options. */
  connection: RedisConnection;
  /** Prefix of every key. @default 'scaleout:jwt-deny:' */
  prefix?: string;
  /** Time source: an id whose `expiresAtMs` has passed on `clock.now()` is not written. @default systemClock */
  clock?: Clock;
}

const DEFAULTS = { prefix: 'scaleout:jwt-deny:', clock: systemClock } as const;

/**
 * A token id (1 to 256 characters, well-formed Unicode, as `verify`
 * accepts) and an expiry in epoch ms.
 */
function checkEntry(jti: unknown, expiresAtMs: unknown): void {
  if (typeof jti !== 'string' || jti.length === 0 || jti.length > 256 || !isWellFormed(jti)) {
    throw new InvalidArgumentError('jti must be a string of 1 to 256 characters, no lone surrogate', {
      argument: 'jti',
    });
  }
  if (typeof expiresAtMs !== 'number' || !Number.isFinite(expiresAtMs)) {
    throw new InvalidArgumentError('expiresAtMs must be a finite number', { argument: 'expiresAtMs' });
  }
}

const checkOptions = optionsChecker({
  where: 'redisJwtDenylist options',
  keys: ['connection', 'prefix', 'clock'],
  hints: { client: 'connection', redis: 'connection', url: 'connection', keyPrefix: 'prefix', now: 'clock' },
});

/**
 * Revoked token ids in Redis, shared by every instance: one key per `jti`
 * that expires with the token (`SET ... PXAT`), checked with one `EXISTS`.
 *
 * Any key at `<prefix><jti>`, whatever its type or value (another
 * program's write included), revokes that `jti`: the check fails closed
 * and never reads the value, so foreign data there cannot make a revoked
 * token valid, only a valid one revoked. Failures of Redis are
 * `ConnectionError` (`verify` fails closed).
 *
 * @example
 * ```ts
 * const jwt = createJwt({ secret, denylist: new RedisJwtDenylist({ connection: redis }) });
 * ```
 */
export class RedisJwtDenylist implements JwtDenylistAdapter {
  readonly #handle: RedisConnectionHandle;
  readonly #prefix: string;
  readonly #clock: Clock;

  constructor(options: RedisJwtDenylistOptions) {
    checkOptions(options);
    if (typeof options !== 'object' || options === null) {
      throw new InvalidOptionsError('options with a connection are required', { option: 'connection' });
    }
    this.#prefix = validatePrefix(options.prefix ?? DEFAULTS.prefix);
    clockOption(options.clock);
    this.#clock = options.clock ?? DEFAULTS.clock;
    this.#handle = new RedisConnectionHandle(options.connection);
  }

  async add(jti: string, expiresAtMs: number): Promise<void> {
    checkEntry(jti, expiresAtMs);
    const at = Math.ceil(expiresAtMs);
    if (at <= this.#clock.now()) return;
    const key = `${this.#prefix}${jti}`;
    try {
      // SET replaces a key of any type: revoking never fails on foreign data.
      await this.#handle.client.set(key, '1', 'PXAT', at);
    } catch (err) {
      throw redisFailure('jwt denylist add', err, key);
    }
  }

  async has(jti: string): Promise<boolean> {
    checkEntry(jti, 0);
    const key = `${this.#prefix}${jti}`;
    try {
      return (await this.#handle.client.exists(key)) === 1;
    } catch (err) {
      throw redisFailure('jwt denylist check', err, key);
    }
  }

  /** Closes the connection if this adapter created it (a client you passed stays open). */
  async close(): Promise<void> {
    await this.#handle.close();
  }

  /** Same as {@link close}. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}

/**
 * Creates a {@link RedisJwtDenylist}.
 *
 * @example
 * ```ts
 * const jwt = createJwt({ secret, denylist: redisJwtDenylist({ connection: process.env.REDIS_URL! }) });
 * ```
 */
export function redisJwtDenylist(options: RedisJwtDenylistOptions): RedisJwtDenylist {
  return new RedisJwtDenylist(options);
}
