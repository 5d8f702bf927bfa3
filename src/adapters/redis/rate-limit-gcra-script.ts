/**
 * @internal Lua defining `text2(a, b)`: two integers as `"<a>:<b>"`, the
 * stored form of a GCRA state with a fraction of a ms and of a fixed
 * window; `%d` (a cast to C `long`, twice as fast as `%.0f`) when that is
 * provably exact: the first integer is a time in ms, 13 digits from 2001
 * to 2286, and a 32-bit `long` prints in at most 11 characters, so a `:`
 * 14th proves a 64-bit `long`, which holds every integer below 2^53; any
 * other text (a 32-bit build, a time of another length) is replaced by the
 * `%.0f` one. Shared by both decision scripts (the guard lives once).
 */
export const TEXT2_LUA = `
local function text2(a, b)
  local t = string.format('%d:%d', a, b)
  if string.byte(t, 14) == 58 then return t end
  return string.format('%.0f:%.0f', a, b)
end
`;

/**
 * @internal The script of the common decision, one GCRA limit consumed,
 * without its first lines, which define `now` (the server's `TIME`, as in
 * the general script). The general decision script answers the same for
 * this case; this one does the least a GCRA consume needs on the server:
 * one `GET`, one `SET` when the cost fits, no table built, no branch on
 * the operation or the algorithm, three short arguments, and a single
 * integer as the answer: the bucket's debt in ticks (`1 / limit` ms)
 * before the consume, from which the client derives the verdict and every
 * figure with the same functions the memory adapter runs
 * (`gcraTakeFromDebt`), so the figures are never computed twice.
 *
 * KEYS[1]: the state; ARGV[1]: the cost; ARGV[2]: the limit; ARGV[3]: the
 * window in ms. A state that does not parse fails the call with a
 * `scaleout:data 1 <why>` error reply and changes nothing. A whole-ms TAT
 * is written as a number (Redis converts it with 17 significant digits, so
 * exactly, and keeps it as an integer); a TAT with a fraction of a ms as
 * `<tat>:<rem>` (`rem` may exceed the 14 digits of Lua's own number-to-text
 * conversion) by {@link TEXT2_LUA}'s `text2`. Arguments and the division by the limit use Lua's
 * arithmetic (`ARGV[2] + 0`, `%`) rather than `tonumber` and `math.floor`
 * calls: the same doubles, fewer function calls.
 */
export const GCRA_CONSUME_LUA_BODY = `${TEXT2_LUA}
local limit = ARGV[2] + 0
local w = ARGV[3] + 0
local cap = limit * w
local d = 0
local raw = redis.pcall('GET', KEYS[1])
if raw then
  if type(raw) == 'table' then
    return redis.error_reply('scaleout:data 1 not a string key')
  end
  local a, b = string.match(raw, '^(%d+):?(%d*)$')
  if a == nil or #a > 15 or #b > 15 or (b == '' and #a < #raw) then
    return redis.error_reply('scaleout:data 1 unreadable state')
  end
  local ahead = a - now
  if ahead > 2 * w then
    return redis.error_reply('scaleout:data 1 state from the future')
  end
  if ahead > w then
    d = cap
  elseif ahead >= 0 then
    d = ahead * limit
    if b ~= '' then d = d + b end
    if d > cap then d = cap end
  end
end
local after = d + ARGV[1] * w
if after <= cap then
  local rem = after % limit
  local whole = (after - rem) / limit
  if rem > 0 then
    redis.call('SET', KEYS[1], text2(now + whole, rem), 'PX', whole + 1)
  else
    redis.call('SET', KEYS[1], now + whole, 'PX', whole)
  end
end
return d
`;
