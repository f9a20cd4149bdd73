-- pyframe-ratelimit: GCRA for several limits of one client, decided together, all or nothing.
-- The Redis twin of gcra.decide() and strategy.GcraStrategy.apply(); any change here is a
-- change there too (tests/plugins/ratelimit/test_ratelimit_lua.py compares them).
--
-- KEYS[i]   the bucket of limit i: its theoretical arrival time (TAT) in integer microseconds,
--           stored as decimal digits, with a TTL ending when the bucket is full again.
-- ARGV[1]   the request's cost (requests it counts for, >= 1).
-- ARGV[2i]  limit i's interval in microseconds; ARGV[2i+1] its tolerance (burst x interval).
-- Reply     {allowed (0/1), retry_after_us, now_us,
--            then per limit: remaining, reset_us, full_us}
--
-- Time is the server's (TIME), so clocks of the machines calling this do not matter. Every
-- number stays an integer far below 2^53, where Lua's doubles are still exact.

-- Effects replication: needed before a write that follows TIME on Redis < 5; a no-op after.
if redis.replicate_commands then redis.replicate_commands() end

-- floor(a / b) for non-negative integers; the correction guards the double division.
local function idiv(a, b)
  local q = math.floor(a / b)
  if q * b > a then
    q = q - 1
  elseif (q + 1) * b <= a then
    q = q + 1
  end
  return q
end

local function whole(text)
  -- Digits only, as the Python half accepts them; anything else is not a number we wrote.
  if type(text) ~= 'string' or #text < 1 or #text > 16 or not string.match(text, '^%d+$') then
    return nil
  end
  return tonumber(text)
end

local n = #KEYS
if n < 1 or #ARGV ~= 1 + 2 * n then
  return redis.error_reply('ERR pyframe-ratelimit: expected 1 + 2 x ' .. n .. ' arguments')
end
local cost = whole(ARGV[1])
if not cost or cost < 1 then
  return redis.error_reply('ERR pyframe-ratelimit: bad cost')
end
local interval, tolerance = {}, {}
for i = 1, n do
  interval[i] = whole(ARGV[2 * i])
  tolerance[i] = whole(ARGV[2 * i + 1])
  if not interval[i] or not tolerance[i] or interval[i] < 1
      or cost * interval[i] > tolerance[i] then
    return redis.error_reply('ERR pyframe-ratelimit: bad rate for key ' .. i)
  end
end

local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000000 + tonumber(time[2])

local base = {}
local allowed = 1
local retry = 0
for i = 1, n do
  local tat = whole(redis.call('GET', KEYS[i]))
  if not tat or tat < now then
    tat = now
  end
  base[i] = tat
  local over = tat + cost * interval[i] - now - tolerance[i]
  if over > 0 then
    allowed = 0
    if over > retry then
      retry = over
    end
  end
end

local reply = {allowed, retry, now}
for i = 1, n do
  local tat = base[i]
  if allowed == 1 then
    tat = tat + cost * interval[i]
    local ttl_ms = idiv(tat - now + 999, 1000)
    redis.call('SET', KEYS[i], string.format('%.0f', tat), 'PX', string.format('%.0f', ttl_ms))
  end
  local used = tat - now
  local avail = tolerance[i] - used
  local remaining = 0
  if avail >= 0 then
    remaining = idiv(avail, interval[i])
  end
  local reset = 0
  if remaining < idiv(tolerance[i], interval[i]) then
    reset = used - tolerance[i] + (remaining + 1) * interval[i]
  end
  reply[3 * i + 1] = remaining
  reply[3 * i + 2] = reset
  reply[3 * i + 3] = used
end
return reply
