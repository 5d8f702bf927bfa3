import { defineRedisScript } from './scripts.js';

// One idempotency record is one hash, read strictly before anything is
// written:
//   s  state: 'p' (in progress) or 'c' (completed)
//   o  owner token of the execution that claimed it
//   f  request fingerprint ('' when requests are not compared)
//   r  stored response (completed records only)
// Its TTL is the lease (in progress) or ttlMs (completed). Anything else at
// the key (another type, an unknown state, a missing or extra field, a field
// too long, no TTL) is foreign data: the scripts answer with an error reply
// holding `scaleout:data`, which the adapter reports as CorruptDataError.
const READ_RECORD = `
local function fail(reason)
  return redis.error_reply('scaleout:data idempotency record ' .. reason)
end
local function kind(key)
  return redis.call('TYPE', key)['ok']
end
local function read(key, maxToken, maxResponse)
  if redis.call('HLEN', key) > 4 then return nil, 'has unknown fields' end
  local rec = redis.call('HMGET', key, 's', 'o', 'f', 'r')
  local s, o, f, r = rec[1], rec[2], rec[3], rec[4]
  if not o or #o == 0 or #o > maxToken then return nil, 'has no valid owner' end
  if not f or #f > maxToken then return nil, 'has no valid fingerprint' end
  if s == 'p' then
    if r then return nil, 'in progress holds a response' end
  elseif s == 'c' then
    if not r then return nil, 'completed holds no response' end
    if #r > maxResponse then return nil, 'holds a response too large' end
  else
    return nil, 'has an unknown state'
  end
  return {s = s, o = o, f = f, r = r}
end
`;

/**
 * KEYS: record. ARGV: owner, fingerprint, leaseMs, maxToken, maxResponse.
 * Returns {'claimed'}, {'busy', fingerprint, pttl} or {'completed', fingerprint, response}.
 */
export const claimScript = defineRedisScript({
  name: 'idempotency-claim',
  keys: 1,
  lua: `${READ_RECORD}
local t = kind(KEYS[1])
if t == 'none' then
  redis.call('HSET', KEYS[1], 's', 'p', 'o', ARGV[1], 'f', ARGV[2])
  redis.call('PEXPIRE', KEYS[1], ARGV[3])
  return {'claimed'}
end
if t ~= 'hash' then return fail('is a ' .. t) end
local rec, why = read(KEYS[1], tonumber(ARGV[4]), tonumber(ARGV[5]))
if not rec then return fail(why) end
local ttl = redis.call('PTTL', KEYS[1])
if ttl < 0 then return fail('has no expiry') end
if rec.s == 'p' then return {'busy', rec.f, math.max(ttl, 1)} end
return {'completed', rec.f, rec.r}`,
});

/**
 * KEYS: record. ARGV: owner, fingerprint, response, ttlMs, maxToken, maxResponse.
 * Returns 1 (stored) or 0 (another execution holds or completed the key).
 */
export const completeScript = defineRedisScript({
  name: 'idempotency-complete',
  keys: 1,
  lua: `${READ_RECORD}
local t = kind(KEYS[1])
if t == 'none' then
  redis.call('HSET', KEYS[1], 's', 'c', 'o', ARGV[1], 'f', ARGV[2], 'r', ARGV[3])
  redis.call('PEXPIRE', KEYS[1], ARGV[4])
  return 1
end
if t ~= 'hash' then return fail('is a ' .. t) end
local rec, why = read(KEYS[1], tonumber(ARGV[5]), tonumber(ARGV[6]))
if not rec then return fail(why) end
if rec.s ~= 'p' or rec.o ~= ARGV[1] then return 0 end
redis.call('HSET', KEYS[1], 's', 'c', 'f', ARGV[2], 'r', ARGV[3])
redis.call('PEXPIRE', KEYS[1], ARGV[4])
return 1`,
});

/**
 * KEYS: record. ARGV: owner, maxToken, maxResponse.
 * Returns 1 (the owner's in-progress record was dropped) or 0.
 */
export const releaseScript = defineRedisScript({
  name: 'idempotency-release',
  keys: 1,
  lua: `${READ_RECORD}
local t = kind(KEYS[1])
if t == 'none' then return 0 end
if t ~= 'hash' then return fail('is a ' .. t) end
local rec, why = read(KEYS[1], tonumber(ARGV[2]), tonumber(ARGV[3]))
if not rec then return fail(why) end
if rec.s ~= 'p' or rec.o ~= ARGV[1] then return 0 end
redis.call('DEL', KEYS[1])
return 1`,
});

/**
 * Every Lua script of the Redis idempotency store, for preloading or inspection.
 *
 * @example
 * ```ts
 * for (const script of Object.values(redisIdempotencyScripts)) await script.load(redis);
 * ```
 */
export const redisIdempotencyScripts = Object.freeze({
  /** Creates the in-progress record, or reads the one there. */
  claim: claimScript,
  /** Stores the response of the owner's record (or of an absent one). */
  complete: completeScript,
  /** Drops the owner's in-progress record. */
  release: releaseScript,
});
