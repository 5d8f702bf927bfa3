import { MAX_DURATION_MS } from '../../internal/validate.js';
import { defineRedisScript } from './scripts.js';

// A session is one hash: d = data, v = version, u = user id ('' for none),
// t = ttl ms, iu = time (ms) until which the user's index is known to live.
// The index of a user is a set of session ids. Each script but `move` and
// `destroy-all` touches one key, so they work unchanged on Cluster.
//
// Every script that reads a session first classifies the hash (STATE):
// none of d, v, u, t present is "no session" (0); all present with v and t
// positive integers is a record (1); anything else (a field missing, junk
// in v or t) is not what scaleout writes and fails with a `scaleout:data`
// error reply BEFORE anything is written, so a damaged record is reported
// (ERR_CORRUPT_DATA) and never half-moved. A key of another Redis type
// fails with WRONGTYPE, reported the same way. `iu` is only a hint: junk
// there reads as 0 (the index is extended, which heals it).

const STATE = `
local function state(h)
  if not h[1] and not h[2] and not h[3] and not h[4] then return 0 end
  if not h[1] or not h[2] or not h[3] or not h[4] then return -1 end
  if not string.match(h[2], '^[1-9][0-9]*$') or string.len(h[2]) > 15 then return -1 end
  if not string.match(h[4], '^[1-9][0-9]*$') or string.len(h[4]) > 11 then return -1 end
  if tonumber(h[4]) > ${MAX_DURATION_MS} then return -1 end
  return 1
end
local function corrupt() return redis.error_reply('scaleout:data session record is not what scaleout writes') end
`;

/** @internal ARGV: data, user ('' for none), ttl ms, index deadline ms. Answers 1, or 0 when the id exists. */
export const createScript = defineRedisScript({
  name: 'session-create',
  keys: 1,
  lua: `
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('HSET', KEYS[1], 'd', ARGV[1], 'v', 1, 'u', ARGV[2], 't', ARGV[3], 'iu', ARGV[4])
redis.call('PEXPIRE', KEYS[1], ARGV[3])
return 1`,
});

/**
 * @internal Reads and extends in one step. ARGV: now ms, new ttl ms ('' to
 * keep the stored one). Answers false (no session) or {d, v, u, t, extend}:
 * t is the ttl now in force; extend is the new index deadline when the
 * user's index would expire before the session (the caller extends the
 * index, then records the deadline with {@link markIndexScript}), else 0.
 */
export const touchScript = defineRedisScript({
  name: 'session-touch',
  keys: 1,
  lua: `${STATE}
local h = redis.call('HMGET', KEYS[1], 'd', 'v', 'u', 't', 'iu')
local s = state(h)
if s == 0 then return false end
if s < 0 then return corrupt() end
local ttl = tonumber(h[4])
if ARGV[2] ~= '' then
  ttl = tonumber(ARGV[2])
  redis.call('HSET', KEYS[1], 't', ARGV[2])
end
redis.call('PEXPIRE', KEYS[1], ttl)
local now = tonumber(ARGV[1])
local extend = 0
if h[3] ~= '' and (tonumber(h[5]) or 0) < now + ttl then extend = now + 2 * ttl end
return {h[1], h[2], h[3], tostring(ttl), extend}`,
});

/**
 * @internal Compare the version, then write. ARGV: expected version, data,
 * now ms, new ttl ms ('' to keep the stored one). Answers {0} (no session),
 * {-1, d, v, u, t} (conflict: the current record, so a merge can retry
 * without another read) or {1, v, u, t, extend}, t the ttl now in force.
 */
export const updateScript = defineRedisScript({
  name: 'session-update',
  keys: 1,
  lua: `${STATE}
local h = redis.call('HMGET', KEYS[1], 'd', 'v', 'u', 't', 'iu')
local s = state(h)
if s == 0 then return {0} end
if s < 0 then return corrupt() end
if h[2] ~= ARGV[1] then return {-1, h[1], h[2], h[3], h[4]} end
local v = tonumber(h[2]) + 1
local ttl = tonumber(h[4])
if ARGV[4] ~= '' then ttl = tonumber(ARGV[4]) end
redis.call('HSET', KEYS[1], 'd', ARGV[2], 'v', v, 't', ttl)
redis.call('PEXPIRE', KEYS[1], ttl)
local now = tonumber(ARGV[3])
local extend = 0
if h[3] ~= '' and (tonumber(h[5]) or 0) < now + ttl then extend = now + 2 * ttl end
return {1, tostring(v), h[3], tostring(ttl), extend}`,
});

/** @internal Records the index deadline (ARGV[1]) of a session that still exists (never creates a stray hash). */
export const markIndexScript = defineRedisScript({
  name: 'session-mark-index',
  keys: 1,
  lua: `
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('HSET', KEYS[1], 'iu', ARGV[1])
return 1`,
});

/** @internal Deletes a session; answers its owner ('' for none) or false when there was none. */
export const destroyScript = defineRedisScript({
  name: 'session-destroy',
  keys: 1,
  lua: `
local u = redis.call('HGET', KEYS[1], 'u')
if not u then return false end
redis.call('UNLINK', KEYS[1])
return u`,
});

/**
 * @internal Adds a session id (ARGV[1]) to its user's index and keeps the
 * index alive at least ARGV[2] ms (never shortens it).
 */
export const indexAddScript = defineRedisScript({
  name: 'session-index-add',
  keys: 1,
  lua: `
redis.call('SADD', KEYS[1], ARGV[1])
local p = redis.call('PTTL', KEYS[1])
if p < tonumber(ARGV[2]) then redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 1`,
});

/**
 * @internal Moves a session to a new id in one step (standalone Redis): the
 * hash keeps its fields and its remaining PTTL; the owner's index swaps the
 * ids in the same step. KEYS: old, new, index (any key when there is no
 * owner: untouched). ARGV: expected owner, old id, new id. Answers 0 (old
 * missing or owner changed), -1 (new id taken) or {d, v, u, t}. A damaged
 * record, or an index of another type, fails before anything moves.
 */
export const moveScript = defineRedisScript({
  name: 'session-move',
  keys: 3,
  lua: `${STATE}
local h = redis.call('HMGET', KEYS[1], 'd', 'v', 'u', 't')
local s = state(h)
if s == 0 or (s > 0 and h[3] ~= ARGV[1]) then return 0 end
if s < 0 then return corrupt() end
if ARGV[1] ~= '' then
  local t = redis.call('TYPE', KEYS[3]).ok
  if t ~= 'set' and t ~= 'none' then
    return redis.error_reply('scaleout:data session index is not a set')
  end
end
if redis.call('EXISTS', KEYS[2]) == 1 then return -1 end
redis.call('RENAME', KEYS[1], KEYS[2])
if ARGV[1] ~= '' then
  redis.call('SREM', KEYS[3], ARGV[2])
  redis.call('SADD', KEYS[3], ARGV[3])
end
return {h[1], h[2], h[3], h[4]}`,
});

/**
 * @internal Cluster, first half of a move: take the old hash in one step
 * (read, remaining PTTL, delete). ARGV: expected owner. Answers 0 or
 * {d, v, u, t, iu, pttl}; a damaged record fails before it is deleted.
 */
export const takeScript = defineRedisScript({
  name: 'session-take',
  keys: 1,
  lua: `${STATE}
local h = redis.call('HMGET', KEYS[1], 'd', 'v', 'u', 't', 'iu')
local s = state(h)
if s == 0 or (s > 0 and h[3] ~= ARGV[1]) then return 0 end
if s < 0 then return corrupt() end
local p = redis.call('PTTL', KEYS[1])
redis.call('UNLINK', KEYS[1])
return {h[1], h[2], h[3], h[4], h[5] or '0', p}`,
});

/** @internal Cluster, second half of a move: put the record under the new id unless it exists. */
export const putScript = defineRedisScript({
  name: 'session-put',
  keys: 1,
  lua: `
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('HSET', KEYS[1], 'd', ARGV[1], 'v', ARGV[2], 'u', ARGV[3], 't', ARGV[4], 'iu', ARGV[5])
redis.call('PEXPIRE', KEYS[1], ARGV[6])
return 1`,
});

/**
 * @internal Logout everywhere in one step (standalone Redis). KEYS[1] is
 * the index, the other keys the sessions it listed when the caller read it;
 * ARGV[1] is the user, the rest every member read. If the index changed
 * since, answers -1 and the caller reads again. Only hashes whose owner is
 * the user are deleted: an id another program put into this index (a
 * record of another user, a key of another type) is left alone.
 */
export const destroyAllScript = defineRedisScript({
  name: 'session-destroy-all',
  keys: 'variadic',
  lua: `
if redis.call('SCARD', KEYS[1]) ~= #ARGV - 1 then return -1 end
for i = 2, #ARGV do
  if redis.call('SISMEMBER', KEYS[1], ARGV[i]) == 0 then return -1 end
end
local n = 0
for i = 2, #KEYS do
  if redis.call('TYPE', KEYS[i]).ok == 'hash' and redis.call('HGET', KEYS[i], 'u') == ARGV[1] then
    n = n + redis.call('UNLINK', KEYS[i])
  end
end
redis.call('UNLINK', KEYS[1])
return n`,
});

/** @internal Cluster sweep: deletes one session when it is a hash owned by ARGV[1]. */
export const destroyOwnedScript = defineRedisScript({
  name: 'session-destroy-owned',
  keys: 1,
  lua: `
if redis.call('TYPE', KEYS[1]).ok ~= 'hash' then return 0 end
if redis.call('HGET', KEYS[1], 'u') ~= ARGV[1] then return 0 end
return redis.call('UNLINK', KEYS[1])`,
});
