"""A streamed response notices a client that went away while the stream had nothing to send,
and a body can cut its own stream (pyframe.http.writer)."""

from __future__ import annotations

import asyncio

import aiohttp
import pytest
from aiohttp import web

from pyframe import PyFrameApp, StreamingResponse
from pyframe.testing import TestClient

DEADLINE = 10.0


@pytest.fixture(autouse=True)
def _no_stray_config(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)


def idle_stream_app():
    """/idle sends one line, then waits for something that never comes."""
    app = PyFrameApp()
    seen = {"finally": asyncio.Event(), "cancelled": False}

    @app.get("/idle")
    async def idle(context):
        async def body():
            try:
                yield b"hello\n"
                await asyncio.Event().wait()
            except asyncio.CancelledError:
                seen["cancelled"] = True
                raise
            finally:
                seen["finally"].set()

        return StreamingResponse(body(), content_type="text/plain")

    @app.post("/echo-stream")
    async def echo_stream(context):
        data = context.raw_body

        async def body():
            for _ in range(3):
                yield data

        return StreamingResponse(body(), content_type="text/plain")

    return app, seen


async def raw_get(port: int, path: str) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode())
    await writer.drain()
    return reader, writer


async def test_an_idle_stream_ends_when_the_client_disconnects():
    app, seen = idle_stream_app()
    async with TestClient(app) as client:
        reader, writer = await raw_get(client.port, "/idle")
        head = await asyncio.wait_for(reader.readuntil(b"hello\n"), DEADLINE)
        assert head.startswith(b"HTTP/1.1 200 OK\r\n")
        assert not seen["finally"].is_set()
        writer.close()  # no event will ever be written: only the disconnect can end it
        await asyncio.wait_for(seen["finally"].wait(), DEADLINE)
        assert seen["cancelled"]


async def test_a_half_closed_connection_also_ends_the_stream():
    app, seen = idle_stream_app()
    async with TestClient(app) as client:
        reader, writer = await raw_get(client.port, "/idle")
        await asyncio.wait_for(reader.readuntil(b"hello\n"), DEADLINE)
        writer.write_eof()  # the client's FIN: aiohttp closes the connection
        await asyncio.wait_for(seen["finally"].wait(), DEADLINE)
        writer.close()


async def test_the_request_payload_is_put_back_and_keep_alive_still_works():
    app = PyFrameApp()

    @app.get("/short")
    async def short(context):
        async def body():
            yield b"a"
            yield b"b"

        return StreamingResponse(body(), content_type="text/plain")

    async with TestClient(app) as client:
        for _ in range(3):  # one connection, three streamed responses in turn
            async with client.get("/short") as resp:
                assert await resp.read() == b"ab"


async def test_a_stream_answering_a_request_with_a_body_is_written_whole():
    app, _ = idle_stream_app()
    async with TestClient(app) as client:
        async with client.post("/echo-stream", data=b"xyz") as resp:
            assert await resp.read() == b"xyzxyzxyz"


async def test_a_body_that_cancels_its_writer_cuts_the_stream(capsys):
    app = PyFrameApp()
    closed = asyncio.Event()

    class Cutting:
        """Sends one chunk, then cancels the task iterating it (as a stalled SSE client's
        stream is cut)."""

        def __init__(self):
            self.sent = False

        def __aiter__(self):
            return self

        async def __anext__(self):
            if not self.sent:
                self.sent = True
                return b"first\n"
            asyncio.current_task().cancel()
            await asyncio.Event().wait()

        async def aclose(self):
            closed.set()

    @app.get("/cut")
    async def cut(context):
        return StreamingResponse(Cutting(), content_type="text/plain")

    @app.get("/after")
    async def after(context):
        return "still serving"

    async with TestClient(app) as client:
        async with client.get("/cut") as resp:
            assert resp.status == 200
            assert await resp.content.readline() == b"first\n"
            with pytest.raises(aiohttp.ClientPayloadError):
                await resp.read()  # an aborted chunked body, never a complete one
        await asyncio.wait_for(closed.wait(), DEADLINE)
        async with client.get("/after") as resp:
            assert await resp.text() == "still serving"
    assert "stream_failed" not in capsys.readouterr().err


def test_the_private_aiohttp_names_it_relies_on():
    # The writer swaps a bodiless request's payload for the length of its stream, and relies
    # on aiohttp telling the current request's payload about a lost connection.
    assert "_payload" in web.BaseRequest.ATTRS
    assert callable(getattr(web.BaseRequest, "_cancel", None))
