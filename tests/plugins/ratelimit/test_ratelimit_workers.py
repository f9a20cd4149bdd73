"""``pyframe run --workers 2`` against one Redis: the limit is global. Many requests, answered
by both workers (each answer names its pid), and the admitted count equals the limit, not
twice it."""

from __future__ import annotations

import asyncio
import collections
import sys
import textwrap

import aiohttp
import pytest

from pyframe.backends import BackendRegistry
from pyframe_ratelimit import GcraStrategy, Limit
from tests.server.support import ServerProcess

from .support import unique_prefix

pytestmark = [pytest.mark.usefixtures("isolated"), pytest.mark.timeout(60)]

BURST = 25
REQUESTS = 200

APP = """
import os

from pyframe import MiddlewareOrder, PyFrameApp

app = PyFrameApp()


@app.get("/")
async def index(context):
    return {"pid": os.getpid()}


async def worker_pid(context, call_next):
    # Outermost, so the limiter's 429s say which worker answered them too.
    response = await call_next(context)
    response.headers["X-Worker-Pid"] = str(os.getpid())
    return response


worker_pid.order = MiddlewareOrder.OUTERMOST
app.middleware.append(worker_pid)
"""


async def test_two_workers_share_one_limit(tmp_path, redis_url):
    prefix = unique_prefix()
    backend = f"{redis_url}?prefix={prefix}"
    (tmp_path / "limited.py").write_text(textwrap.dedent(APP))
    # One request a minute after a burst of 25: nothing refills while the test runs.
    (tmp_path / "pyframe.toml").write_text(textwrap.dedent(f"""
        [logging]
        format = "json"
        access_log = false

        [plugins.ratelimit]
        requests_per_minute = 1
        burst_size = {BURST}
        backend = "{backend}"
    """))
    server = await ServerProcess.command(tmp_path, sys.executable, "-m", "pyframe", "run",
                                         "limited:app", "--host", "127.0.0.1", "--port", "0",
                                         "--workers", "2")
    try:
        await server.wait_for("ratelimit_started", count=2)
        await server.wait_for("server_listening", role="supervisor")
        url = await server.url()
        answers: collections.Counter[tuple[int, str]] = collections.Counter()
        # A new connection per request, 16 at a time, so the kernel spreads them over both.
        connector = aiohttp.TCPConnector(force_close=True, limit=16)
        async with aiohttp.ClientSession(connector=connector) as session:
            async def one() -> None:
                async with session.get(url + "/") as resp:
                    await resp.read()
                    answers[resp.status, resp.headers["X-Worker-Pid"]] += 1

            await asyncio.wait_for(asyncio.gather(*(one() for _ in range(REQUESTS))), 40)
        pids = {pid for _, pid in answers}
        workers = {str(e["pid"]) for e in server.find("worker_started")}
        assert pids == workers and len(pids) == 2, answers
        admitted = sum(n for (status, _), n in answers.items() if status == 200)
        refused = sum(n for (status, _), n in answers.items() if status == 429)
        assert (admitted, refused) == (BURST, REQUESTS - BURST), answers
        # Each worker refused some: on its own it would have admitted up to 25 more.
        assert all(answers[429, pid] > 0 for pid in pids), answers
    finally:
        await server.close()
        await forget_bucket(backend)


async def forget_bucket(backend: str) -> None:
    """Leave the shared Redis as it was: the one bucket, through the shared backend."""
    registry = BackendRegistry()
    try:
        lease = await registry.open(backend)
        [key] = GcraStrategy().keys("ratelimit:", "ip:127.0.0.1", "default",
                                    [Limit.per_minute(1, BURST)])
        await lease.store.delete(key)
    finally:
        await registry.close()
