"""Argument checks every backend applies the same way: names, payloads, TTLs, op arguments."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from .contracts import MAX_NAME_LENGTH, MessageTooLarge, OpArg

__all__ = ["check_name", "checked_keys", "check_payload", "ttl_ms", "encode_args", "lua_reply"]

_EXACT = 2 ** 53  # the largest integer a double (a Lua number) holds exactly


def check_name(kind: str, name: str) -> None:
    """Topics, keys and stream names: non-empty strings of bounded length."""
    if type(name) is str and 0 < len(name) <= MAX_NAME_LENGTH:
        return  # the usual case, decided without the checks that word the errors
    if not isinstance(name, str):
        raise TypeError(f"a {kind} must be a str, got {type(name).__name__}")
    if not name or len(name) > MAX_NAME_LENGTH:
        raise ValueError(f"a {kind} must be 1 to {MAX_NAME_LENGTH} characters, "
                         f"got {len(name)}")


def checked_keys(keys: Sequence[str], prefix: str = "") -> list[str]:
    """An op's keys as a list of its own, each with ``prefix`` in front, every one checked as
    ``check_name`` does (TypeError for one str in place of a sequence of them)."""
    if isinstance(keys, str):
        raise TypeError("keys must be a sequence of str, not one str")
    names = []
    for key in keys:
        if type(key) is not str or not 0 < len(key) <= MAX_NAME_LENGTH:
            check_name("key", key)  # raises, saying what is wrong
        names.append(prefix + key)
    return names


def check_payload(kind: str, data: bytes, limit: int) -> bytes:
    """``data`` as bytes, refused when it is not bytes-like or is over ``limit`` bytes."""
    if not isinstance(data, bytes):
        if not isinstance(data, (bytearray, memoryview)):
            raise TypeError(f"a {kind} must be bytes (encode it with msgspec), "
                            f"got {type(data).__name__}")
        data = bytes(data)
    if len(data) > limit:
        raise MessageTooLarge(f"a {kind} of {len(data)} bytes is over the backend's "
                              f"max_message_size of {limit} bytes")
    return data


def ttl_ms(ttl: float | None) -> int | None:
    """Seconds to whole milliseconds (rounded up, so a TTL never ends early); None stays None."""
    if ttl is None:
        return None
    if isinstance(ttl, bool) or not isinstance(ttl, (int, float)):
        raise TypeError(f"ttl must be a number of seconds or None, got {type(ttl).__name__}")
    if not 0 < ttl < math.inf:
        raise ValueError(f"ttl must be a positive, finite number of seconds, got {ttl!r}")
    return max(1, math.ceil(ttl * 1000))


def encode_args(args: Sequence[OpArg]) -> list[bytes]:
    """Op arguments as the bytes both halves of an AtomicOp see (what Redis gets as ARGV)."""
    for arg in args:
        if type(arg) is not bytes:
            break
    else:
        return list(args)  # already bytes, as a caller that encodes once passes them
    out: list[bytes] = []
    for arg in args:
        if isinstance(arg, bytes):
            out.append(arg)
        elif isinstance(arg, str):
            out.append(arg.encode())
        elif isinstance(arg, bool):
            raise TypeError("an op argument may not be a bool: pass 1/0 or b'1'/b'0'")
        elif isinstance(arg, int):
            out.append(str(arg).encode())
        elif isinstance(arg, float):
            if not math.isfinite(arg):
                raise ValueError(f"an op argument must be finite, got {arg!r}")
            out.append(repr(arg).encode())
        else:
            raise TypeError(f"an op argument must be bytes, str, int or float, "
                            f"got {type(arg).__name__}")
    return out


def lua_reply(value: Any) -> Any:
    """A Python half's reply converted the way Redis converts a Lua reply, so both halves
    look alike to the caller: True is 1, False is None, a number is truncated to an int, a
    str becomes bytes, a tuple or list becomes a list of converted items. Lua numbers are
    doubles, so an int beyond 2**53 comes back rounded, as it would from Redis: return big
    numbers as strings."""
    if value is None or isinstance(value, bytes):
        return value
    if type(value) is list:
        for item in value:
            if type(item) is not int or not -_EXACT <= item <= _EXACT:
                break
        else:
            return value  # whole numbers a double holds: Redis gives them back unchanged
    if isinstance(value, bool):
        return 1 if value else None
    if isinstance(value, int):
        return value if -_EXACT <= value <= _EXACT else int(float(value))
    if isinstance(value, float):
        return int(value)
    if isinstance(value, str):
        return value.encode()
    if isinstance(value, (list, tuple)):
        return [lua_reply(item) for item in value]
    raise TypeError(f"an op's Python half returned a {type(value).__name__}; return an int, "
                    "bytes, str, None or a list of those, as its Lua half does")
