"""AtomicOps the contract suite runs on both backends: each written as Lua and as Python, the
way a plugin writes its own (a GCRA limiter, presence summed across processes, a session
read that refreshes its idle TTL, and a few that pin down reply shapes and errors)."""

from __future__ import annotations

import math
from collections.abc import Sequence

from pyframe.backends import AtomicOp, DataView, OperationFailed

__all__ = ["GCRA", "PRESENCE", "TOUCH", "ECHO", "SHAPES", "NATURAL", "REFUSE", "PTTL", "HSET"]


def _gcra(data: DataView, keys: Sequence[str], args: Sequence[bytes]) -> list[int]:
    seconds, micros = data.time()
    now = seconds * 1_000_000 + micros
    interval, tolerance = int(args[0]), int(args[1])
    stored = data.get(keys[0])
    tat = max(int(stored) if stored is not None else now, now)
    if tat + interval - tolerance > now:
        return [0, math.ceil((tat + interval - tolerance - now) / 1000)]
    data.set(keys[0], str(tat + interval), px=math.ceil((tat + interval - now) / 1000))
    return [1, 0]


# KEYS[1]: the bucket (its theoretical arrival time, in µs). ARGV: interval, tolerance (µs).
# Reply: {allowed, retry_after_ms}.
GCRA: AtomicOp[list[int]] = AtomicOp("gcra", """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local interval, tolerance = tonumber(ARGV[1]), tonumber(ARGV[2])
local tat = tonumber(redis.call('GET', KEYS[1]) or now)
if tat < now then tat = now end
if tat + interval - tolerance > now then
  return {0, math.ceil((tat + interval - tolerance - now) / 1000)}
end
redis.call('SET', KEYS[1], string.format('%d', tat + interval),
           'PX', math.ceil((tat + interval - now) / 1000))
return {1, 0}
""", _gcra)


def _presence(data: DataView, keys: Sequence[str], args: Sequence[bytes]) -> int:
    seconds, micros = data.time()
    now = seconds * 1000 + micros // 1000
    process, delta, lease = args[0], int(args[1]), int(args[2])
    raw = data.hget(keys[0], process)
    mine = (int(raw.split(b":")[0]) if raw is not None else 0) + delta
    if mine > 0:
        data.hset(keys[0], process, b"%d:%d" % (mine, now + lease))
    else:
        data.hdel(keys[0], process)
    total = 0
    for field, value in data.hgetall(keys[0]).items():
        count, expires = value.split(b":")
        if int(expires) <= now:
            data.hdel(keys[0], field)
        else:
            total += int(count)
    data.pexpire(keys[0], lease)
    return total


# KEYS[1]: a group's hash of process id -> "count:lease_expiry_ms". ARGV: process id, change,
# lease ms (a process that stops refreshing drops out). Reply: the group's live total.
PRESENCE: AtomicOp[int] = AtomicOp("presence", """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local lease = tonumber(ARGV[3])
local raw = redis.call('HGET', KEYS[1], ARGV[1])
local mine = tonumber(ARGV[2])
if raw then mine = mine + tonumber(string.match(raw, '^(%-?%d+):')) end
if mine > 0 then
  redis.call('HSET', KEYS[1], ARGV[1], string.format('%d:%d', mine, now + lease))
else
  redis.call('HDEL', KEYS[1], ARGV[1])
end
local total = 0
local all = redis.call('HGETALL', KEYS[1])
for i = 1, #all, 2 do
  local count, expires = string.match(all[i + 1], '^(%-?%d+):(%d+)$')
  if tonumber(expires) <= now then
    redis.call('HDEL', KEYS[1], all[i])
  else
    total = total + tonumber(count)
  end
end
redis.call('PEXPIRE', KEYS[1], lease)
return total
""", _presence)


def _touch(data: DataView, keys: Sequence[str], args: Sequence[bytes]) -> bytes | None:
    value = data.get(keys[0])
    if value is not None:
        data.pexpire(keys[0], int(args[0]))
    return value


# A session read: the value, with its idle TTL (ARGV[1] ms) started again.
TOUCH: AtomicOp[bytes | None] = AtomicOp("touch", """
local value = redis.call('GET', KEYS[1])
if value then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
return value
""", _touch)

ECHO: AtomicOp[list[bytes]] = AtomicOp("echo", "return ARGV",
                                       lambda data, keys, args: list(args))

# Redis's conversions: a Lua number is an integer, false is nil, tables are arrays.
SHAPES: AtomicOp[list[object]] = AtomicOp(
    "shapes", "return {7, 'two', false, {3, 'four'}, '2.5'}",
    lambda data, keys, args: [7, b"two", None, [3, b"four"], b"2.5"])


# A Python half may return what is natural in Python; the memory store converts it by the
# rules Redis applies to the Lua half's reply.
NATURAL: AtomicOp[list[object]] = AtomicOp(
    "natural", "return {true, false, 2.7, 'text', {-1.9}}",
    lambda data, keys, args: (True, False, 2.7, "text", [-1.9]))


def _refuse(data: DataView, keys: Sequence[str], args: Sequence[bytes]) -> None:
    raise OperationFailed("refused by the op")


REFUSE: AtomicOp[None] = AtomicOp("refuse", "return redis.error_reply('refused by the op')",
                                  _refuse)

PTTL: AtomicOp[int] = AtomicOp("pttl", "return redis.call('PTTL', KEYS[1])",
                               lambda data, keys, args: data.pttl(keys[0]))

HSET: AtomicOp[int] = AtomicOp("hset", "return redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])",
                               lambda data, keys, args: data.hset(keys[0], args[0], args[1]))
