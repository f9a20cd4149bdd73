"""AtomicOps the backends themselves use, so both halves of each are exercised by every test."""

from __future__ import annotations

from collections.abc import Sequence

from .contracts import AtomicOp, DataView

__all__ = ["INCR"]


def _incr(data: DataView, keys: Sequence[str], args: Sequence[bytes]) -> bytes:
    existed = data.exists(keys[0])
    data.incrby(keys[0], int(args[0]))
    if not existed and args[1]:
        data.pexpire(keys[0], int(args[1]))
    return data.get(keys[0])  # type: ignore[return-value]


# KEYS[1]: the counter. ARGV[1]: the amount; ARGV[2]: a TTL in ms for a new key, or ''.
# Replies with the value as a string: INCRBY's reply, a Lua number (a double), would lose
# precision past 2**53.
INCR: AtomicOp[bytes] = AtomicOp(
    name="incr",
    lua="""
local existed = redis.call('EXISTS', KEYS[1])
redis.call('INCRBY', KEYS[1], ARGV[1])
if existed == 0 and ARGV[2] ~= '' then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return redis.call('GET', KEYS[1])
""",
    python=_incr,
)
