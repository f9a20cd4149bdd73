"""The KeyValueStore on Redis: plain commands, and AtomicOps as Lua scripts called by SHA1
(EVALSHA), loaded on the first NOSCRIPT answer (first use, or after a restart or a flush).
Script calls made together (the rate limiter's, one per request) share a pipeline: batch.py."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from redis.asyncio import Redis

from pyframe.backends import (INCR, AtomicOp, BackendClosed, HealthTracker, OpArg, check_name,
                              check_payload, checked_keys, encode_args, ttl_ms)

from .batch import ScriptCalls
from .errors import guarded

__all__ = ["RedisStore"]

T = TypeVar("T")


class RedisStore:
    def __init__(self, client: Redis, *, prefix: str, timeout: float, max_value_size: int,
                 tracker: HealthTracker, is_closed: Callable[[], bool]) -> None:
        self._client = client
        self._prefix = prefix
        self._timeout = timeout
        self._max = max_value_size
        self._tracker = tracker
        self._is_closed = is_closed
        self.scripts = ScriptCalls(client, timeout=timeout, tracker=tracker)

    @property
    def script_loads(self) -> int:
        """SCRIPT LOADs sent: once per script, again after NOSCRIPT."""
        return self.scripts.script_loads

    def _key(self, key: str) -> str:
        if self._is_closed():
            raise BackendClosed("the backend is closed")
        check_name("key", key)
        return self._prefix + key

    async def get(self, key: str) -> bytes | None:
        name = self._key(key)
        async with guarded("get", self._timeout, self._tracker):
            return await self._client.get(name)

    async def set(self, key: str, value: bytes, ttl: float | None = None) -> None:
        name = self._key(key)
        value = check_payload("value", value, self._max)
        px = ttl_ms(ttl)
        async with guarded("set", self._timeout, self._tracker):
            await self._client.set(name, value, px=px)

    async def delete(self, key: str) -> bool:
        name = self._key(key)
        async with guarded("delete", self._timeout, self._tracker):
            return bool(await self._client.delete(name))

    async def incr(self, key: str, amount: int = 1, ttl: float | None = None) -> int:
        if isinstance(amount, bool) or not isinstance(amount, int):
            raise TypeError(f"amount must be an int, got {type(amount).__name__}")
        ms = ttl_ms(ttl)
        if ms is None:
            name = self._key(key)
            async with guarded("incr", self._timeout, self._tracker):
                return int(await self._client.incrby(name, amount))
        return int(await self.run(INCR, (key,), (amount, ms)))

    async def run(self, op: AtomicOp[T], keys: Sequence[str] = (),
                  args: Sequence[OpArg] = ()) -> T:
        names = checked_keys(keys, self._prefix)
        if self._is_closed():
            raise BackendClosed("the backend is closed")
        return await self.eval(op.name, op.lua, op.sha, names, encode_args(args))

    async def eval(self, name: str, lua: str, sha: str, keys: list[str],
                   argv: list[bytes]) -> Any:
        """Run a script by SHA1 on already prefixed keys, loading it if Redis lacks it; sent
        in one pipeline with the other script calls of this loop turn."""
        return await self.scripts.run(f"op {name!r}", lua, sha, keys, argv)
