"""Helpers for the ratelimit tests: a clock the test moves, a bucket store on it, request contexts.

Properties run a fixed, derandomised set of examples by default; for a long random run:

    PYFRAME_RATELIMIT_EXAMPLES=5000 uv run --locked --all-packages pytest tests/plugins/ratelimit -q -p no:pyframe
"""

from __future__ import annotations

import os
from types import SimpleNamespace
from typing import Any

import pytest
from hypothesis import HealthCheck, settings
from multidict import CIMultiDict

from pyframe_ratelimit import GcraStrategy, Limit

_examples = int(os.environ.get("PYFRAME_RATELIMIT_EXAMPLES", "0"))

# Applied with ``@settings.get_profile("pyframe-ratelimit")``, so other suites keep theirs.
settings.register_profile(
    "pyframe-ratelimit",
    max_examples=_examples or 200,
    derandomize=not _examples,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)


class Clock:
    """Integer microseconds that move only when the test says so."""

    def __init__(self, start_us: int = 1_700_000_000_000_000) -> None:
        self.now_us = start_us

    def advance(self, seconds: float) -> None:
        self.now_us += round(seconds * 1_000_000)


class DictStore:
    """Bytes with a millisecond TTL, expiring on the clock: the backends' DataView, in small."""

    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self.data: dict[str, tuple[bytes, int]] = {}
        self.ttls: dict[str, int] = {}

    def get(self, key: str) -> bytes | None:
        item = self.data.get(key)
        if item is None:
            return None
        if item[1] <= self.clock.now_us:
            del self.data[key]
            return None
        return item[0]

    def set(self, key: str, value: bytes, px: int | None = None) -> None:
        assert isinstance(value, bytes) and px is not None and px >= 1
        self.data[key] = (value, self.clock.now_us + px * 1000)
        self.ttls[key] = px

    def time(self) -> tuple[int, int]:
        return divmod(self.clock.now_us, 1_000_000)


class Limiter:
    """The Python half end to end: keys, arguments, apply on the store, decode."""

    def __init__(self, limits: list[Limit], clock: Clock | None = None) -> None:
        self.limits = limits
        self.clock = clock or Clock()
        self.store = DictStore(self.clock)
        self.strategy = GcraStrategy()

    def hit(self, client: str = "ip:192.0.2.1", cost: int = 1, scope: str = "default"):
        keys = self.strategy.keys("rl:", client, scope, self.limits)
        # No now_us: the Python half reads the store's time(), as the script reads TIME.
        reply = self.strategy.apply(self.store, keys, self.strategy.arguments(self.limits, cost))
        return self.strategy.decode(reply, cost)


@pytest.fixture(scope="session")
def tools() -> SimpleNamespace:
    """The helper classes; session-scoped so hypothesis tests may use them too."""
    return SimpleNamespace(Clock=Clock, DictStore=DictStore, Limiter=Limiter, context=context)


def context(peer: str | None = "192.0.2.1", headers: Any = (), user: Any = None):
    """What key functions read from a request context: remote_addr, headers, user."""
    return SimpleNamespace(remote_addr=peer, headers=CIMultiDict(headers), user=user)

