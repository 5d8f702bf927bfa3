import type { JwtDenylistAdapter } from '../../contracts/jwt-denylist.js';
import { InvalidOptionsError } from '../../errors.js';
import { type RedisConnection, RedisConnectionHandle } from './connection.js';
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
}

const DEFAULTS = { prefix: 'scaleout:jwt-deny:' } as const;

/**
 * Revoked token ids in Redis, shared by every instance: one key per `jti`
 * that expires with the token (`SET ... PXAT`), checked with one `EXISTS`.
 *
 * @example
 * ```ts
 * const jwt = createJwt({ secret, denylist: new RedisJwtDenylist({ connection: redis }) });
 * ```
 */
export class RedisJwtDenylist implements JwtDenylistAdapter {
  readonly #handle: RedisConnectionHandle;
  readonly #prefix: string;

  constructor(options: RedisJwtDenylistOptions) {
    if (typeof options !== 'object' || options === null) {
      throw new InvalidOptionsError('options with a connection are required', { option: 'connection' });
    }
    this.#prefix = validatePrefix(options.prefix ?? DEFAULTS.prefix);
    this.#handle = new RedisConnectionHandle(options.connection);
  }

  async add(jti: string, expiresAtMs: number): Promise<void> {
    const at = Math.ceil(expiresAtMs);
    if (at <= Date.now()) return;
    await this.#handle.client.set(`${this.#prefix}${jti}`, '1', 'PXAT', at);
  }

  async has(jti: string): Promise<boolean> {
    return (await this.#handle.client.exists(`${this.#prefix}${jti}`)) === 1;
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
