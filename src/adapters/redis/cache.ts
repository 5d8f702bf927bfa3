import type {
  CacheAdapter,
  CacheAdapterClearOptions,
  CacheAdapterEntry,
  CacheAdapterIncrementOptions,
  CacheAdapterSetOptions,
  CacheAdapterSubscribeOptions,
} from '../../contracts/cache.js';
import {
  ClosedError,
  CorruptDataError,
  InvalidArgumentError,
  InvalidOptionsError,
  isScaleoutError,
} from '../../errors.js';
import { bindToCurrentContext } from '../../internal/async-context.js';
import { optionsChecker } from '../../internal/validate.js';
import type { Subscription } from '../../types.js';
import {
  isCluster,
  type RedisClient,
  type RedisConnection,
  RedisConnectionHandle,
  redisFailure,
} from './connection.js';
import { escapeGlob, validatePrefix } from './keys.js';
import { defineRedisScript } from './scripts.js';

/**
 * Options of {@link RedisCacheAdapter} / {@link redisCacheAdapter}.
 *
 * @example
 * ```ts
 * const adapter = redisCacheAdapter({ connection: 'redis://127.0.0.1:6379', prefix: 'shop:cache:' });
 * ```
 */
export interface RedisCacheAdapterOptions {
  /** An ioredis `Redis` or `Cluster` (reused, never closed here), a `redis://` URL or ioredis options. */
  connection: RedisConnection;
  /** Prepended to every key and channel name. @default 'scaleout:cache:' */
  prefix?: string;
  /** Keys per SCAN step and per pipeline batch of {@link RedisCacheAdapter.clear}. @default 1000 */
  scanCount?: number;
}

/**
 * The defaults of {@link RedisCacheAdapterOptions}.
 *
 * @example
 * ```ts
 * REDIS_CACHE_ADAPTER_DEFAULTS.prefix; // 'scaleout:cache:'
 * ```
 */
export const REDIS_CACHE_ADAPTER_DEFAULTS = {
  /** Default of {@link RedisCacheAdapterOptions.prefix}. */
  prefix: 'scaleout:cache:',
  /** Default of {@link RedisCacheAdapterOptions.scanCount}. */
  scanCount: 1000,
} as const;

const checkOptions = optionsChecker({
  where: 'redisCacheAdapter() options',
  keys: ['connection', 'prefix', 'scanCount'],
  hints: { client: 'connection', redis: 'connection', url: 'connection', keyPrefix: 'prefix' },
});

const compareAndDelete = defineRedisScript({
  name: 'cache-compare-and-delete',
  keys: 1,
  lua: `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0`,
});

/**
 * INCRBY with the cache's rules, checked before anything is written: the
 * stored text must be an integer scaleout could have written (digits, in
 * the safe-integer range, no leading zeros: Redis's own integer syntax), else a `scaleout:data` error (CorruptDataError);
 * a result outside +-(2^53 - 1) is refused with `scaleout:overflow` and the
 * counter is left as it was (ioredis would read a larger int64 back as a
 * rounded double, silently). KEYS: counter. ARGV: by, ttlMs (0: keep).
 */
const incrementWithTtl = defineRedisScript({
  name: 'cache-increment',
  keys: 1,
  lua: `local max = 9007199254740991
-- redis.error_reply, or error() where it is missing (ioredis-mock's Lua VM)
local function fail(message)
  if redis.error_reply then return redis.error_reply(message) end
  error(message)
end
local cur = redis.call('GET', KEYS[1])
local n = 0
if cur then
  if #cur > 17 or (cur ~= '0' and not string.match(cur, '^%-?[1-9]%d*$')) then
    return fail('ERR scaleout:data the stored value is not an integer counter')
  end
  n = tonumber(cur)
  if n > max or n < -max then
    return fail('ERR scaleout:data the stored counter is outside the safe integer range')
  end
end
local v = n + tonumber(ARGV[1])
if v > max or v < -max then
  return fail('ERR scaleout:overflow the counter would leave the safe integer range')
end
v = redis.call('INCRBY', KEYS[1], ARGV[1])
if tonumber(ARGV[2]) > 0 then redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return v`,
});

// A Cluster sends a key-less PUBLISH to any master, and two masters relay to a
// subscriber over different bus links, so messages could overtake each other.
// Routed by the channel's slot, every message of a channel leaves one master,
// in order. The channel only routes; the script touches no key.
const publishOnChannelSlot = defineRedisScript({
  name: 'cache-publish',
  keys: 1,
  lua: `return redis.call('PUBLISH', KEYS[1], ARGV[1])`,
});

/**
 * The Redis {@link CacheAdapter}, on ioredis. Every operation touches one
 * key per command or script, so it runs unchanged on Redis Cluster; many-key
 * operations are one `MGET` (standalone) or one pipeline. Pub/sub uses one
 * extra connection per adapter, created on first subscribe.
 *
 * @example
 * ```ts
 * import { Redis } from 'ioredis';
 * const adapter = new RedisCacheAdapter({ connection: new Redis(), prefix: 'shop:cache:' });
 * ```
 */
export class RedisCacheAdapter implements CacheAdapter {
  readonly #handle: RedisConnectionHandle;
  readonly #client: RedisClient;
  readonly #prefix: string;
  readonly #scanCount: number;
  readonly #cluster: boolean;
  #subscriber: RedisClient | undefined;
  #subscriberReady: Promise<void> | undefined;
  readonly #channels = new Map<string, Set<CacheAdapterSubscribeOptions>>();
  #closed = false;

  constructor(options: RedisCacheAdapterOptions) {
    checkOptions(options);
    if (options === undefined) {
      throw new InvalidOptionsError('redisCacheAdapter() needs { connection }', { option: 'connection' });
    }
    this.#prefix = validatePrefix(options.prefix ?? REDIS_CACHE_ADAPTER_DEFAULTS.prefix);
    this.#scanCount = options.scanCount ?? REDIS_CACHE_ADAPTER_DEFAULTS.scanCount;
    if (!Number.isInteger(this.#scanCount) || this.#scanCount < 1) {
      throw new InvalidOptionsError('scanCount must be an integer >= 1', { option: 'scanCount' });
    }
    this.#handle = new RedisConnectionHandle(options.connection);
    this.#client = this.#handle.client;
    this.#cluster = isCluster(this.#client);
  }

  /** The ioredis client commands go through. */
  get client(): RedisClient {
    return this.#client;
  }

  /** The key prefix. */
  get prefix(): string {
    return this.#prefix;
  }

  #check(): void {
    if (this.#closed) throw new ClosedError('redis cache adapter is closed');
  }

  get(key: string): Promise<string | undefined> {
    if (this.#closed) return Promise.reject(new ClosedError('redis cache adapter is closed'));
    // No async frame: this is the Redis-tier hot path.
    const full = this.#prefix + key;
    return this.#client.get(full).then(nullToUndefined, (err: unknown) => {
      throw redisFailure('redis cache get', err, full);
    });
  }

  async getMany(keys: readonly string[]): Promise<Array<string | undefined>> {
    this.#check();
    try {
      return await this.#getMany(keys);
    } catch (err) {
      throw redisFailure('redis cache getMany', err);
    }
  }

  async #getMany(keys: readonly string[]): Promise<Array<string | undefined>> {
    if (keys.length === 0) return [];
    const full = keys.map((k) => this.#prefix + k);
    if (!this.#cluster) {
      const values = await this.#client.mget(full);
      return values.map((v) => v ?? undefined);
    }
    // Cluster: keys live in different slots; ioredis routes each GET to its node.
    const values = await Promise.all(full.map((k) => this.#client.get(k)));
    return values.map((v) => v ?? undefined);
  }

  async set(key: string, value: string, options?: CacheAdapterSetOptions): Promise<void> {
    this.#check();
    const ttlMs = options?.ttlMs;
    const full = this.#prefix + key;
    try {
      if (ttlMs === undefined) await this.#client.set(full, value);
      else await this.#client.set(full, value, 'PX', ttlMs);
    } catch (err) {
      throw redisFailure('redis cache set', err, full);
    }
  }

  async setMany(entries: readonly CacheAdapterEntry[]): Promise<void> {
    this.#check();
    try {
      await this.#setMany(entries);
    } catch (err) {
      throw redisFailure('redis cache setMany', err);
    }
  }

  async #setMany(entries: readonly CacheAdapterEntry[]): Promise<void> {
    if (entries.length === 0) return;
    if (this.#cluster) {
      await Promise.all(entries.map((e) => this.set(e.key, e.value, { ttlMs: e.ttlMs })));
      return;
    }
    const pipeline = this.#client.pipeline();
    for (const e of entries) {
      if (e.ttlMs === undefined) pipeline.set(this.#prefix + e.key, e.value);
      else pipeline.set(this.#prefix + e.key, e.value, 'PX', e.ttlMs);
    }
    throwFirst(await pipeline.exec());
  }

  async setIfAbsent(key: string, value: string, options?: CacheAdapterSetOptions): Promise<boolean> {
    this.#check();
    const ttlMs = options?.ttlMs;
    const full = this.#prefix + key;
    try {
      const reply =
        ttlMs === undefined
          ? await this.#client.set(full, value, 'NX')
          : await this.#client.set(full, value, 'PX', ttlMs, 'NX');
      return reply === 'OK';
    } catch (err) {
      throw redisFailure('redis cache setIfAbsent', err, full);
    }
  }

  async delete(key: string): Promise<boolean> {
    this.#check();
    const full = this.#prefix + key;
    try {
      return (await this.#client.del(full)) > 0;
    } catch (err) {
      throw redisFailure('redis cache delete', err, full);
    }
  }

  async deleteIfEquals(key: string, value: string): Promise<boolean> {
    this.#check();
    const full = this.#prefix + key;
    try {
      return (await compareAndDelete.run(this.#client, [full], [value])) === 1;
    } catch (err) {
      throw redisFailure('redis cache deleteIfEquals', err, full);
    }
  }

  async deleteMany(keys: readonly string[]): Promise<number> {
    this.#check();
    try {
      return await this.#deleteMany(keys);
    } catch (err) {
      throw redisFailure('redis cache deleteMany', err);
    }
  }

  async #deleteMany(keys: readonly string[]): Promise<number> {
    if (keys.length === 0) return 0;
    if (this.#cluster) {
      const counts = await Promise.all(keys.map((k) => this.#client.del(this.#prefix + k)));
      return counts.reduce((a, b) => a + b, 0);
    }
    return await this.#client.del(...keys.map((k) => this.#prefix + k));
  }

  async increment(key: string, options: CacheAdapterIncrementOptions): Promise<number> {
    this.#check();
    const full = this.#prefix + key;
    try {
      const reply = await incrementWithTtl.run(this.#client, [full], [options.by, options.ttlMs ?? 0]);
      return Number(reply);
    } catch (err) {
      if (!isScaleoutError(err) && err instanceof Error && err.message.includes('scaleout:overflow')) {
        throw new InvalidArgumentError(
          'increment would take the counter outside the safe integer range (+-(2^53 - 1)); it is unchanged',
          { argument: 'by', cause: err },
        );
      }
      if (!isScaleoutError(err) && err instanceof Error && err.message.includes('scaleout:data')) {
        // Our own script's refusal, whatever the driver calls the error.
        throw new CorruptDataError(
          'redis cache increment: the value stored under this key is not an integer counter scaleout writes',
          { key: full, cause: err },
        );
      }
      throw redisFailure('redis cache increment', err, full);
    }
  }

  async clear(options?: CacheAdapterClearOptions): Promise<number> {
    this.#check();
    try {
      return await this.#clear(options);
    } catch (err) {
      throw redisFailure('redis cache clear', err);
    }
  }

  async #clear(options?: CacheAdapterClearOptions): Promise<number> {
    const pattern = `${escapeGlob(this.#prefix + (options?.prefix ?? ''))}*`;
    const nodes: RedisClient[] = isCluster(this.#client) ? this.#client.nodes('master') : [this.#client];
    let removed = 0;
    for (const node of nodes) {
      let cursor = '0';
      do {
        const [next, keys] = await node.scan(cursor, 'MATCH', pattern, 'COUNT', this.#scanCount);
        cursor = next;
        if (keys.length > 0) {
          // One UNLINK per key: on a Cluster node, keys of one SCAN page span slots.
          const pipeline = node.pipeline();
          for (const k of keys) pipeline.unlink(k);
          const results = throwFirst(await pipeline.exec());
          for (const r of results) removed += Number(r[1]);
        }
      } while (cursor !== '0');
    }
    return removed;
  }

  async publish(channel: string, message: string): Promise<void> {
    this.#check();
    const full = this.#prefix + channel;
    try {
      if (this.#cluster) await publishOnChannelSlot.run(this.#client, [full], [message]);
      else await this.#client.publish(full, message);
    } catch (err) {
      throw redisFailure('redis cache publish', err);
    }
  }

  async subscribe(channel: string, options: CacheAdapterSubscribeOptions): Promise<Subscription> {
    this.#check();
    const subscriber = await this.#ensureSubscriber();
    const full = this.#prefix + channel;
    let subscribers = this.#channels.get(full);
    const first = subscribers === undefined;
    if (subscribers === undefined) {
      subscribers = new Set();
      this.#channels.set(full, subscribers);
    }
    // Messages reach it in the async context of this call, not in that of
    // the call that opened the subscriber connection.
    const entry: CacheAdapterSubscribeOptions = {
      onMessage: bindToCurrentContext((message: string) => options.onMessage(message)),
      onReconnect:
        options.onReconnect === undefined ? undefined : bindToCurrentContext(() => options.onReconnect?.()),
      onDisconnect:
        options.onDisconnect === undefined ? undefined : bindToCurrentContext(() => options.onDisconnect?.()),
    };
    subscribers.add(entry);
    if (first) await subscriber.subscribe(full);
    return {
      unsubscribe: async () => {
        const set = this.#channels.get(full);
        if (set === undefined || !set.delete(entry) || set.size > 0) return;
        this.#channels.delete(full);
        if (!this.#closed) await subscriber.unsubscribe(full).catch(() => {});
      },
    };
  }

  #ensureSubscriber(): Promise<RedisClient> {
    if (this.#subscriber !== undefined) {
      const sub = this.#subscriber;
      return (this.#subscriberReady ?? Promise.resolve()).then(() => sub);
    }
    const sub = this.#handle.duplicate();
    this.#subscriber = sub;
    sub.on('error', () => {
      // Connection errors surface as reconnects; the command client reports them to callers.
    });
    sub.on('message', (channel: string, message: string) => {
      const set = this.#channels.get(channel);
      if (set === undefined) return;
      for (const s of set) s.onMessage(message);
    });
    let readyOnce = false;
    sub.on('close', () => {
      // The subscriber connection is gone: messages are missed until it is back.
      if (!readyOnce || this.#closed) return;
      for (const set of this.#channels.values()) for (const s of set) s.onDisconnect?.();
    });
    sub.on('ready', () => {
      if (!readyOnce) {
        readyOnce = true;
        return;
      }
      for (const set of this.#channels.values()) for (const s of set) s.onReconnect?.();
    });
    this.#subscriberReady =
      sub.status === 'ready'
        ? Promise.resolve()
        : new Promise<void>((resolve) => {
            sub.once('ready', () => resolve());
          });
    if (sub.status === 'ready') readyOnce = true;
    return this.#subscriberReady.then(() => sub);
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#channels.clear();
    await this.#handle.close();
  }

  /** Same as {@link close}, for `await using`. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}

function nullToUndefined(value: string | null): string | undefined {
  return value ?? undefined;
}

function throwFirst(results: Array<[Error | null, unknown]> | null): Array<[Error | null, unknown]> {
  if (results === null) throw new Error('pipeline was discarded');
  for (const [err] of results) if (err) throw err;
  return results;
}

/**
 * Makes a Redis {@link CacheAdapter} (see {@link RedisCacheAdapter}).
 *
 * @example
 * ```ts
 * import { Redis } from 'ioredis';
 * import { DistributedCache } from 'scaleout';
 * import { redisCacheAdapter } from 'scaleout/redis';
 * const cache = new DistributedCache({
 *   adapter: redisCacheAdapter({ connection: new Redis(process.env.REDIS_URL!), prefix: 'shop:' }),
 * });
 * ```
 */
export function redisCacheAdapter(options: RedisCacheAdapterOptions): RedisCacheAdapter {
  return new RedisCacheAdapter(options);
}
