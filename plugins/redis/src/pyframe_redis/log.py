"""The EventLog on Redis Streams: XADD and XRANGE inside Lua scripts that also trim by length
(MAXLEN) and age (MINID, from the server's clock) and remember the newest trimmed id, so a
reader learns exactly whether it missed something.

Keys: the stream ``<prefix>log:{<name>}`` and ``<prefix>log:{<name>}:trimmed``; the braces
put both in one Redis Cluster slot. Both expire twice ``log_max_age`` after the last append:
the entries are gone by then, and until then the trim mark answers a reader exactly.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable

from pyframe.backends import (BackendClosed, LogEntry, LogRead, check_limit, check_name,
                              check_payload, format_log_id, parse_log_id)

from .store import RedisStore

__all__ = ["RedisEventLog"]

# Shared by both scripts. KEYS[1]: the stream; KEYS[2]: the id of the newest entry dropped.
_TRIM = """
local function older(a, b)
  local am, aseq = string.match(a, '^(%d+)-(%d+)$')
  local bm, bseq = string.match(b, '^(%d+)-(%d+)$')
  am, aseq, bm, bseq = tonumber(am), tonumber(aseq), tonumber(bm), tonumber(bseq)
  return am < bm or (am == bm and aseq < bseq)
end

local function trim(maxlen, age_ms)
  local t = redis.call('TIME')
  local cutoff = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000) - age_ms
  local dropped = false
  if cutoff > 0 then
    local bound = string.format('%d', cutoff) .. '-0'
    local old = redis.call('XREVRANGE', KEYS[1], '(' .. bound, '-', 'COUNT', 1)
    if #old > 0 then
      dropped = old[1][1]
      redis.call('XTRIM', KEYS[1], 'MINID', bound)
    end
  end
  local excess = redis.call('XLEN', KEYS[1]) - maxlen
  if excess > 0 then
    local gone = redis.call('XRANGE', KEYS[1], '-', '+', 'COUNT', excess)
    dropped = gone[#gone][1]
    redis.call('XTRIM', KEYS[1], 'MAXLEN', maxlen)
  end
  if dropped then
    redis.call('SET', KEYS[2], dropped, 'PX', 2 * age_ms)
  end
end
"""

# ARGV[1]: maxlen; ARGV[2]: max age in ms; ARGV[3]: the entry. Returns the new id.
_APPEND = _TRIM + """
local maxlen, age_ms = tonumber(ARGV[1]), tonumber(ARGV[2])
local fresh = redis.call('EXISTS', KEYS[1]) == 0
local id = redis.call('XADD', KEYS[1], '*', 'd', ARGV[3])
if fresh then
  -- A new stream (or one that expired): any id from before it counts as missed.
  local ms, seq = string.match(id, '^(%d+)-(%d+)$')
  local before
  if tonumber(seq) > 0 then
    before = ms .. '-' .. string.format('%d', tonumber(seq) - 1)
  else
    before = string.format('%d', tonumber(ms) - 1) .. '-9999999999'
  end
  redis.call('SET', KEYS[2], before, 'PX', 2 * age_ms)
end
trim(maxlen, age_ms)
redis.call('PEXPIRE', KEYS[1], 2 * age_ms)
redis.call('PEXPIRE', KEYS[2], 2 * age_ms)
return id
"""

# ARGV[1]: read after this id ('' for the oldest); ARGV[2]: limit; ARGV[3]: maxlen;
# ARGV[4]: max age in ms. Returns {missed (0/1), {{id, {'d', data}}, ...}}.
_READ = _TRIM + """
if redis.call('EXISTS', KEYS[1]) == 0 then
  if ARGV[1] == '' then return {0, {}} end
  return {1, {}}
end
trim(tonumber(ARGV[3]), tonumber(ARGV[4]))
local missed = 0
local start = '-'
if ARGV[1] ~= '' then
  local mark = redis.call('GET', KEYS[2])
  if mark and older(ARGV[1], mark) then missed = 1 end
  start = '(' .. ARGV[1]
end
return {missed, redis.call('XRANGE', KEYS[1], start, '+', 'COUNT', ARGV[2])}
"""

_APPEND_SHA = hashlib.sha1(_APPEND.encode()).hexdigest()
_READ_SHA = hashlib.sha1(_READ.encode()).hexdigest()


def _external(native: bytes) -> str:
    ms, _, seq = native.decode().partition("-")
    return format_log_id(int(ms), int(seq))


class RedisEventLog:
    def __init__(self, store: RedisStore, *, prefix: str, maxlen: int, max_age: float,
                 max_message_size: int, is_closed: Callable[[], bool]) -> None:
        self._store = store
        self._prefix = prefix
        self._maxlen = maxlen
        self._age_ms = round(max_age * 1000)
        self._max = max_message_size
        self._is_closed = is_closed

    def _keys(self, stream: str) -> list[str]:
        if self._is_closed():
            raise BackendClosed("the backend is closed")
        check_name("stream", stream)
        name = f"{self._prefix}log:{{{stream}}}"
        return [name, name + ":trimmed"]

    async def append(self, stream: str, data: bytes) -> str:
        keys = self._keys(stream)
        data = check_payload("log entry", data, self._max)
        native = await self._store.eval("log append", _APPEND, _APPEND_SHA, keys,
                                        [str(self._maxlen).encode(),
                                         str(self._age_ms).encode(), data])
        return _external(native)

    async def read_after(self, stream: str, after: str | None, limit: int = 100) -> LogRead:
        keys = self._keys(stream)
        check_limit(limit)
        native = b""
        if after is not None:
            ms, seq = parse_log_id(after)
            native = f"{ms}-{seq}".encode()
        missed, rows = await self._store.eval(
            "log read", _READ, _READ_SHA, keys,
            [native, str(limit).encode(), str(self._maxlen).encode(),
             str(self._age_ms).encode()])
        return LogRead([LogEntry(_external(row[0]), row[1][1]) for row in rows], bool(missed))
