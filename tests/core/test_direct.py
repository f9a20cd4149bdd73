"""Small responses written straight to the transport: byte-exact HTTP, keep-alive, pipelining."""

import asyncio

import pytest

from pyframe import PyFrameApp
from pyframe.http.direct import DIRECT_LIMIT, DirectResponse
from pyframe.testing import TestClient


def app_with_routes():
    app = PyFrameApp()
    app.get("/plain")(lambda context: "Hello, World!")
    app.get("/json")(lambda context: {"message": "Hello, World!"})
    app.get("/big")(lambda context: b"x" * (DIRECT_LIMIT + 1))

    @app.get("/headers")
    async def headers(context):
        return {"status": 201, "headers": {"X-Custom": "1", "Content-Length": "999"}, "body": "made"}

    @app.get("/inject")
    async def inject(context):
        return {"status": 200, "headers": {"X-Bad": "a\r\nSet-Cookie: stolen=1"}, "body": "x"}

    return app


async def exchange(port, data, *, until_close=True, expect=1):
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(data)
        await writer.drain()
        if until_close:
            return await asyncio.wait_for(reader.read(), 10)
        chunks = b""
        while chunks.count(b"HTTP/1.1 ") < expect or not chunks.endswith((b"!", b"}")):
            chunks += await asyncio.wait_for(reader.read(65536), 10)
        return chunks
    finally:
        writer.close()


async def test_plaintext_bytes_on_the_wire():
    async with TestClient(app_with_routes()) as client:
        raw = await exchange(client.port, b"GET /plain HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    head, _, body = raw.partition(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    assert lines[0] == b"HTTP/1.1 200 OK"
    fields = dict(line.split(b": ", 1) for line in lines[1:])
    assert fields[b"Content-Type"] == b"text/plain; charset=utf-8"
    assert fields[b"Content-Length"] == b"13"
    assert fields[b"Connection"] == b"close"
    assert fields[b"Date"].endswith(b" GMT") and fields[b"Server"].startswith(b"Python/")
    assert body == b"Hello, World!"


async def test_keep_alive_and_pipelined_requests_answer_in_order():
    async with TestClient(app_with_routes()) as client:
        request = b"GET /plain HTTP/1.1\r\nHost: x\r\n\r\nGET /json HTTP/1.1\r\nHost: x\r\n\r\n"
        raw = await exchange(client.port, request, until_close=False, expect=2)
    assert raw.count(b"HTTP/1.1 200 OK") == 2
    assert raw.index(b"Hello, World!") < raw.index(b'{"message":"Hello, World!"}')
    assert b"Connection: close" not in raw


async def test_headers_from_the_app_are_kept_and_length_is_the_body_s():
    async with TestClient(app_with_routes()) as client:
        async with client.get("/headers") as resp:
            assert resp.status == 201 and resp.headers["X-Custom"] == "1"
            assert resp.headers["Content-Length"] == "4" and await resp.read() == b"made"
        async with client.head("/plain") as resp:
            assert resp.headers["Content-Length"] == "13" and await resp.read() == b""
        async with client.get("/big") as resp:
            assert len(await resp.read()) == DIRECT_LIMIT + 1


async def test_header_injection_is_a_500_not_a_forged_header():
    async with TestClient(app_with_routes()) as client:
        raw = await exchange(client.port, b"GET /inject HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    assert raw.startswith(b"HTTP/1.1 500")
    assert b"stolen" not in raw


async def test_http_1_0_keeps_aiohttp_s_path():
    async with TestClient(app_with_routes()) as client:
        raw = await exchange(client.port, b"GET /plain HTTP/1.0\r\n\r\n")
    assert raw.startswith(b"HTTP/1.0 200 OK") and raw.endswith(b"Hello, World!")


@pytest.mark.parametrize("keep_alive,ending", [(True, b"\r\n\r\n"), (False, b"Connection: close\r\n\r\n")])
def test_force_close_decides_the_connection_header(keep_alive, ending):
    class FakeTransport:
        written = b""

        def is_closing(self):
            return False

        def write(self, data):
            self.written += data

    class FakeProtocol:
        _paused = False  # the client keeps up: nothing to wait for

    class FakeRequest:
        transport = FakeTransport()
        _protocol = FakeProtocol()
        method = "GET"

    response = DirectResponse(200, b"HTTP/1.1 200 OK\r\n", b"body")
    response.keep_alive = keep_alive
    asyncio.run(response.prepare(FakeRequest()))
    assert FakeRequest.transport.written.endswith(ending + b"body")
