import { GCRA_CONSUME_LUA_BODY, TEXT2_LUA } from './rate-limit-gcra-script.js';
import { defineRedisScript, type RedisScript } from './scripts.js';

/**
 * @internal `now` in ms from the server's clock, so client clocks never
 * matter. Parsed with Lua's arithmetic (strings of digits coerce to the
 * same doubles `tonumber` gives; `us % 1000` is exact below 10^6) rather
 * than `tonumber` and `math.floor` calls, a third of a microsecond less.
 */
export const NOW_FROM_REDIS = `local t = redis.call('TIME')
local us = t[2] + 0
local now = t[1] * 1000 + (us - us % 1000) / 1000
`;

/**
 * @internal The decision script without its first lines, which define
 * `now`. It mirrors src/rate-limit/{gcra,fixed-window,sliding-window}.ts
 * operation for operation (IEEE doubles in both, every quantity an integer
 * below 2^53); the tests run both over the same states and times.
 *
 * KEYS[i]: the state of rule i, all under one hash tag. ARGV[1]: `c`
 * (consume), `p` (peek) or `r` (refund); ARGV[2]: the cost; then for rule
 * i: ARGV[3i] its algorithm letter (`g`, `s`, `f`), ARGV[3i+1] its limit,
 * ARGV[3i+2] its window in ms. Reads every state first, decides, and only
 * then writes (a consume writes every state or none), so a state that does
 * not parse fails the whole call with a `scaleout:data <i> <why>` error
 * reply and changes nothing.
 *
 * Answers (c, p): `{allowed, remaining_1, reset_1, retry_1, ...}`. When a
 * consume is denied, a limit that would have allowed it answers its state
 * as it stays (what a peek answers), not as if the cost had been taken.
 *
 * The adapter sends the commonest decision, one GCRA limit consumed, to
 * the leaner `gcra` script instead (./rate-limit-gcra-script.ts).
 */
export const RATE_LIMIT_LUA_BODY = `
local floor, ceil = math.floor, math.ceil
local op = ARGV[1]
local cost = ARGV[2] + 0
local n = #KEYS

local allowed = 1
-- The answer and the plan, sized up front for one or two limits (a
-- table that grows is rebuilt on the way).
local out
if n == 1 then out = {0, 0, 0, 0} else out = {0, 0, 0, 0, 0, 0, 0} end
-- Per limit i: at 4i-3 the text to write (false: delete the key), at 4i-2
-- its TTL; at 4i-1 and 4i, for a consume that another limit denies, the
-- figures of a limit that would have allowed it: its state as it stays
-- (a peek's remaining and reset).
local plan = {nil, nil, nil, nil, nil, nil, nil, nil}

-- Two or three integers as "<a>:<b>[:<c>]", '%d' when proven exact (see
-- TEXT2_LUA in rate-limit-gcra-script.ts; text3 is the same guard).
${TEXT2_LUA}
local function text3(a, b, c)
  local t = string.format('%d:%d:%d', a, b, c)
  if string.byte(t, 14) == 58 then return t end
  return string.format('%.0f:%.0f:%.0f', a, b, c)
end

local function slidingRetry(prev, count, left, limit, w, k)
  local room = (limit - k - count) * w
  if prev > 0 and room >= 0 then
    local t = left - floor(room / prev)
    if t < left then
      if t > 0 then return t end
      return 0
    end
  end
  local roomNext = (limit - k) * w
  if roomNext < 0 then return left + w end
  if count == 0 then return left end
  local t = w - floor(roomNext / count)
  if t <= 0 then return left end
  if t < w then return left + t end
  return left + w
end

for i = 1, n do
  local algo = ARGV[3 * i]
  local limit = ARGV[3 * i + 1] + 0
  local w = ARGV[3 * i + 2] + 0
  local raw = redis.pcall('GET', KEYS[i])
  if type(raw) == 'table' then
    return redis.error_reply('scaleout:data ' .. i .. ' not a string key')
  end
  local a, b, c
  if raw then
    if algo == 's' then
      a, b, c = string.match(raw, '^(%d+):(%d+):(%d+)$')
      if c == nil or #c > 15 then a = nil end
    else
      a, b = string.match(raw, '^(%d+):(%d+)$')
      if a == nil and algo == 'g' then
        a = string.match(raw, '^(%d+)$')
        b = '0'
      end
    end
    if a == nil or #a > 15 or #b > 15 then
      return redis.error_reply('scaleout:data ' .. i .. ' unreadable state')
    end
    a = a + 0
    b = b + 0
    if c then c = c + 0 end
    if algo == 'g' then
      if a - now > 2 * w then
        return redis.error_reply('scaleout:data ' .. i .. ' state from the future')
      end
    elseif floor(a / w) * w ~= a then
      return redis.error_reply('scaleout:data ' .. i .. ' window not aligned')
    elseif a > floor(now / w) * w + w then
      return redis.error_reply('scaleout:data ' .. i .. ' state from the future')
    end
  end
  local j = 3 * i - 2
  local p = 4 * i - 3
  if algo == 'g' then
    local cap = limit * w
    local d = 0
    if raw then
      local ahead = a - now
      if ahead < 0 then
        d = 0
      elseif ahead > w then
        d = cap
      else
        d = ahead * limit + b
        if d > cap then d = cap end
      end
    end
    if op == 'r' then
      d = d - cost * w
      if d <= 0 then
        plan[p] = false
      else
        local whole = floor(d / limit)
        local rem = d - whole * limit
        if rem > 0 then
          plan[p] = text2(now + whole, rem)
          plan[p + 1] = whole + 1
        else
          plan[p] = now + whole
          plan[p + 1] = whole
        end
      end
    elseif op == 'p' then
      local after = d + w
      local retry = 0
      if after > cap then retry = ceil((after - cap) / limit) end
      if retry > 0 then allowed = 0 end
      out[j + 1] = floor((cap - d) / w)
      out[j + 2] = ceil(d / limit)
      out[j + 3] = retry
    else
      local after = d + cost * w
      if after <= cap then
        local whole = floor(after / limit)
        local rem = after - whole * limit
        local ttl = whole
        if rem > 0 then
          ttl = whole + 1
          plan[p] = text2(now + whole, rem)
        else
          plan[p] = now + whole
        end
        plan[p + 1] = ttl
        plan[p + 2] = floor((cap - d) / w)
        plan[p + 3] = ceil(d / limit)
        out[j + 1] = floor((cap - after) / w)
        out[j + 2] = ttl
        out[j + 3] = 0
      else
        allowed = 0
        out[j + 1] = floor((cap - d) / w)
        out[j + 2] = ceil(d / limit)
        out[j + 3] = ceil((after - cap) / limit)
      end
    end
  elseif algo == 'f' then
    local start = floor(now / w) * w
    local count = 0
    if raw and a >= start then
      start = a
      count = b
    end
    local left = start + w - now
    local remaining = 0
    if count < limit then remaining = limit - count end
    local reset = 0
    if count > 0 then reset = left end
    if op == 'r' then
      if count - cost <= 0 then
        plan[p] = false
      else
        plan[p] = text2(start, count - cost)
        plan[p + 1] = left
      end
    elseif op == 'p' then
      local retry = 0
      if count + 1 > limit then
        retry = left
        allowed = 0
      end
      out[j + 1] = remaining
      out[j + 2] = reset
      out[j + 3] = retry
    elseif count + cost <= limit then
      plan[p] = text2(start, count + cost)
      plan[p + 1] = left
      plan[p + 2] = remaining
      plan[p + 3] = reset
      out[j + 1] = limit - count - cost
      out[j + 2] = left
      out[j + 3] = 0
    else
      allowed = 0
      out[j + 1] = remaining
      out[j + 2] = reset
      out[j + 3] = left
    end
  else
    local start = floor(now / w) * w
    local count = 0
    local prev = 0
    if raw then
      if a >= start then
        start = a
        count = b
        prev = c
      elseif a == start - w then
        prev = b
      end
    end
    local left = start + w - now
    if left > w then left = w end
    local cap = limit * w
    local used = prev * left + count * w
    local remaining = 0
    if used < cap then remaining = floor((cap - used) / w) end
    local reset = 0
    if count > 0 then
      reset = start + 2 * w - now
    elseif prev > 0 then
      reset = start + w - now
    end
    if op == 'r' then
      local rest = 0
      if count > cost then rest = count - cost end
      if rest == 0 and prev == 0 then
        plan[p] = false
      else
        plan[p] = text3(start, rest, prev)
        plan[p + 1] = start + 2 * w - now
      end
    elseif op == 'p' then
      local retry = 0
      if used + w > cap then
        retry = slidingRetry(prev, count, left, limit, w, 1)
        allowed = 0
      end
      out[j + 1] = remaining
      out[j + 2] = reset
      out[j + 3] = retry
    else
      local after = used + cost * w
      if after <= cap then
        local ttl = start + 2 * w - now
        plan[p] = text3(start, count + cost, prev)
        plan[p + 1] = ttl
        plan[p + 2] = remaining
        plan[p + 3] = reset
        out[j + 1] = floor((cap - after) / w)
        out[j + 2] = ttl
        out[j + 3] = 0
      else
        allowed = 0
        out[j + 1] = remaining
        out[j + 2] = reset
        out[j + 3] = slidingRetry(prev, count, left, limit, w, cost)
      end
    end
  end
end

if op == 'r' or (op == 'c' and allowed == 1) then
  for i = 1, n do
    local v = plan[4 * i - 3]
    if v then
      redis.call('SET', KEYS[i], v, 'PX', plan[4 * i - 2])
    elseif v == false then
      redis.call('DEL', KEYS[i])
    end
  end
end
if op == 'c' and allowed == 0 then
  for i = 1, n do
    local r = plan[4 * i - 1]
    if r then
      out[3 * i - 1] = r
      out[3 * i] = plan[4 * i]
    end
  end
end
out[1] = allowed
return out
`;

/**
 * The decision script: consume, peek and refund of every limit of a key, in one round trip.
 */
const decide = defineRedisScript({
  name: 'rate-limit-decide',
  keys: 'variadic',
  lua: NOW_FROM_REDIS + RATE_LIMIT_LUA_BODY,
});

/**
 * The one-GCRA-limit consume, the common decision: answers the debt before it.
 */
const gcra = defineRedisScript({
  name: 'rate-limit-gcra',
  keys: 1,
  lua: NOW_FROM_REDIS + GCRA_CONSUME_LUA_BODY,
});

/**
 * The Lua scripts of the Redis rate-limit adapter, for preloading or inspection.
 *
 * @example
 * ```ts
 * await redisRateLimitScripts.decide.load(redis);
 * await redisRateLimitScripts.gcra.load(redis);
 * ```
 */
export const redisRateLimitScripts: Readonly<{
  /** Consume, peek and refund of every limit of a key, in one round trip. */
  decide: RedisScript;
  /** The consume of one GCRA limit (the default limiter's every decision), in one round trip. */
  gcra: RedisScript;
}> = Object.freeze({ decide, gcra });
