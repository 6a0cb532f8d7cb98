-- Gives back what an instance holds for several keys in one call, when they have gone idle or
-- at shutdown: the same giving back as lease.lua (change both together).
-- KEYS[2i-1], KEYS[2i]  key i's burst hash and its day count (the day of the lease)
-- ARGV[1]               now, Unix µs
-- ARGV[3i-1], ARGV[3i], ARGV[3i+1]  key i's lease token, local TAT, unused daily units
-- Returns how many burst segments came back (those with no lease granted after them).
local now = tonumber(ARGV[1])
local back = 0
for i = 1, #KEYS / 2 do
  local burst, day = KEYS[2 * i - 1], KEYS[2 * i]
  local held, held_tat, held_units = ARGV[3 * i - 1], tonumber(ARGV[3 * i]), tonumber(ARGV[3 * i + 1])
  if held ~= '' and redis.call('HGET', burst, 'o') == held then
    redis.call('HSET', burst, 't', string.format('%.0f', held_tat), 'o', '')
    local ttl = math.ceil((held_tat - now) / 1000) + 60000
    if ttl < 60000 then
      ttl = 60000
    end
    redis.call('PEXPIRE', burst, ttl)
    back = back + 1
  end
  if held_units > 0 then
    local count = tonumber(redis.call('GET', day) or '0')
    if count > 0 then
      count = count - held_units
      if count < 0 then
        count = 0
      end
      redis.call('SET', day, string.format('%.0f', count), 'KEEPTTL')
    end
  end
end
return back
