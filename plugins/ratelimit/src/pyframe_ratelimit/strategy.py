"""The limiter's strategy interface, and GCRA behind it: keys, script arguments, both halves.

A strategy turns (client, limits) into one atomic operation for the shared key-value store: a
Lua script for Redis and a Python function over the in-memory data, with the same arguments,
the same stored values and the same reply, so the plugin never knows which backend ran it.
Another algorithm (or an adapter to another library) is another class with these members.
Pure: no pyframe import.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Sequence
from importlib.resources import files
from typing import Protocol

from .gcra import Decision, Rate, ceil_div, decide_one, decide_reply, decision_of
from .keys import storage_tag
from .limits import Limit, check_names

__all__ = ["RateLimitStrategy", "BucketStore", "GcraStrategy", "GCRA_LUA", "ScriptError",
           "encode_reply"]

GCRA_LUA = files(__package__).joinpath("gcra.lua").read_text(encoding="utf-8")
# What the Lua script accepts as a number: 1-16 ASCII digits. Stricter than int(), on purpose:
# both halves must read the same strings the same way, including ones they did not write.
_WHOLE = re.compile(r"[0-9]{1,16}")
# Storage keys put the client's tag in braces so that all of one client's buckets hash to one
# Redis Cluster slot (one script call may only touch one slot). The prefix must not add braces.
_PREFIX = re.compile(r"^[A-Za-z0-9_.:-]{0,64}$")


class BucketStore(Protocol):
    """The slice of the memory store's data the Python half touches, with Redis's semantics.

    A subset of the shared backends' ``DataView``: ``time()`` as ``redis.call('TIME')``,
    ``get``, and ``set`` with a TTL in milliseconds (``px``).
    """

    def time(self) -> tuple[int, int]: ...

    def get(self, key: str) -> bytes | None: ...

    def set(self, key: str, value: bytes, px: int | None = None) -> None: ...


class ScriptError(ValueError):
    """Raised by the Python half where the Lua script answers an error (bad arguments)."""


class RateLimitStrategy(Protocol):
    """What the plugin needs from an algorithm.

    ``keys`` and ``arguments`` build one call (``keys_for`` is ``keys`` with all but the
    client worked out once, for the request path); ``lua`` runs it on Redis (server time from
    ``TIME``); ``apply`` runs it on the in-memory store, synchronously, with the store's clock
    (or ``now_us`` when given); ``decode`` reads either reply, ``admits`` only whether it
    admitted the request (all an admitted answer without fields needs). Both halves must
    agree exactly.
    """

    name: str
    lua: str
    # Where a reply's per-limit states begin: ``remaining, reset_us, full_us`` for each
    # limit from there on, as a Decision's states (read without decoding on the fast path).
    states_at: int

    def keys(self, prefix: str, client_key: str, scope: str,
             limits: Sequence[Limit]) -> list[str]: ...

    def keys_for(self, prefix: str, scope: str,
                 limits: Sequence[Limit]) -> Callable[[str], list[str]]: ...

    def arguments(self, limits: Sequence[Limit], cost: int = 1) -> list[str]: ...

    def apply(self, store: BucketStore, keys: Sequence[str], args: Sequence[str | bytes],
              now_us: int | None = None) -> list[int]: ...

    def decode(self, reply: Sequence[int], cost: int = 1) -> Decision: ...

    def admits(self, reply: Sequence[int]) -> bool: ...


def _whole(value: str | bytes | int) -> int | None:
    if isinstance(value, bytes):
        # bytes.isdigit() is ASCII digits only: what the script's '^%d+$' takes.
        return int(value) if 0 < len(value) <= 16 and value.isdigit() else None
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str) or not _WHOLE.fullmatch(value):
        return None
    return int(value)


class GcraStrategy:
    """GCRA: one key per limit holding its TAT; see gcra.py for the math, gcra.lua for Redis."""

    name = "gcra"
    lua = GCRA_LUA
    states_at = 3  # [allowed, retry_after_us, now_us], then the states

    def keys(self, prefix: str, client_key: str, scope: str,
             limits: Sequence[Limit]) -> list[str]:
        """``<prefix>{<client tag>}:<scope>:<limit name>`` for each limit.

        The tag is a digest of the client key, so addresses, user ids and API keys are not
        stored in clear and a client cannot make keys of any length. The scope (``default``, a
        rule's pattern) keeps different rules' buckets apart; names have no ':' so the key
        splits one way only.
        """
        return self.keys_for(prefix, scope, limits)(client_key)

    def keys_for(self, prefix: str, scope: str,
                 limits: Sequence[Limit]) -> Callable[[str], list[str]]:
        """``client_key -> keys(prefix, client_key, scope, limits)``, checked once."""
        if not _PREFIX.match(prefix):
            raise ValueError(f"a key prefix is up to 64 letters, digits, '_', '.', ':' or '-', "
                             f"got {prefix!r}")
        head = prefix + "{"
        tails = [f"}}:{scope}:{limit.name}" for limit in limits]
        if len(tails) == 1:
            tail = tails[0]
            return lambda client_key: [head + storage_tag(client_key) + tail]

        def build(client_key: str) -> list[str]:
            tagged = head + storage_tag(client_key)
            return [tagged + tail for tail in tails]

        return build

    def arguments(self, limits: Sequence[Limit], cost: int = 1) -> list[str]:
        if not limits:
            raise ValueError("a decision needs at least one limit")
        check_names(limits)
        if not isinstance(cost, int) or isinstance(cost, bool) or cost < 1:
            raise ValueError(f"a request costs a whole number >= 1, got {cost!r}")
        for limit in limits:
            if cost > limit.burst:
                raise ValueError(f"a request of cost {cost} can never fit the burst of "
                                 f"{limit.burst} of limit {limit.name!r}")
        args = [str(cost)]
        for limit in limits:
            args += (str(limit.interval_us), str(limit.tolerance_us))
        return args

    def apply(self, store: BucketStore, keys: Sequence[str], args: Sequence[str | bytes],
              now_us: int | None = None) -> list[int]:
        """The Python half: what gcra.lua does, on ``store``, at ``now_us`` (default: the
        store's ``time()``, as the script reads ``TIME``).

        Raises ScriptError where the script answers an error, for the same arguments.
        """
        if len(keys) < 1 or len(args) != 1 + 2 * len(keys):
            raise ScriptError(f"expected 1 + 2 x {len(keys)} arguments, got {len(args)}")
        cost, rates = _parse_arguments(tuple(args))
        if now_us is None:
            seconds, micros = store.time()
            now_us = seconds * 1_000_000 + micros
        if len(rates) == 1:  # one limit, the usual case, without the lists of the general one
            key = keys[0]
            raw = store.get(key)
            rate = rates[0]
            reply, tat = decide_one(rate.interval_us, rate.tolerance_us,
                                    _whole(raw) if raw else None, now_us, cost)
            if tat is not None:
                store.set(key, str(tat).encode("ascii"), px=ceil_div(reply[5], 1000))
            return reply
        tats = [_whole(store.get(key) or b"") for key in keys]
        reply, new = decide_reply(rates, tats, now_us, cost)
        if new is not None:
            for i, (key, tat) in enumerate(zip(keys, new)):
                # reply[5 + 3i] is limit i's full_us: the state lives until the bucket is full.
                store.set(key, str(tat).encode("ascii"), px=ceil_div(reply[5 + 3 * i], 1000))
        return reply

    def admits(self, reply: Sequence[int]) -> bool:
        """Whether a reply of either half admitted the request: its first integer."""
        return reply[0] == 1

    def decode(self, reply: Sequence[int], cost: int = 1) -> Decision:
        """Read a reply of either half back into a Decision."""
        if len(reply) < 6 or len(reply) % 3:
            raise ValueError(f"a GCRA reply has 3 + 3 x n integers, got {len(reply)}")
        return decision_of(reply, cost)


@functools.lru_cache(maxsize=1024)
def _parse_arguments(args: tuple[str | bytes, ...]) -> tuple[int, tuple[Rate, ...]]:
    # The same few argument lists come back on every request (they are the app's limits, not
    # the clients'), so each is parsed once; the bound only guards against misuse.
    cost = _whole(args[0])
    if cost is None or cost < 1:
        raise ScriptError("bad cost")
    rates = []
    for i in range((len(args) - 1) // 2):
        interval, tolerance = _whole(args[1 + 2 * i]), _whole(args[2 + 2 * i])
        if interval is None or tolerance is None or interval < 1 \
                or cost * interval > tolerance:
            raise ScriptError(f"bad rate for key {i + 1}")
        rates.append(Rate(interval, tolerance))
    return cost, tuple(rates)


def encode_reply(decision: Decision) -> list[int]:
    """The script's reply for a decision: flat integers, as Redis returns a Lua table."""
    reply = [int(decision.allowed), decision.retry_after_us, decision.now_us]
    for state in decision.states:
        reply += (state.remaining, state.reset_us, state.full_us)
    return reply
