import type { Cluster, Redis, RedisOptions } from 'ioredis';
import { Redis as RedisClass } from 'ioredis';
import { ConnectionError, CorruptDataError, InvalidOptionsError, isScaleoutError } from '../../errors.js';
import { captureContext } from '../../internal/async-context.js';
import { redactUrl } from '../../internal/redact.js';
import { batchWritesPerTick } from './write-batching.js';

/**
 * An ioredis client: a standalone/Sentinel `Redis` or a `Cluster`.
 *
 * @example
 * ```ts
 * const client: RedisClient = new Redis(process.env.REDIS_URL!);
 * ```
 */
export type RedisClient = Redis | Cluster;

/**
 * How a Redis adapter reaches Redis: an existing ioredis `Redis` or
 * `Cluster` (reused, never closed by scaleout), a `redis://` URL, or ioredis
 * options (scaleout creates the client and closes it on `close()`). One
 * with an ioredis `keyPrefix` is refused (`InvalidOptionsError`): ioredis
 * leaves SCAN patterns and pub/sub channels unprefixed; namespace with the
 * adapter's `prefix` option instead.
 *
 * @example
 * ```ts
 * const adapter = redisCacheAdapter({ connection: new Redis(process.env.REDIS_URL) });
 * const other = redisLockAdapter({ connection: 'redis://127.0.0.1:6379/0' });
 * ```
 */
export type RedisConnection = RedisClient | RedisOptions | string;

function isClient(value: unknown): value is RedisClient {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as { evalsha?: unknown }).evalsha === 'function' &&
    typeof (value as { duplicate?: unknown }).duplicate === 'function'
  );
}

/**
 * True when `client` is an ioredis `Cluster` (duck-typed, so any copy of ioredis works).
 *
 * @example
 * ```ts
 * const client: RedisClient = process.env.REDIS_CLUSTER ? new Cluster([{ host: '127.0.0.1', port: 7000 }]) : new Redis();
 * if (isCluster(client)) await Promise.all(client.nodes('master').map((n) => n.ping()));
 * ```
 */
export function isCluster(client: RedisClient): client is Cluster {
  return (client as { isCluster?: unknown }).isCluster === true;
}

/**
 * Error replies that describe the data, not the server: the key holds
 * another type, or a value is not the number a command needs. Everything
 * else (LOADING, READONLY, CLUSTERDOWN, OOM, NOAUTH, BUSY, a lost socket, a
 * timeout) is the server being unavailable.
 */
const DATA_ERROR_REPLY =
  /^(WRONGTYPE\b|ERR (value is not an integer|value is not a valid float|hash value is not an integer|hash value is not a float|increment or decrement would overflow|increment would produce NaN or Infinity))|\bscaleout:data\b/;

/**
 * True when `err` is a Redis error reply about the data (a `WRONGTYPE`, a
 * value that is not a number), as opposed to an unavailable server. Lua
 * scripts can raise their own data errors with a reply containing
 * `scaleout:data`.
 *
 * @example
 * ```ts
 * if (isRedisDataError(err)) throw new CorruptDataError('not a counter', { key });
 * ```
 */
export function isRedisDataError(err: unknown): boolean {
  if (typeof err !== 'object' || err === null) return false;
  const name = (err as { name?: unknown }).name;
  const message = (err as { message?: unknown }).message;
  return name === 'ReplyError' && typeof message === 'string' && DATA_ERROR_REPLY.test(message);
}

/**
 * @internal A failure met by a Redis adapter, as callers see it: scaleout
 * errors pass through; a data error reply (see {@link isRedisDataError})
 * becomes `CorruptDataError` naming `key` when given; anything else
 * (connection lost, command timeout, another error reply) becomes
 * `ConnectionError` "`<what>` failed", with the driver's error as `cause`.
 */
export function redisFailure(what: string, err: unknown, key?: string): unknown {
  if (isScaleoutError(err)) return err;
  if (isRedisDataError(err)) {
    const reply = String((err as Error).message)
      .split('\n')[0]!
      .slice(0, 200);
    return new CorruptDataError(
      `${what}: the stored record${key === undefined ? '' : ` at "${key}"`} is not what scaleout writes (${reply})`,
      key === undefined ? { cause: err } : { cause: err, key },
    );
  }
  return new ConnectionError(`${what} failed`, { cause: err });
}

/**
 * The ioredis `keyPrefix` a connection would apply: a client's own option
 * (a `Cluster` copies its `redisOptions.keyPrefix` there), the option of
 * ioredis options, or a `keyPrefix` query parameter of a URL (ioredis reads
 * query parameters as options).
 */
function keyPrefixOf(connection: unknown): unknown {
  if (typeof connection === 'string') {
    try {
      return new URL(connection).searchParams.get('keyPrefix') ?? undefined;
    } catch {
      return undefined; // not a URL: refused below
    }
  }
  if (typeof connection !== 'object' || connection === null) return undefined;
  const options = isClient(connection)
    ? (connection as { options?: { keyPrefix?: unknown; redisOptions?: { keyPrefix?: unknown } } }).options
    : (connection as { keyPrefix?: unknown; redisOptions?: { keyPrefix?: unknown } });
  return options?.keyPrefix || options?.redisOptions?.keyPrefix;
}

/**
 * Refuses a connection with an ioredis `keyPrefix`. ioredis prefixes the
 * keys of commands but not SCAN's MATCH pattern nor the keys SCAN returns,
 * nor pub/sub channels, nor keys a Lua script builds: a cache's `clear()`
 * would delete nothing, a lock's release notice would never reach its
 * waiters. The adapters' own `prefix` option reaches every key and channel.
 */
function refuseKeyPrefix(connection: unknown): void {
  const keyPrefix = keyPrefixOf(connection);
  if (keyPrefix === undefined || keyPrefix === null || String(keyPrefix) === '') return;
  throw new InvalidOptionsError(
    'connection has the ioredis keyPrefix option set, which ioredis does not apply to SCAN patterns, ' +
      'pub/sub channels or keys built in scripts (clear() would delete nothing): pass a connection ' +
      "without keyPrefix and set the adapter's own prefix option instead (your keyPrefix followed by " +
      "the adapter's prefix keeps the same keys)",
    { option: 'connection', suggestion: 'prefix' },
  );
}

/**
 * A Redis client plus ownership: adapters share this so that connections
 * scaleout created are closed by it, and connections the user passed are left
 * alone. Extra connections for pub/sub come from {@link duplicate} and are
 * always owned. A connection with an ioredis `keyPrefix` (client, options
 * or URL) is refused with `InvalidOptionsError`: use the adapter's `prefix`.
 *
 * @example
 * ```ts
 * const handle = new RedisConnectionHandle('redis://127.0.0.1:6379');
 * await handle.client.ping();
 * await handle.close(); // closes only what it created
 * ```
 */
export class RedisConnectionHandle {
  /** The command client. */
  readonly client: RedisClient;
  /** Whether scaleout created {@link client} (and so closes it). */
  readonly owned: boolean;
  readonly #duplicates = new Set<RedisClient>();
  /** The context the handle was made in: where {@link duplicate} opens connections. */
  readonly #background = captureContext();
  #closed = false;

  /**
   * @param options.batchWrites How a connection it creates writes one tick's
   * commands (see `batchWritesPerTick`): `true` (the default) in one write,
   * worth it for cheap commands (GET, SET, EXPIRE); a number, in writes of
   * at most that many commands, for Lua scripts that cost the server more
   * than the client (client and server then work at once instead of taking
   * turns); `false`, one write per command. A client the user passes in
   * is used as it is.
   */
  constructor(connection: RedisConnection, options: { batchWrites?: boolean | number } = {}) {
    refuseKeyPrefix(connection);
    const make = (conn: string | RedisOptions): Redis => {
      const client = typeof conn === 'string' ? new RedisClass(conn) : new RedisClass(conn);
      const batch = options.batchWrites ?? true;
      if (batch === false) return quiet(client);
      batchWritesPerTick(client, batch === true ? Number.POSITIVE_INFINITY : batch);
      return quiet(client);
    };
    if (isClient(connection)) {
      this.client = connection;
      this.owned = false;
    } else if (typeof connection === 'string') {
      if (!/^rediss?:\/\//.test(connection)) {
        throw new InvalidOptionsError(
          `connection URL must start with redis:// or rediss:// (got ${redactUrl(connection)})`,
          { option: 'connection' },
        );
      }
      this.client = make(connection);
      this.owned = true;
    } else if (typeof connection === 'object' && connection !== null) {
      this.client = make(connection);
      this.owned = true;
    } else {
      throw new InvalidOptionsError(
        'connection must be an ioredis client, a redis:// URL or ioredis options',
        {
          option: 'connection',
        },
      );
    }
  }

  /**
   * A new connection with the same settings, for subscriptions (a
   * subscribed connection cannot run other commands). Closed by
   * {@link close}. Opened in the async context the handle was made in (an
   * adapter's construction), not in that of the call that first needed it:
   * its socket's events and reconnects run in that context and keep no
   * request's context alive. What it delivers to a subscriber is bound to
   * the subscriber's own context by the adapter.
   */
  duplicate(): RedisClient {
    const copy = this.#background(() => quiet(this.client.duplicate() as RedisClient));
    this.#duplicates.add(copy);
    return copy;
  }

  /** Closes every connection this handle created; leaves a user's client open. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    const owned = [...this.#duplicates, ...(this.owned ? [this.client] : [])];
    this.#duplicates.clear();
    await Promise.all(owned.map((c) => quitQuietly(c)));
  }
}

/**
 * ioredis prints "Unhandled error event" to the console for a client with
 * no 'error' listener while Redis is down. Connections scaleout creates get
 * one: their failures surface as rejected commands, which the primitives
 * handle (fail open, fail closed, typed errors), never as console noise.
 */
function quiet<T extends RedisClient>(client: T): T {
  client.on('error', () => {});
  return client;
}

async function quitQuietly(client: RedisClient): Promise<void> {
  if (client.status === 'end') return;
  const ended = new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, 1000);
    timer.unref();
    client.once('end', () => {
      clearTimeout(timer);
      resolve();
    });
  });
  if (client.status === 'ready') {
    // QUIT lets pending replies arrive first; a broken connection just fails it.
    client.quit().catch(() => {});
  } else {
    client.disconnect();
  }
  await ended;
  if ((client.status as string) !== 'end') client.disconnect();
}
