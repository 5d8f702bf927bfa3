import { defineRedisScript } from './scripts.js';

// The fencing counter of a resource is seeded, whenever it is missing (first
// use, expiry, or data lost in a restart without persistence), from the
// server clock in microseconds. Later values only grow by INCR, so a fencing
// token stays larger than every earlier one as long as the server clock does
// not step back and fewer than one acquire per microsecond happened since
// the previous seeding.
//
// So a counter scaleout wrote is a string of digits, at least FENCE_FLOOR
// (2020-09-13 in microseconds: no seed is older) and below 2^53 - 1 (the
// largest token JavaScript reads exactly). Anything else there (another
// type, text, a fraction, a negative or small number, int64 max) is refused
// with a 'scaleout:data' error, and the script then leaves nothing changed:
// INCR on it would fail (the hold already taken and never reported) or hand
// out a token lower than earlier ones. fence_bad judges the reply of a
// `redis.pcall('GET', key)` of a counter that exists (TYPE only to name a
// wrong type): the reason it is refused, or nil and the counter.
// fence_check reads the counter first (the semaphore and raise-fence
// scripts, which check before they write): the counter, false when it is
// missing (fence then seeds it without an INCR), or nil and the reason.
const SEED_FENCE = `
local function fence_bad(key, v)
  if type(v) == 'table' then return 'the fencing counter is a ' .. redis.call('TYPE', key)['ok'] end
  if #v > 16 or not string.match(v, '^[1-9]%d*$') then return 'the fencing counter is not a positive integer' end
  local n = tonumber(v)
  if n >= 9007199254740991 then return 'the fencing counter is at 2^53 - 1' end
  if n < 1600000000000000 then return 'the fencing counter is below any value scaleout seeds' end
  return nil, n
end
local function fence_check(key)
  local v = redis.pcall('GET', key)
  if not v then return false end
  local bad, n = fence_bad(key, v)
  if bad then return nil, bad end
  return n
end
local function fence(key, ttl, current)
  if current then return redis.call('INCR', key) end
  local t = redis.call('TIME')
  local f = tonumber(t[1]) * 1000000 + tonumber(t[2])
  redis.call('SET', key, string.format('%.0f', f), 'PX', ttl)
  return f
end
`;

/** How long a waiter marker outlives the hold it was set on, in ms (waiters refresh it on every refused attempt). */
const WAITING_MARGIN_MS = 60_000;

/**
 * The refused end of an acquire, shared by the acquire script and
 * `lockRefused`: the hold at KEYS[1] (not missing) is checked (a string with
 * an expiry, else a 'scaleout:data' error), the waiter marker at `waiting`
 * is set, and the script returns -1 - the holder's remaining TTL. Expects a
 * Lua local `kind` holding the hold's TYPE.
 */
const refused = (
  waiting: string,
): string => `if kind ~= 'string' then return redis.error_reply('scaleout:data the lock record is a ' .. kind) end
local pttl = redis.call('PTTL', KEYS[1])
if pttl < 0 then return redis.error_reply('scaleout:data the lock record has no expiry') end
redis.call('SET', ${waiting}, '1', 'PX', pttl + ${WAITING_MARGIN_MS})
return -1 - pttl`;

/**
 * KEYS: lock, fence, waiting. ARGV: token, ttlMs, fenceTtlMs. Returns the
 * fencing token (>= 1) when granted, else -1 - the holder's remaining TTL
 * in ms, after setting the waiter marker (see releaseLock).
 *
 * The hot path first: `SET NX PX` of the hold, then one read of the counter
 * and its INCR, or (missing counter) TIME and the seed. Junk at the counter
 * is found after the hold was set and the hold is deleted again before the
 * error is returned (one atomic script: nobody sees it, nothing is left
 * changed); while the resource is held, an acquire is refused as usual and
 * the junk is reported to the attempt that finds the resource free. A single
 * integer reply costs less to send and to parse than a pair.
 */
const acquireLock = defineRedisScript({
  name: 'lock-acquire',
  keys: 3,
  lua: `${SEED_FENCE}
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then
  local v = redis.pcall('GET', KEYS[2])
  if not v then return fence(KEYS[2], ARGV[3], false) end
  local bad = fence_bad(KEYS[2], v)
  if bad then
    redis.call('DEL', KEYS[1])
    return redis.error_reply('scaleout:data ' .. bad)
  end
  return redis.call('INCR', KEYS[2])
end
local kind = redis.call('TYPE', KEYS[1])['ok']
${refused('KEYS[3]')}`,
});

/**
 * KEYS: fence. ARGV: floor. Raises the counter to `floor` when it is lower,
 * keeping its TTL (Redlock: every instance of a granting majority ends at
 * least at the token handed out). A missing counter stays missing: the next
 * acquire seeds it from the server clock.
 */
const raiseFence = defineRedisScript({
  name: 'lock-raise-fence',
  keys: 1,
  lua: `${SEED_FENCE}
local current, bad = fence_check(KEYS[1])
if bad then return redis.error_reply('scaleout:data ' .. bad) end
if current and current < tonumber(ARGV[1]) then
  redis.call('SET', KEYS[1], ARGV[1], 'KEEPTTL')
  return 1
end
return 0`,
});

/**
 * KEYS: lock, waiting. The refused half of the acquire script, for an
 * adapter without fencing tokens whose acquire is a plain `SET NX PX`: runs
 * only after that `SET` found the resource taken. Checks the hold as the
 * acquire script does, marks it as waited for, and returns -1 - the
 * holder's remaining TTL (-1, "try again now", if the hold is already gone).
 */
const lockRefused = defineRedisScript({
  name: 'lock-refused',
  keys: 2,
  lua: `local kind = redis.call('TYPE', KEYS[1])['ok']
if kind == 'none' then return -1 end
${refused('KEYS[2]')}`,
});

/**
 * KEYS: lock, waiting. ARGV: token. Deletes the hold if `token` owns it and
 * publishes on `<lock key>:released` (the adapter's channel) only if the
 * waiter marker was there: an acquire was refused while the hold lasted, so
 * someone may be waiting. Every waiter is refused at least once before it
 * subscribes (and tries again once subscribed), so a release nobody waits
 * for costs no PUBLISH (on Cluster, a message to every node). The marker's
 * content is never read: whatever is at that key counts as "someone waits".
 */
const releaseLock = defineRedisScript({
  name: 'lock-release',
  keys: 2,
  lua: `if redis.call('GET', KEYS[1]) == ARGV[1] then
  if redis.call('DEL', KEYS[1], KEYS[2]) == 2 then redis.call('PUBLISH', KEYS[1] .. ':released', '1') end
  return 1
end
return 0`,
});

/** KEYS: lock. ARGV: token, ttlMs. */
const extendLock = defineRedisScript({
  name: 'lock-extend',
  keys: 1,
  lua: `if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0`,
});

const SEM_NOW = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
`;

/**
 * KEYS: holders (zset token -> expiry ms), fence. ARGV: token, ttlMs, limit, fenceTtlMs.
 * The holders' set must be a sorted set with an expiry whose scores lie
 * within a year from now (no TTL is longer): a set another program wrote
 * would otherwise count as held slots forever.
 */
const acquireSemaphore = defineRedisScript({
  name: 'semaphore-acquire',
  keys: 2,
  lua: `${SEED_FENCE}${SEM_NOW}
local kind = redis.call('TYPE', KEYS[1])['ok']
if kind ~= 'none' and kind ~= 'zset' then return redis.error_reply('scaleout:data the semaphore holders are a ' .. kind) end
local current, bad = fence_check(KEYS[2])
if bad then return redis.error_reply('scaleout:data ' .. bad) end
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if redis.call('ZCARD', KEYS[1]) > 0 then
  if redis.call('PTTL', KEYS[1]) < 0 then return redis.error_reply('scaleout:data the semaphore holders have no expiry') end
  local latest = tonumber(redis.call('ZRANGE', KEYS[1], -1, -1, 'WITHSCORES')[2])
  if not latest or latest > now + 31536000000 then
    return redis.error_reply('scaleout:data a semaphore holder expires more than a year from now')
  end
end
if (not redis.call('ZSCORE', KEYS[1], ARGV[1])) and redis.call('ZCARD', KEYS[1]) < tonumber(ARGV[3]) then
  redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), ARGV[1])
  local last = redis.call('ZRANGE', KEYS[1], -1, -1, 'WITHSCORES')
  redis.call('PEXPIREAT', KEYS[1], last[2])
  return {1, fence(KEYS[2], ARGV[4], current)}
end
local first = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
if first[2] then return {0, tonumber(first[2]) - now} end
return {0, -2}`,
});

/** KEYS: holders. ARGV: token, channel. */
const releaseSemaphore = defineRedisScript({
  name: 'semaphore-release',
  keys: 1,
  lua: `${SEM_NOW}
local s = redis.call('ZSCORE', KEYS[1], ARGV[1])
if not s then return 0 end
redis.call('ZREM', KEYS[1], ARGV[1])
if tonumber(s) > now then
  redis.call('PUBLISH', ARGV[2], '1')
  return 1
end
return 0`,
});

/** KEYS: holders. ARGV: token, ttlMs. */
const extendSemaphore = defineRedisScript({
  name: 'semaphore-extend',
  keys: 1,
  lua: `${SEM_NOW}
local s = redis.call('ZSCORE', KEYS[1], ARGV[1])
if s and tonumber(s) > now then
  redis.call('ZADD', KEYS[1], 'XX', now + tonumber(ARGV[2]), ARGV[1])
  local last = redis.call('ZRANGE', KEYS[1], -1, -1, 'WITHSCORES')
  redis.call('PEXPIREAT', KEYS[1], last[2])
  return 1
end
return 0`,
});

/**
 * Every Lua script of the Redis lock adapter, for preloading or inspection.
 *
 * @example
 * ```ts
 * for (const script of Object.values(redisLockScripts)) await script.load(redis);
 * ```
 */
export const redisLockScripts = Object.freeze({
  acquireLock,
  lockRefused,
  raiseFence,
  releaseLock,
  extendLock,
  acquireSemaphore,
  releaseSemaphore,
  extendSemaphore,
});
