-- GCRA rate limit, one hit: the arithmetic of adapters/memory MemoryRateLimiter.hit, done in
-- integer microseconds so that float rounding can never shave a hit off a burst.
-- KEYS[1]: holds the theoretical arrival time (TAT), microseconds on the Redis clock.
-- ARGV[1]: limit (hits per window); ARGV[2]: window in whole microseconds.
-- Returns {allowed 0|1, remaining, reset_after_us, retry_after_us}.
local limit = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000000 + tonumber(time[2])
-- Rounded down so that `limit` intervals never exceed the window: a full burst always fits.
local interval = math.max(1, math.floor(window / limit))

local tat = now
local stored = redis.call('GET', KEYS[1])
if stored then
  tat = math.max(tonumber(stored), now)
end
local new_tat = tat + interval
local allow_at = new_tat - window
if allow_at > now then
  return {0, 0, tat - now, allow_at - now}
end
redis.call('SET', KEYS[1], string.format('%.0f', new_tat), 'PX', math.ceil((new_tat - now) / 1000))
local remaining = math.floor((window - (new_tat - now)) / interval)
if remaining < 0 then
  remaining = 0
end
return {1, remaining, new_tat - now, 0}
