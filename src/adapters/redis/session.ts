import type {
  SessionAdapter,
  SessionMoveResult,
  SessionRecord,
  SessionUpdateResult,
} from '../../contracts/session.js';
import { InvalidOptionsError } from '../../errors.js';
import { isCluster, type RedisConnection, RedisConnectionHandle } from './connection.js';
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

// Moves a session to a new id in one step (standalone Redis): the hash keeps
// its fields (data, version, owner, ttl) and its remaining PTTL; the owner's
// index swaps the ids in the same step. KEYS: old, new, index ('' user: any
// key, untouched). ARGV[1] = expected owner, ARGV[2] = old id, ARGV[3] = new id.
// Answers 0 (old missing or owner changed), -1 (new id taken) or the record.
const moveScript = defineRedisScript({
  name: 'session-move',
  keys: 3,
  lua: `
local h = redis.call('HMGET', KEYS[1], 'd', 'v', 'u', 't')
if not h[2] or h[3] ~= ARGV[1] then return 0 end
if redis.call('EXISTS', KEYS[2]) == 1 then return -1 end
redis.call('RENAME', KEYS[1], KEYS[2])
if ARGV[1] ~= '' then
  redis.call('SREM', KEYS[3], ARGV[2])
  redis.call('SADD', KEYS[3], ARGV[3])
end
return {h[1], h[2], h[3], h[4]}`,
});

// Cluster (the two ids live in different slots): take the old hash in one
// step (read, remaining PTTL, delete), then put it under the new id.
const takeScript = defineRedisScript({
  name: 'session-take',
  keys: 1,
  lua: `
local h = redis.call('HMGET', KEYS[1], 'd', 'v', 'u', 't', 'iu')
if not h[2] or h[3] ~= ARGV[1] then return 0 end
local p = redis.call('PTTL', KEYS[1])
redis.call('UNLINK', KEYS[1])
return {h[1], h[2], h[3], h[4], h[5] or '0', p}`,
});

const putScript = defineRedisScript({
  name: 'session-put',
  keys: 1,
  lua: `
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('HSET', KEYS[1], 'd', ARGV[1], 'v', ARGV[2], 'u', ARGV[3], 't', ARGV[4], 'iu', ARGV[5])
redis.call('PEXPIRE', KEYS[1], ARGV[6])
return 1`,
});

// Logout everywhere in one step (standalone Redis): KEYS[1] is the index,
// the other keys the sessions it listed when the caller read it (ARGV: their
// ids). If the index changed since, answers -1 and the caller reads again.
const destroyAllScript = defineRedisScript({
  name: 'session-destroy-all',
  keys: 'variadic',
  lua: `
if redis.call('SCARD', KEYS[1]) ~= #ARGV then return -1 end
for i = 1, #ARGV do
  if redis.call('SISMEMBER', KEYS[1], ARGV[i]) == 0 then return -1 end
end
local n = 0
for i = 2, #KEYS do n = n + redis.call('UNLINK', KEYS[i]) end
redis.call('UNLINK', KEYS[1])
return n`,
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

  async move(input: { id: string; newId: string }): Promise<SessionMoveResult> {
    const client = this.#handle.client;
    const owner = await client.hget(this.#sessionKey(input.id), 'u');
    if (owner == null) return { status: 'missing' };
    // The owner never changes, so its index key can be named up front (the
    // scripts re-check it).
    const indexKey = owner === '' ? this.#sessionKey(input.id) : this.#indexKey(owner);
    if (!isCluster(client)) {
      const reply = (await moveScript.run(
        client,
        [this.#sessionKey(input.id), this.#sessionKey(input.newId), indexKey],
        [owner, input.id, input.newId],
      )) as number | [string, string, string, string];
      if (typeof reply === 'number') return { status: reply === -1 ? 'taken' : 'missing' };
      return { status: 'ok', record: this.#record(reply) };
    }
    // Cluster: index the new id first (so that it is never unindexed), take
    // the old record, put it under the new id. An update of the old id after
    // the take meets "missing"; a crash between take and put loses the
    // session (fails closed: the user signs in again).
    if (owner !== '') await client.sadd(indexKey, input.newId);
    if ((await client.exists(this.#sessionKey(input.newId))) === 1) return { status: 'taken' };
    const taken = (await takeScript.run(client, [this.#sessionKey(input.id)], [owner])) as
      | 0
      | [string, string, string, string, string, number];
    if (taken === 0) return { status: 'missing' };
    const [data, version, , ttl, indexUntil, pttl] = taken;
    const put = await putScript.run(
      client,
      [this.#sessionKey(input.newId)],
      [data, version, owner, ttl, indexUntil, Math.max(1, pttl)],
    );
    // Re-adding the new id heals the index should a concurrent
    // destroyAllForUser have swept it between the two steps.
    if (owner !== '')
      await Promise.all([client.sadd(indexKey, input.newId), client.srem(indexKey, input.id)]);
    if (put !== 1) return { status: 'missing' }; // 256-bit ids: only a concurrent put of the same id
    return { status: 'ok', record: this.#record([data, version, owner, ttl]) };
  }

  async destroyAllForUser(userId: string): Promise<number> {
    const client = this.#handle.client;
    const indexKey = this.#indexKey(userId);
    if (!isCluster(client)) {
      // One atomic step over exactly the sessions the index lists: a session
      // moved by regenerate is either still listed under its old id or
      // already under its new one, never missed in between.
      for (let attempt = 0; attempt < 32; attempt++) {
        const ids = await client.smembers(indexKey);
        if (ids.length === 0) return 0;
        const n = (await destroyAllScript.run(
          client,
          [indexKey, ...ids.map((id) => this.#sessionKey(id))],
          ids,
        )) as number;
        if (n >= 0) return n;
      }
      // The index kept changing (logins in a storm): fall through to the
      // step-by-step sweep of what it lists now.
    }
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

  #record(reply: readonly [string, string, string, string]): SessionRecord {
    return {
      data: reply[0],
      version: Number(reply[1]),
      userId: reply[2] === '' ? undefined : reply[2],
      ttlMs: Number(reply[3]),
    };
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
