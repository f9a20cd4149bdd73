"""Graceful shutdown in one process: in-flight requests finish, streams end, hooks run."""

from __future__ import annotations

import asyncio

import aiohttp
import pytest

from pyframe import PyFrameApp, StreamingResponse
from pyframe.serving import AppServer, draining, until_draining

from .support import wait_until


@pytest.fixture
def app(tmp_path):
    path = tmp_path / "pyframe.toml"
    path.write_text("[server]\nshutdown_timeout = 5\n")
    return PyFrameApp(config=str(path))


async def test_stop_lets_requests_finish_and_ends_streams(app):
    in_flight = asyncio.Event()
    hooks = []

    @app.get("/slow")
    async def slow(context):
        in_flight.set()
        await draining(context.app).wait()  # still working when the drain begins
        await asyncio.sleep(0.05)
        return "x" * 200_000

    @app.get("/events")
    async def events(context):
        async def ticks():
            n = 0
            while True:
                yield f"data: {n}\n\n"
                n += 1
                await asyncio.sleep(0.01)

        return StreamingResponse(until_draining(context.app, ticks()),
                                 content_type="text/event-stream")

    app.on_shutdown(lambda app: hooks.append("shutdown"))
    server = AppServer(app)
    await server.start()
    port = server.port
    url = f"http://127.0.0.1:{port}"
    async with aiohttp.ClientSession() as session:
        async def fetch_slow():
            async with session.get(url + "/slow") as resp:
                return resp.status, resp.headers.get("Connection"), await resp.read()

        slow = asyncio.ensure_future(fetch_slow())
        async with session.get(url + "/events") as stream:
            first = await stream.content.readline()
            assert first == b"data: 0\n"
            await in_flight.wait()
            stopping = asyncio.ensure_future(server.stop())
            rest = await stream.read()  # a clean end of the chunked body, not a cut
            assert (first + rest).endswith(b"\n\n")
        status, connection, body = await slow
        await stopping
    assert (status, len(body)) == (200, 200_000)
    assert connection == "close"  # answered during the drain: do not reuse this connection
    assert hooks == ["shutdown"]
    with pytest.raises(OSError):
        await asyncio.open_connection("127.0.0.1", port)


async def test_grace_period_bounds_the_wait(tmp_path):
    path = tmp_path / "pyframe.toml"
    path.write_text("[server]\nshutdown_timeout = 0.3\nhandler_timeout = 60\n")
    app = PyFrameApp(config=str(path))
    in_flight = asyncio.Event()
    never = asyncio.Event()

    @app.get("/stuck")
    async def stuck(context):
        in_flight.set()
        await never.wait()  # ignores the drain

    server = AppServer(app)
    await server.start()
    async with aiohttp.ClientSession() as session:
        request = asyncio.ensure_future(session.get(f"http://127.0.0.1:{server.port}/stuck"))
        await in_flight.wait()
        loop = asyncio.get_running_loop()
        started = loop.time()
        await server.stop()
        assert loop.time() - started < 5  # gave up after the 0.3 s grace period
        with pytest.raises(aiohttp.ClientError):
            await request
    assert not app.started


async def test_until_draining_ends_with_the_source(app):
    async def three():
        for n in range(3):
            yield n

    assert [item async for item in until_draining(app, three())] == [0, 1, 2]
    draining(app).set()
    assert [item async for item in until_draining(app, three())] == []


async def test_a_connection_accepted_before_the_drain_is_still_served():
    app = PyFrameApp()
    app.get("/")(lambda context: "served")
    server = AppServer(app, "127.0.0.1", 0)
    await server.start()
    reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
    try:
        await wait_until(lambda: len(server.handler.connections) == 1, what="the accept")
        stopping = asyncio.ensure_future(server.stop(timeout=5))
        await wait_until(lambda: not server.server.is_serving(), what="the drain to begin")
        writer.write(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        response = await asyncio.wait_for(reader.read(), 5)
        await stopping
    finally:
        writer.close()
    assert response.startswith(b"HTTP/1.1 200 OK")
    assert b"Connection: close" in response and response.endswith(b"served")
