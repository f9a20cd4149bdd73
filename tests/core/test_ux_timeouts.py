"""Timeouts as docs/plugins.md tells them: `[server] handler_timeout` covers the handler (not
middleware), a plugin's own shorter timeout answers first, and a timed-out plain `def` keeps its
pool thread (`[server] sync_workers`) until it returns."""

from __future__ import annotations

import asyncio
import threading

from pyframe import PyFrameApp, ServiceUnavailable
from pyframe.testing import TestClient


def app_with(tmp_path, server: str) -> PyFrameApp:
    config = tmp_path / "pyframe.toml"
    config.write_text(f"[server]\n{server}\n")
    return PyFrameApp(config=str(config))


async def test_handler_timeout_and_a_plugins_own_shorter_timeout(tmp_path):
    app = app_with(tmp_path, "handler_timeout = 0.4")
    never = asyncio.Event()

    @app.get("/slow")
    async def slow(context):
        await never.wait()

    @app.get("/own")
    async def own(context):
        # What a plugin's client does with its own deadline (a backend call, say).
        try:
            async with asyncio.timeout(0.05):
                await never.wait()
        except TimeoutError:
            raise ServiceUnavailable(detail="the backend did not answer within 0.05 s") from None

    async with TestClient(app) as client:
        async with client.get("/slow") as resp:
            assert resp.status == 503
            assert (await resp.json())["detail"] == "the handler took longer than 0.4 s"
        async with client.get("/own") as resp:
            assert resp.status == 503
            assert (await resp.json())["detail"] == "the backend did not answer within 0.05 s"


async def test_middleware_time_is_not_the_handlers(tmp_path):
    app = app_with(tmp_path, "handler_timeout = 0.2")
    app.get("/")(lambda context: "ok")

    async def slow_middleware(context, call_next):
        await asyncio.sleep(0.3)  # slow work of its own, past the handler's timeout
        return await call_next(context)

    app.middleware.append(slow_middleware)
    async with TestClient(app) as client, client.get("/") as resp:
        assert (resp.status, await resp.text()) == (200, "ok")


async def test_a_timed_out_sync_handler_keeps_its_pool_thread(tmp_path):
    app = app_with(tmp_path, "handler_timeout = 0.3\nsync_workers = 1")
    started, release = threading.Event(), threading.Event()

    @app.get("/block")
    def block(context):
        started.set()
        release.wait(10)
        return "done"

    app.get("/quick")(lambda context: "quick")
    async with TestClient(app) as client:
        try:
            async with client.get("/block") as resp:
                assert resp.status == 503
            # The 503 went out, but the function runs on in the only pool thread, so the
            # next plain `def` waits for it, and times out waiting.
            assert started.is_set()
            async with client.get("/quick") as resp:
                assert resp.status == 503
        finally:
            release.set()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 5
        while True:
            async with client.get("/quick") as resp:
                if resp.status == 200:
                    assert await resp.text() == "quick"
                    break
            assert loop.time() < deadline, "the pool thread never came back"
