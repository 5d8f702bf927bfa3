import type { SessionAdapter, SessionRecord, SessionUpdateResult } from '../../contracts/session.js';
import { InvalidOptionsError } from '../../errors.js';
import { type RedisConnection, RedisConnectionHandle } from './connection.js';
import { validatePrefix } from './keys.js';
import { defineRedisScript } from './scripts.js';

/**
 * Options of {@link RedisSessionAdapter}.
 *
 * @example
 * ```ts
 * const options: RedisSessionAdapterOptions = { connection: 'redis://127.0.0.1:6379', prefix: 'app:sess:' };
 * ```
 */
export interface RedisSessionAdapterOptions {
  /** An ioredis `Redis`/`Cluster` (reused, never closed), a `redis://` URL or ioredis options. */
  connection: RedisConnection;
  /** Prefix of every key. @default 'scaleout:session:' */
  prefix?: string;
}

const DEFAULTS = { prefix: 'scaleout:session:' } as const;

// A session is one hash: d = data, v = version, u = user id ('' for none),
// t = ttl ms, iu = time (ms) until which the user's index is known to live.
// Each script touches one key, so every call works unchanged on Cluster.

const createScript = defineRedisScript({
  name: 'session-create',
  keys: 1,
  lua: `
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('HSET', KEYS[1], 'd', ARGV[1], 'v', 1, 'u', ARGV[2], 't', ARGV[3], 'iu', ARGV[4])
redis.call('PEXPIRE', KEYS[1], ARGV[3])
return 1`,
});

// Reads and extends in one step. When the user's index would expire before
// the session, records a later index deadline and answers 1 in the last slot
// so that the caller extends the index (once per ttl, not per request).
const touchScript = defineRedisScript({
  name: 'session-touch',
  keys: 1,
  lua: `
local h = redis.call('HMGET', KEYS[1], 'd', 'v', 'u', 't', 'iu')
if not h[2] then return false end
local ttl = tonumber(h[4])
redis.call('PEXPIRE', KEYS[1], ttl)
local extend = 0
local now = tonumber(ARGV[1])
if h[3] ~= '' and tonumber(h[5] or '0') < now + ttl then
  redis.call('HSET', KEYS[1], 'iu', now + 2 * ttl)
  extend = 1
end
return {h[1], h[2], h[3], h[4], extend}`,
});

// Compare the version, then write: the loser of a race gets the current
// record back (so a merge can retry without another read).
const updateScript = defineRedisScript({
  name: 'session-update',
  keys: 1,
  lua: `
local h = redis.call('HMGET', KEYS[1], 'd', 'v', 'u', 't', 'iu')
if not h[2] then return {0} end
if h[2] ~= ARGV[1] then return {-1, h[1], h[2], h[3], h[4]} end
local v = tonumber(h[2]) + 1
local ttl = tonumber(h[4])
redis.call('HSET', KEYS[1], 'd', ARGV[2], 'v', v)
redis.call('PEXPIRE', KEYS[1], ttl)
local extend = 0
local now = tonumber(ARGV[3])
if h[3] ~= '' and tonumber(h[5] or '0') < now + ttl then
  redis.call('HSET', KEYS[1], 'iu', now + 2 * ttl)
  extend = 1
end
return {1, tostring(v), h[3], h[4], extend}`,
});

const destroyScript = defineRedisScript({
  name: 'session-destroy',
  keys: 1,
  lua: `
local u = redis.call('HGET', KEYS[1], 'u')
if not u then return false end
redis.call('UNLINK', KEYS[1])
return u`,
});

// Adds a session id to its user's index and keeps the index alive at least
// ARGV[2] ms (never shortens it).
const indexAddScript = defineRedisScript({
  name: 'session-index-add',
  keys: 1,
  lua: `
redis.call('SADD', KEYS[1], ARGV[1])
local p = redis.call('PTTL', KEYS[1])
if p < tonumber(ARGV[2]) then redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 1`,
});

/**
 * Sessions in Redis through ioredis. One round trip per `get`, `touch` and
 * `update` (a Lua script called by SHA); the per-user index is a set whose
 * lifetime follows the user's longest session, extended at most once per
 * session TTL. Every script touches a single key, so the adapter runs
 * unchanged on Redis Cluster.
 *
 * Keys: `<prefix>s:<id>` (a hash) and `<prefix>u:<userId>` (a set).
 *
 * @example
 * ```ts
 * import { Redis } from 'ioredis';
 * const sessions = new SessionStore({ adapter: new RedisSessionAdapter({ connection: new Redis() }) });
 * ```
 */
export class RedisSessionAdapter implements SessionAdapter {
  readonly #handle: RedisConnectionHandle;
  readonly #prefix: string;

  constructor(options: RedisSessionAdapterOptions) {
    if (typeof options !== 'object' || options === null) {
      throw new InvalidOptionsError('options with a connection are required', { option: 'connection' });
    }
    this.#prefix = validatePrefix(options.prefix ?? DEFAULTS.prefix);
    this.#handle = new RedisConnectionHandle(options.connection);
  }

  #sessionKey(id: string): string {
    return `${this.#prefix}s:${id}`;
  }

  #indexKey(userId: string): string {
    return `${this.#prefix}u:${userId}`;
  }

  async create(input: {
    id: string;
    data: string;
    userId: string | undefined;
    ttlMs: number;
  }): Promise<boolean> {
    const client = this.#handle.client;
    const indexTtl = 2 * input.ttlMs;
    const created = createScript.run(
      client,
      [this.#sessionKey(input.id)],
      [input.data, input.userId ?? '', input.ttlMs, Date.now() + indexTtl],
    );
    if (input.userId === undefined) return (await created) === 1;
    // Indexing first (in the same flight) means a session can never exist
    // without its index entry; a stray entry for a lost race is harmless.
    const [ok] = await Promise.all([
      created,
      indexAddScript.run(client, [this.#indexKey(input.userId)], [input.id, indexTtl]),
    ]);
    return ok === 1;
  }

  async get(id: string): Promise<SessionRecord | undefined> {
    const [data, version, userId, ttl] = await this.#handle.client.hmget(
      this.#sessionKey(id),
      'd',
      'v',
      'u',
      't',
    );
    if (data == null || version == null || ttl == null) return undefined;
    return { data, version: Number(version), userId: userId ? userId : undefined, ttlMs: Number(ttl) };
  }

  async touch(id: string): Promise<SessionRecord | undefined> {
    const reply = (await touchScript.run(this.#handle.client, [this.#sessionKey(id)], [Date.now()])) as
      | [string, string, string, string, number]
      | null;
    if (reply === null) return undefined;
    const record: SessionRecord = {
      data: reply[0],
      version: Number(reply[1]),
      userId: reply[2] === '' ? undefined : reply[2],
      ttlMs: Number(reply[3]),
    };
    if (reply[4] === 1 && record.userId !== undefined)
      await this.#extendIndex(record.userId, id, record.ttlMs);
    return record;
  }

  async update(input: { id: string; data: string; expectedVersion: number }): Promise<SessionUpdateResult> {
    const reply = (await updateScript.run(
      this.#handle.client,
      [this.#sessionKey(input.id)],
      [String(input.expectedVersion), input.data, Date.now()],
    )) as [number, ...Array<string | number>];
    if (reply[0] === 0) return { status: 'missing' };
    if (reply[0] === -1) {
      const [, data, version, userId, ttl] = reply as [number, string, string, string, string];
      return {
        status: 'conflict',
        current: {
          data,
          version: Number(version),
          userId: userId === '' ? undefined : userId,
          ttlMs: Number(ttl),
        },
      };
    }
    const [, version, userId, ttl, extend] = reply as [number, string, string, string, number];
    const record: SessionRecord = {
      data: input.data,
      version: Number(version),
      userId: userId === '' ? undefined : userId,
      ttlMs: Number(ttl),
    };
    if (extend === 1 && record.userId !== undefined)
      await this.#extendIndex(record.userId, input.id, record.ttlMs);
    return { status: 'ok', record };
  }

  async destroy(id: string): Promise<boolean> {
    const userId = (await destroyScript.run(this.#handle.client, [this.#sessionKey(id)])) as string | null;
    if (userId === null) return false;
    if (userId !== '') await this.#handle.client.srem(this.#indexKey(userId), id);
    return true;
  }

  async destroyAllForUser(userId: string): Promise<number> {
    const client = this.#handle.client;
    const indexKey = this.#indexKey(userId);
    const ids = await client.smembers(indexKey);
    if (ids.length === 0) return 0;
    // One UNLINK per session key: on a Cluster they live in different slots;
    // issued together, they travel as one pipeline per node.
    const removed = await Promise.all(ids.map((id) => client.unlink(this.#sessionKey(id))));
    await client.srem(indexKey, ...ids);
    return removed.reduce((sum, n) => sum + n, 0);
  }

  /** Closes the connection if this adapter created it (a client you passed stays open). */
  async close(): Promise<void> {
    await this.#handle.close();
  }

  /** Same as {@link close}. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  async #extendIndex(userId: string, id: string, ttlMs: number): Promise<void> {
    // Re-adding the id heals an index lost to a clock jump or an eviction.
    await indexAddScript.run(this.#handle.client, [this.#indexKey(userId)], [id, 2 * ttlMs]);
  }
}

/**
 * Creates a {@link RedisSessionAdapter}.
 *
 * @example
 * ```ts
 * const adapter = redisSessionAdapter({ connection: process.env.REDIS_URL!, prefix: 'myapp:sess:' });
 * const sessions = new SessionStore({ adapter });
 * ```
 */
export function redisSessionAdapter(options: RedisSessionAdapterOptions): RedisSessionAdapter {
  return new RedisSessionAdapter(options);
}
