"""The embedded KeyValueStore: the contract's calls over a KeySpace, each one loop step."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TypeVar

from .checks import check_name, check_payload, checked_keys, encode_args, lua_reply, ttl_ms
from .contracts import AtomicOp, BackendClosed, OpArg
from .keyspace import KeySpace
from .ops import INCR

__all__ = ["MemoryStore"]

T = TypeVar("T")


class MemoryStore:
    """No call awaits anything, so each is atomic with respect to every other coroutine."""

    def __init__(self, keyspace: KeySpace, max_value_size: int,
                 is_closed: Callable[[], bool]) -> None:
        self.keyspace = keyspace
        self._max = max_value_size
        self._is_closed = is_closed

    def _check(self, key: str) -> None:
        if self._is_closed():
            raise BackendClosed("the backend is closed")
        check_name("key", key)

    async def get(self, key: str) -> bytes | None:
        self._check(key)
        return self.keyspace.get(key)

    async def set(self, key: str, value: bytes, ttl: float | None = None) -> None:
        self._check(key)
        value = check_payload("value", value, self._max)
        self.keyspace.set(key, value, px=ttl_ms(ttl))

    async def delete(self, key: str) -> bool:
        self._check(key)
        return bool(self.keyspace.delete(key))

    async def incr(self, key: str, amount: int = 1, ttl: float | None = None) -> int:
        if isinstance(amount, bool) or not isinstance(amount, int):
            raise TypeError(f"amount must be an int, got {type(amount).__name__}")
        ms = ttl_ms(ttl)
        return int(await self.run(INCR, (key,), (amount, b"" if ms is None else ms)))

    async def run(self, op: AtomicOp[T], keys: Sequence[str] = (),
                  args: Sequence[OpArg] = ()) -> T:
        if self._is_closed():
            raise BackendClosed("the backend is closed")
        # The op gets a list of its own, whatever sequence came in.
        return lua_reply(op.python(self.keyspace, checked_keys(keys), encode_args(args)))
