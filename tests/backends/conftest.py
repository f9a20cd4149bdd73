"""Fixtures of the backend tests: the clock, the contract suite's two kinds of backend, and
Redis servers of the test's own."""

from __future__ import annotations


import pytest

from .support import Env, FakeClock


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()



@pytest.fixture(params=["memory", "redis"])
async def env(request: pytest.FixtureRequest, clock: FakeClock):
    """The contract suite's parameter: the embedded backend, and Redis (which skips, with
    the reason, where no Redis runs on 127.0.0.1:6379, and fails in CI)."""
    url = request.getfixturevalue("redis_url") if request.param == "redis" else None
    environment = Env(request.param, clock, url)
    yield environment
    await environment.close()
