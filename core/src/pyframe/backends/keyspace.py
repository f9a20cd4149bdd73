"""The memory store's data: strings and hashes under keys, with TTLs, a key-count cap evicting
the least recently used key, and a sweep that frees expired keys. Implements DataView.

Bounds: at most ``max_keys`` keys (a new key past the cap evicts the least recently used
one, counted in ``evicted``); at most MAX_HASH_FIELDS fields per hash (more is refused);
the expiry heap is rebuilt when stale entries outnumber live ones.
"""

from __future__ import annotations

import heapq
import re
from collections import OrderedDict
from collections.abc import Callable

from .contracts import OperationFailed

__all__ = ["KeySpace", "MAX_HASH_FIELDS"]

MAX_HASH_FIELDS = 10_000
_INT64 = (-(2 ** 63), 2 ** 63 - 1)
_INTEGER = re.compile(rb"(0|-?[1-9][0-9]*)\Z")  # as Redis parses: no "-0", "05", "+5"
WRONGTYPE = "WRONGTYPE Operation against a key holding the wrong kind of value"
NOT_INTEGER = "ERR value is not an integer or out of range"
HASH_NOT_INTEGER = "ERR hash value is not an integer"


def _bytes(value: bytes | str | int, what: str = "value") -> bytes:
    if isinstance(value, bytes):
        return value
    if isinstance(value, str):
        return value.encode()
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value).encode()
    if isinstance(value, (bytearray, memoryview)):
        return bytes(value)
    raise TypeError(f"a {what} must be bytes, str or int, got {type(value).__name__}")


def _integer(raw: bytes | None, error: str = NOT_INTEGER) -> int:
    if raw is None:
        return 0
    if not _INTEGER.match(raw):
        raise OperationFailed(error)
    value = int(raw)
    if not _INT64[0] <= value <= _INT64[1]:
        raise OperationFailed(error)
    return value


def _add(current: int, amount: int) -> int:
    result = current + amount
    if not _INT64[0] <= result <= _INT64[1]:
        raise OperationFailed("ERR increment or decrement would overflow")
    return result


class _Entry:
    __slots__ = ("value", "expires")

    def __init__(self, value: bytes | dict[bytes, bytes], expires: float | None) -> None:
        self.value = value
        self.expires = expires  # clock seconds, or None for no expiry


class KeySpace:
    """Every method is synchronous: an op calling several of them runs in one loop step."""

    def __init__(self, max_keys: int, clock: Callable[[], float]) -> None:
        self.max_keys = max_keys
        self.clock = clock
        self.evicted = 0
        self.expired = 0
        self._data: OrderedDict[str, _Entry] = OrderedDict()
        self._heap: list[tuple[float, str]] = []  # (expires, key); stale entries allowed

    def __len__(self) -> int:
        return len(self._data)

    # -- internals -------------------------------------------------------------------------

    def _lookup(self, key: str) -> _Entry | None:
        entry = self._data.get(key)
        if entry is None:
            return None
        if entry.expires is not None and entry.expires <= self.clock():
            del self._data[key]
            self.expired += 1
            return None
        self._data.move_to_end(key)  # most recently used
        return entry

    def _store(self, key: str, value: bytes | dict[bytes, bytes],
               expires: float | None) -> _Entry:
        entry = self._data.get(key)
        if entry is None:
            while len(self._data) >= self.max_keys:
                self._data.popitem(last=False)
                self.evicted += 1
            entry = self._data[key] = _Entry(value, None)
        else:
            entry.value = value
            self._data.move_to_end(key)
        self._expire_at(key, entry, expires)
        return entry

    def _expire_at(self, key: str, entry: _Entry, expires: float | None) -> None:
        entry.expires = expires
        if expires is not None:
            heapq.heappush(self._heap, (expires, key))
            if len(self._heap) > 2 * len(self._data) + 64:
                # TTL refreshes leave stale heap entries behind; rebuild so they stay bounded.
                self._heap = [(e.expires, k) for k, e in self._data.items()
                              if e.expires is not None]
                heapq.heapify(self._heap)

    def _string(self, key: str) -> bytes | None:
        entry = self._lookup(key)
        if entry is None:
            return None
        if not isinstance(entry.value, bytes):
            raise OperationFailed(WRONGTYPE)
        return entry.value

    def _fields(self, key: str) -> dict[bytes, bytes] | None:
        entry = self._lookup(key)
        if entry is None:
            return None
        if not isinstance(entry.value, dict):
            raise OperationFailed(WRONGTYPE)
        return entry.value

    def sweep(self, limit: int = 10_000) -> int:
        """Free up to ``limit`` expired keys; how many were freed."""
        now = self.clock()
        freed = 0
        heap = self._heap
        while heap and heap[0][0] <= now and freed < limit:
            expires, key = heapq.heappop(heap)
            entry = self._data.get(key)
            if entry is not None and entry.expires == expires:
                del self._data[key]
                self.expired += 1
                freed += 1
        return freed

    # -- DataView --------------------------------------------------------------------------

    def time(self) -> tuple[int, int]:
        seconds, micros = divmod(round(self.clock() * 1_000_000), 1_000_000)
        return seconds, micros

    def get(self, key: str) -> bytes | None:
        return self._string(key)

    def set(self, key: str, value: bytes | str | int, px: int | None = None) -> None:
        if px is not None and px <= 0:
            raise OperationFailed("ERR invalid expire time in 'set' command")
        expires = None if px is None else self.clock() + px / 1000
        self._store(key, _bytes(value), expires)

    def delete(self, key: str) -> int:
        if self._lookup(key) is None:
            return 0
        del self._data[key]
        return 1

    def exists(self, key: str) -> int:
        return 0 if self._lookup(key) is None else 1

    def incrby(self, key: str, amount: int) -> int:
        current = self._string(key)
        value = _add(_integer(current), amount)
        if current is None:
            self._store(key, str(value).encode(), None)
        else:
            self._data[key].value = str(value).encode()  # keeps its TTL, as INCRBY does
        return value

    def pexpire(self, key: str, ms: int) -> int:
        entry = self._lookup(key)
        if entry is None:
            return 0
        if ms <= 0:
            del self._data[key]
            return 1
        self._expire_at(key, entry, self.clock() + ms / 1000)
        return 1

    def pttl(self, key: str) -> int:
        entry = self._lookup(key)
        if entry is None:
            return -2
        if entry.expires is None:
            return -1
        return max(0, round((entry.expires - self.clock()) * 1000))

    def hget(self, key: str, field: bytes | str) -> bytes | None:
        fields = self._fields(key)
        return None if fields is None else fields.get(_bytes(field, "field"))

    def hset(self, key: str, field: bytes | str, value: bytes | str | int) -> int:
        fields = self._fields(key)
        name = _bytes(field, "field")
        if fields is None:
            self._store(key, {name: _bytes(value)}, None)
            return 1
        added = name not in fields
        if added and len(fields) >= MAX_HASH_FIELDS:
            raise OperationFailed(f"ERR a memory hash holds at most {MAX_HASH_FIELDS} fields")
        fields[name] = _bytes(value)
        return int(added)

    def hdel(self, key: str, field: bytes | str) -> int:
        fields = self._fields(key)
        if fields is None or fields.pop(_bytes(field, "field"), None) is None:
            return 0
        if not fields:
            del self._data[key]  # as in Redis, a hash with no fields is no key at all
        return 1

    def hgetall(self, key: str) -> dict[bytes, bytes]:
        fields = self._fields(key)
        return {} if fields is None else dict(fields)

    def hincrby(self, key: str, field: bytes | str, amount: int) -> int:
        value = _add(_integer(self.hget(key, field), HASH_NOT_INTEGER), amount)
        self.hset(key, field, value)
        return value
