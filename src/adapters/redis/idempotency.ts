import type {
  IdempotencyClaimRequest,
  IdempotencyClaimResult,
  IdempotencyCompleteRequest,
  IdempotencyReleaseRequest,
  IdempotencyStore,
} from '../../contracts/idempotency.js';
import { ClosedError, CorruptDataError, InvalidOptionsError } from '../../errors.js';
import {
  checkClaimRequest,
  checkCompleteRequest,
  checkReleaseRequest,
  MAX_STORED_RESPONSE_LENGTH,
  MAX_TOKEN_LENGTH,
} from '../../idempotency/store-requests.js';
import { optionsChecker } from '../../internal/validate.js';
import type { RedisClient, RedisConnection } from './connection.js';
import { RedisConnectionHandle, redisFailure } from './connection.js';
import { claimScript, completeScript, releaseScript } from './idempotency-scripts.js';
import { taggedKey, validatePrefix } from './keys.js';

/**
 * Options of {@link redisIdempotencyStore}.
 *
 * @example
 * ```ts
 * const options: RedisIdempotencyStoreOptions = { connection: 'redis://127.0.0.1:6379', prefix: 'payments:idem:' };
 * ```
 */
export interface RedisIdempotencyStoreOptions {
  /** An ioredis `Redis` or `Cluster` (reused, never closed), a `redis://` URL, or ioredis options. */
  connection: RedisConnection;
  /** Prefix of every key. @default 'scaleout:idem:' */
  prefix?: string;
}

/**
 * Defaults of {@link RedisIdempotencyStoreOptions}.
 *
 * @example
 * ```ts
 * const prefix = `${REDIS_IDEMPOTENCY_STORE_DEFAULTS.prefix}payments:`;
 * ```
 */
export const REDIS_IDEMPOTENCY_STORE_DEFAULTS = Object.freeze({
  /** Key prefix. */
  prefix: 'scaleout:idem:',
});

const checkOptions = optionsChecker({
  where: 'redisIdempotencyStore options',
  keys: ['connection', 'prefix'],
  hints: { client: 'connection', redis: 'connection', url: 'connection', keyPrefix: 'prefix' },
});

function corrupt(what: string, key: string): CorruptDataError {
  return new CorruptDataError(`idempotency ${what}: the record at "${key}" is not what scaleout writes`, {
    key,
  });
}

function isToken(value: unknown, allowEmpty: boolean): value is string {
  return typeof value === 'string' && (allowEmpty || value.length > 0) && value.length <= MAX_TOKEN_LENGTH;
}

/**
 * Idempotency records in Redis (standalone, Sentinel-managed or Cluster).
 * Each operation is one Lua script called by SHA on one key, a hash
 * `<prefix>{<key>}` (its own hash tag, so records spread over a Cluster's
 * slots): `claim` creates the in-progress record or reads the one there,
 * `complete` and `release` compare the owner first.
 *
 * Records are validated on read as strictly as they are written: another
 * Redis type, an unknown state, a missing, extra or oversized field, or a
 * record without expiry is a `CorruptDataError` naming the key, never a
 * claim or a replay; other keys are unaffected.
 *
 * @example
 * ```ts
 * import { Redis } from 'ioredis';
 * import { Idempotency } from 'scaleout';
 * import { redisIdempotencyStore } from 'scaleout/redis';
 *
 * const keys = new Idempotency({ adapter: redisIdempotencyStore({ connection: new Redis() }) });
 * ```
 */
export class RedisIdempotencyStore implements IdempotencyStore {
  readonly #handle: RedisConnectionHandle;
  readonly #prefix: string;
  #closed = false;

  constructor(options: RedisIdempotencyStoreOptions) {
    checkOptions(options);
    if (typeof options !== 'object' || options === null) {
      throw new InvalidOptionsError('redisIdempotencyStore needs options with a connection', {
        option: 'connection',
      });
    }
    this.#prefix = validatePrefix(options.prefix ?? REDIS_IDEMPOTENCY_STORE_DEFAULTS.prefix);
    this.#handle = new RedisConnectionHandle(options.connection);
  }

  /** The command client (shared with the caller when they passed one). */
  get client(): RedisClient {
    return this.#handle.client;
  }

  /** The key prefix. */
  get prefix(): string {
    return this.#prefix;
  }

  /**
   * The Redis key of the record `key`.
   *
   * @example
   * ```ts
   * await redis.pttl(store.keyOf('refund:42'));
   * ```
   */
  keyOf(key: string): string {
    return taggedKey(this.#prefix, key);
  }

  #checkOpen(): void {
    if (this.#closed) throw new ClosedError('idempotency store is closed');
  }

  async #run(what: string, key: string, run: () => Promise<unknown>): Promise<unknown> {
    try {
      return await run();
    } catch (err) {
      throw redisFailure(`idempotency ${what}`, err, key);
    }
  }

  async claim(request: IdempotencyClaimRequest): Promise<IdempotencyClaimResult> {
    this.#checkOpen();
    const { key, owner, fingerprint, leaseMs } = checkClaimRequest(request);
    const redisKey = this.keyOf(key);
    const reply = await this.#run('claim', redisKey, () =>
      claimScript.run(
        this.#handle.client,
        [redisKey],
        [owner, fingerprint, leaseMs, MAX_TOKEN_LENGTH, MAX_STORED_RESPONSE_LENGTH],
      ),
    );
    // The script validated the record; the reply is checked as strictly (a
    // proxy, a mock or another script under the same SHA could answer).
    if (!Array.isArray(reply)) throw corrupt('claim', redisKey);
    const [status, a, b] = reply as unknown[];
    if (status === 'claimed' && reply.length === 1) return { status: 'claimed' };
    if (status === 'busy' && reply.length === 3 && isToken(a, true)) {
      if (typeof b === 'number' && Number.isSafeInteger(b) && b > 0) {
        return { status: 'busy', fingerprint: a, retryAfterMs: b };
      }
    }
    if (status === 'completed' && reply.length === 3 && isToken(a, true) && typeof b === 'string') {
      return { status: 'completed', fingerprint: a, response: b };
    }
    throw corrupt('claim', redisKey);
  }

  async complete(request: IdempotencyCompleteRequest): Promise<boolean> {
    this.#checkOpen();
    const { key, owner, fingerprint, response, ttlMs } = checkCompleteRequest(request);
    const redisKey = this.keyOf(key);
    const reply = await this.#run('complete', redisKey, () =>
      completeScript.run(
        this.#handle.client,
        [redisKey],
        [owner, fingerprint, response, ttlMs, MAX_TOKEN_LENGTH, MAX_STORED_RESPONSE_LENGTH],
      ),
    );
    if (reply !== 0 && reply !== 1) throw corrupt('complete', redisKey);
    return reply === 1;
  }

  async release(request: IdempotencyReleaseRequest): Promise<boolean> {
    this.#checkOpen();
    const { key, owner } = checkReleaseRequest(request);
    const redisKey = this.keyOf(key);
    const reply = await this.#run('release', redisKey, () =>
      releaseScript.run(
        this.#handle.client,
        [redisKey],
        [owner, MAX_TOKEN_LENGTH, MAX_STORED_RESPONSE_LENGTH],
      ),
    );
    if (reply !== 0 && reply !== 1) throw corrupt('release', redisKey);
    return reply === 1;
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#handle.close();
  }
}

/**
 * Creates a {@link RedisIdempotencyStore}.
 *
 * @example
 * ```ts
 * const store = redisIdempotencyStore({ connection: redis, prefix: 'payments:idem:' });
 * ```
 */
export function redisIdempotencyStore(options: RedisIdempotencyStoreOptions): RedisIdempotencyStore {
  return new RedisIdempotencyStore(options);
}
