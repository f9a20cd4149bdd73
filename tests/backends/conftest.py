"""Fixtures of the backend tests: the clock, the contract suite's two kinds of backend, and
Redis servers of the test's own."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from .support import Env, FakeClock, RedisServer


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def redis_server(tmp_path: Path):
    """A factory of RedisServers, every one killed at the end of the test."""
    servers: list[RedisServer] = []

    def make(**kwargs: Any) -> RedisServer:
        directory = tmp_path / f"redis{len(servers)}"
        directory.mkdir()
        server = RedisServer(directory, **kwargs)
        servers.append(server)
        server.start()
        return server

    yield make
    for server in servers:
        server.kill()


@pytest.fixture(params=["memory", "redis"])
async def env(request: pytest.FixtureRequest, clock: FakeClock):
    """The contract suite's parameter: the embedded backend, and Redis (which skips, with
    the reason, where no Redis runs on 127.0.0.1:6379, and fails in CI)."""
    url = request.getfixturevalue("redis_url") if request.param == "redis" else None
    environment = Env(request.param, clock, url)
    yield environment
    await environment.close()
