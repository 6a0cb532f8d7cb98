-- One rate-limit decision, atomically: the same algorithm as gcra.rs (change both together).
-- KEYS[1]  the key's GCRA theoretical arrival time (TAT), in Unix microseconds
-- KEYS[2]  the key's admitted count for the UTC day of ARGV[1]
-- ARGV[1]  now, Unix microseconds (from the caller: instances are assumed NTP-synced)
-- ARGV[2]  emission interval, microseconds
-- ARGV[3]  tolerance: burst * interval, microseconds
-- ARGV[4]  daily limit, or -1 for unlimited
-- ARGV[5]  microseconds from now to the next UTC midnight
-- Returns {admitted 0|1, refused by 0 none | 1 burst | 2 daily, today's count, wait in microseconds}.
--
-- Lua numbers are doubles: every value here is an integer below 2^53 (epoch microseconds are
-- about 1.8e15), so arithmetic is exact, and the TAT is written with '%.0f' because tostring
-- would switch to scientific notation and lose digits.
local now = tonumber(ARGV[1])
local interval = tonumber(ARGV[2])
local tolerance = tonumber(ARGV[3])
local limit = tonumber(ARGV[4])
local to_midnight = tonumber(ARGV[5])

local tat = tonumber(redis.call('GET', KEYS[1]) or '0')
if tat < now then
  tat = now
end
local count = tonumber(redis.call('GET', KEYS[2]) or '0')
local allow_at = tat + interval - tolerance

if limit >= 0 and count >= limit then
  local wait = to_midnight
  if allow_at - now > wait then
    wait = allow_at - now
  end
  return {0, 2, count, wait}
end
if allow_at > now then
  return {0, 1, count, allow_at - now}
end

local new_tat = tat + interval
-- The TAT matters until it has passed; a minute of slack covers clock skew between instances.
redis.call('SET', KEYS[1], string.format('%.0f', new_tat), 'PX', math.ceil((new_tat - now) / 1000) + 60000)
count = redis.call('INCR', KEYS[2])
if count == 1 then
  -- The day's count lives until an hour past its midnight.
  redis.call('PEXPIRE', KEYS[2], math.ceil(to_midnight / 1000) + 3600000)
end
return {1, 0, count, 0}
