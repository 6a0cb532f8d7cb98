-- One lease, atomically: what the calling instance holds for a key is given back, then a fresh
-- lease is taken (lease.rs explains the design and `Model` there is this script in Rust; change
-- both together).
-- KEYS[1]  the key's burst state, a hash: t = GCRA theoretical arrival time (TAT, Unix µs),
--          o = the token of the last lease granted on it ('' once given back)
-- KEYS[2]  the key's admitted-or-leased count for the UTC day of ARGV[1]
-- ARGV[1]  now, Unix µs (from the caller: instances are assumed NTP-synced)
-- ARGV[2]  emission interval T, µs
-- ARGV[3]  tolerance τ = burst·T, µs
-- ARGV[4]  daily limit, or -1 for unlimited
-- ARGV[5]  µs from now to the next UTC midnight
-- ARGV[6]  token of the lease the caller holds ('' for none)
-- ARGV[7]  the caller's local TAT in that lease: every slot it admitted ends at or before it
-- ARGV[8]  daily units the caller holds unused for this day (given back)
-- ARGV[9]  burst slots wanted (0: only give back)
-- ARGV[10] daily units wanted (granted: at most an eighth of what is left, at least one)
-- ARGV[11] token for the new lease
-- Returns {refused by 0 none | 1 burst | 2 daily, the day's count, wait µs, slots, units, start}:
-- the lease is the burst segment [start, start + slots·T) and `units` of the daily count.
--
-- Lua numbers are doubles: every value is an integer below 2^53 (epoch µs are about 1.8e15),
-- so arithmetic is exact; the TAT is written with '%.0f' (tostring would lose digits).
local now = tonumber(ARGV[1])
local interval = tonumber(ARGV[2])
local tolerance = tonumber(ARGV[3])
local limit = tonumber(ARGV[4])
local to_midnight = tonumber(ARGV[5])
local held = ARGV[6]
local held_tat = tonumber(ARGV[7])
local held_units = tonumber(ARGV[8])
local want_slots = tonumber(ARGV[9])
local want_units = tonumber(ARGV[10])

local tat = tonumber(redis.call('HGET', KEYS[1], 't') or '0')
local owner = redis.call('HGET', KEYS[1], 'o')
local burst_back = false
if held ~= '' and owner == held then
  -- No lease was granted on this key since ours: the unused tail of our segment comes back.
  tat = held_tat
  burst_back = true
end
local count = tonumber(redis.call('GET', KEYS[2]) or '0')
if held_units > 0 then
  count = count - held_units
  if count < 0 then
    count = 0
  end
end

local start = tat
if start < now then
  start = now
end
local allow_at = start + interval - tolerance
local refused, wait = 0, 0
if limit >= 0 and count >= limit then
  refused = 2
  wait = to_midnight
  if allow_at - now > wait then
    wait = allow_at - now
  end
elseif allow_at > now then
  refused = 1
  wait = allow_at - now
end

local slots, units = 0, 0
if refused == 0 and want_slots > 0 then
  -- Never past now + τ: no lease reaches further ahead than one GCRA's TAT may.
  slots = math.floor((now + tolerance - start) / interval)
  if slots > want_slots then
    slots = want_slots
  end
  while slots > 1 and start + slots * interval > now + tolerance do
    slots = slots - 1
  end
  if limit >= 0 then
    -- At most an eighth of what is left (at least one): near the end of the quota every lease is
    -- one unit, used at once by the request that asked, so none is held while another instance
    -- is refused.
    units = math.floor((limit - count) / 8)
    if units < 1 then
      units = 1
    end
    if units > want_units then
      units = want_units
    end
  end
end

if slots > 0 then
  tat = start + slots * interval
  redis.call('HSET', KEYS[1], 't', string.format('%.0f', tat), 'o', ARGV[11])
elseif burst_back then
  redis.call('HSET', KEYS[1], 't', string.format('%.0f', tat), 'o', '')
end
if slots > 0 or burst_back then
  -- The TAT matters until it has passed; a minute of slack covers clock skew between instances.
  local ttl = math.ceil((tat - now) / 1000) + 60000
  if ttl < 60000 then
    ttl = 60000
  end
  redis.call('PEXPIRE', KEYS[1], ttl)
end
count = count + units
if units ~= held_units then
  redis.call('SET', KEYS[2], string.format('%.0f', count), 'PX', math.ceil(to_midnight / 1000) + 3600000)
end
return {refused, count, wait, slots, units, start}
