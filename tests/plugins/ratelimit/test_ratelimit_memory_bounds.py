"""The memory backend under a flood of distinct clients: the key cap holds, the least recently
used buckets go first, and the memory the limiter's buckets take stops growing at the cap."""

from __future__ import annotations

import gc

import pytest

from pyframe import Response
from pyframe.testing import TestClient
from pyframe_ratelimit import RateLimitMiddleware

from .support import FakeClock, app_with, statuses, use_clock

pytestmark = pytest.mark.usefixtures("isolated")

CAP = 10_000
FLOOD = 100_000


class Context:
    """What the limiter reads of a request: its route, method, peer and headers."""

    __slots__ = ("route", "method", "remote_addr", "headers", "user", "path", "app")

    def __init__(self, app, route, peer: str) -> None:
        self.app = app
        self.route = route
        self.method = "GET"
        self.remote_addr = peer
        self.headers = {}
        self.user = None
        self.path = "/"


def rss_kib() -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise AssertionError("no VmRSS in /proc/self/status")


def peer(n: int) -> str:
    return f"10.{n >> 16 & 255}.{n >> 8 & 255}.{n & 255}"


async def test_a_flood_of_100000_distinct_keys_stays_under_the_cap(tmp_path):
    app = app_with(tmp_path)
    url = f"memory://?max_keys={CAP}"
    # A clock that stands still: no bucket expires, so only the cap can free one.
    use_clock(app, FakeClock(), url)
    mw = RateLimitMiddleware(backend=url)
    app.middleware.append(mw)
    response = Response(b"ok")

    async def call_next(context):
        return response

    await app.startup()
    try:
        route, _ = app.router.match("GET", "/")
        sizes = []
        for n in range(FLOOD):
            answer = await mw(Context(app, route, peer(n)), call_next)
            assert answer is response
            if n + 1 in (2 * CAP, FLOOD):
                gc.collect()
                sizes.append(rss_kib())
        health = {h.url: h for h in app.backends.health()}[url]
        assert health.counters["keys"] == CAP
        assert health.counters["evicted_keys"] == FLOOD - CAP
        assert mw.limiter.counters.admitted == FLOOD
        # From 20 000 to 100 000 clients the process did not grow: a bucket costs a few
        # hundred bytes, so 80 000 more kept would be some 30 MB; the bound is 8 MB of noise.
        assert sizes[1] - sizes[0] < 8 * 1024, sizes
        # The most recent clients kept their buckets; the first ones were evicted.
        plan = mw.limiter.plan(Context(app, route, peer(0)))
        [newest] = plan.storage_keys(f"ip:{peer(FLOOD - 1)}")
        [oldest] = plan.storage_keys(f"ip:{peer(0)}")
        assert await mw.limiter.store.get(newest) is not None
        assert await mw.limiter.store.get(oldest) is None
    finally:
        await app.shutdown()


async def test_over_http_an_evicted_bucket_starts_full_again(tmp_path):
    url = "memory://?max_keys=3"
    app = app_with(tmp_path, f'[plugins.ratelimit]\nburst_size = 1\nbackend = "{url}"\n'
                             'trusted_proxies = ["127.0.0.1"]\n')
    use_clock(app, FakeClock(), url)
    async with TestClient(app) as client:
        def as_client(n):
            return {"X-Forwarded-For": f"203.0.113.{n}"}

        assert await statuses(client, headers=as_client(1), count=2) == [200, 429]
        for n in range(2, 5):  # three newer clients push client 1's bucket out
            assert await statuses(client, headers=as_client(n)) == [200]
        [health] = app.backends.health()
        assert health.counters["keys"] == 3 and health.counters["evicted_keys"] == 1
        assert await statuses(client, headers=as_client(1)) == [200]
