"""Helpers of the ratelimit plugin's tests: apps on an injected clock, real servers, Redis
servers of the tests' own (borrowed from the backend tests), polling with a deadline."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from pyframe import PyFrameApp
from tests.backends.support import FakeClock, RedisServer, free_port, unique_prefix

__all__ = ["FakeClock", "RedisServer", "free_port", "unique_prefix",
           "use_clock", "app_with", "eventually", "statuses", "DEADLINE"]

DEADLINE = 20.0  # generous, so a loaded 2-core machine does not fail a correct limiter


def use_clock(app: PyFrameApp, clock: Callable[[], float], url: str = "memory://") -> None:
    """Run the app's ``memory://`` backend on ``clock`` (seconds), so a test moves time.

    The app's start-up hooks run before the plugins start, so this lease opens the backend
    the plugin then shares (one instance per URL); the app closes it at shutdown.
    """

    async def set_clock(app: PyFrameApp) -> None:
        lease = await app.backends.open(url)
        lease.backend.keyspace.clock = clock

    app.on_startup(set_clock)


def app_with(tmp_path: Path, config: str = "", **routes: Any) -> PyFrameApp:
    """An app reading ``config`` as its pyframe.toml, with ``GET /`` answering ``ok``."""
    path = tmp_path / "pyframe.toml"
    path.write_text(config)
    app = PyFrameApp(config=str(path))

    @app.get("/")
    async def index(context):
        return "ok"

    return app


async def statuses(client: Any, path: str = "/", count: int = 1, **kwargs: Any) -> list[int]:
    """The statuses of ``count`` sequential requests."""
    out = []
    for _ in range(count):
        async with client.get(path, **kwargs) as resp:
            await resp.read()
            out.append(resp.status)
    return out


async def eventually(check: Callable[[], Awaitable[bool]], timeout: float = DEADLINE,
                     what: str = "the condition") -> None:
    """Poll ``check`` until it is true; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not await check():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} did not hold within {timeout} s")
        await asyncio.sleep(0.02)  # a poll interval, with the deadline above
