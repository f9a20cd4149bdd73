"""Every request limit and timeout, over a real socket, with short values from the config."""

from __future__ import annotations

import asyncio
import io
import json
import shutil
import socket
import subprocess

import aiohttp
import pytest

from pyframe import PyFrameApp, get_description
from pyframe.config import ServerConfig
from pyframe.runner import bind_socket
from pyframe.testing import TestClient

from .support import DEADLINE, raw_exchange, wait_until


def app_with(tmp_path, config: str) -> PyFrameApp:
    path = tmp_path / "pyframe.toml"
    path.write_text(config)
    app = PyFrameApp(config=str(path))

    @app.get("/")
    async def index(context):
        return "ok"

    @app.post("/echo")
    async def echo(context):
        return {"size": len(context.raw_body)}

    return app


def status_and_body(response: bytes) -> tuple[int, dict]:
    head, _, body = response.partition(b"\r\n\r\n")
    return int(head.split()[1]), json.loads(body)


def test_defaults_are_safe():
    config = ServerConfig()
    assert (config.max_body_size, config.header_timeout, config.body_timeout,
            config.handler_timeout) == (1024 * 1024, 10.0, 30.0, 60.0)
    assert config.max_connections == 10_000 and config.backlog == 1024
    assert (config.max_line_size, config.max_field_size, config.max_headers) == (8190, 8190, 128)
    assert (config.max_head_size, config.send_timeout, config.body_min_rate) == (
        64 * 1024, 30.0, 1024.0)
    assert config.decompress_bodies is True


async def test_slow_request_head_is_cut(tmp_path):
    # A client that trickles header lines never finishes its head: the deadline counts from
    # the connection, not from the last byte (aiohttp alone would wait for keepalive_timeout).
    app = app_with(tmp_path, "[server]\nheader_timeout = 0.3\nkeepalive_timeout = 60\n")
    async with TestClient(app) as client:
        reader, writer = await asyncio.open_connection("127.0.0.1", client.port)
        writer.write(b"GET / HTTP/1.1\r\nHost: x\r\n")
        answer = asyncio.ensure_future(reader.read())
        start = asyncio.get_running_loop().time()
        while not answer.done():  # one more header line every 50 ms, until the server answers
            writer.write(b"X-Slow: 1\r\n")
            await asyncio.wait([answer], timeout=0.05)
        elapsed = asyncio.get_running_loop().time() - start
        writer.close()
        status, body = status_and_body(answer.result())
        assert status == 408
        assert body == {"error": "Request Timeout",
                        "detail": "the request head did not arrive within 0.3 s"}
        assert elapsed < 10  # cut by the 0.3 s head deadline, far below keepalive_timeout


async def test_head_deadline_does_not_cut_idle_keepalive(tmp_path):
    app = app_with(tmp_path, "[server]\nheader_timeout = 0.2\nkeepalive_timeout = 30\n")
    async with TestClient(app) as client:
        connector = aiohttp.TCPConnector(limit=1)
        async with aiohttp.ClientSession(connector=connector) as session:
            async with session.get(client.url("/")) as resp:
                assert resp.status == 200
            await asyncio.sleep(0.5)  # idle on the kept-alive connection: the scenario itself
            async with session.get(client.url("/")) as resp:
                assert resp.status == 200
            assert len(client.server.handler.connections) == 1  # the same connection


async def test_stalled_body_gets_408_and_close(tmp_path):
    app = app_with(tmp_path, "[server]\nbody_timeout = 0.3\n")
    async with TestClient(app) as client:
        response = await raw_exchange(
            client.port, b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nabc")
        status, body = status_and_body(response)
        assert status == 408
        assert body["detail"] == "no body data arrived for 0.3 s"
        assert b"Connection: close" in response  # and the read ended: the server closed


async def test_slow_but_moving_body_is_accepted(tmp_path):
    app = app_with(tmp_path, "[server]\nbody_timeout = 0.6\n")
    async with TestClient(app) as client:
        async def trickle():
            # 0.8 s in total, but never 0.6 s without data; 3 KiB a second, over the default
            # body_min_rate (1 KiB a second), which a body slower than that would not be.
            for _ in range(10):
                yield b"ab" * 128
                await asyncio.sleep(0.08)

        async with client.post("/echo", data=trickle()) as resp:
            assert resp.status == 200
            assert await resp.json() == {"size": 2560}


async def test_keepalive_timeout_closes_idle_connections(tmp_path):
    app = app_with(tmp_path, "[server]\nkeepalive_timeout = 0.3\n")
    async with TestClient(app) as client:
        reader, writer = await asyncio.open_connection("127.0.0.1", client.port)
        writer.write(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        head = await reader.readuntil(b"\r\n\r\n")
        assert b"200 OK" in head and b"Content-Length: 2" in head
        assert await reader.readexactly(2) == b"ok"
        # The server ends the idle connection by itself (default would be 75 s).
        assert await asyncio.wait_for(reader.read(), 10) == b""
        writer.close()


async def test_body_over_the_limit_is_413(tmp_path):
    app = app_with(tmp_path, "[server]\nmax_body_size = 1000\n")
    async with TestClient(app) as client:
        async with client.post("/echo", data=b"x" * 1000) as resp:
            assert resp.status == 200
        async with client.post("/echo", data=b"x" * 1001) as resp:
            assert resp.status == 413
            assert await resp.json() == {"error": get_description(413),
                                         "detail": "the body is 1001 bytes; the limit is 1000"}

        async def chunks():  # no Content-Length: counted as it arrives
            for _ in range(3):
                yield b"x" * 400

        async with client.post("/echo", data=chunks()) as resp:
            assert resp.status == 413
            assert (await resp.json())["detail"] == "the body is over the limit of 1000 bytes"


async def test_default_body_limit_is_one_mebibyte(tmp_path):
    app = app_with(tmp_path, "")
    async with TestClient(app) as client:
        async with client.post("/echo", data=io.BytesIO(b"x" * (1024 * 1024 + 1))) as resp:
            assert resp.status == 413


async def test_handler_timeout_is_503_with_reason(tmp_path):
    app = app_with(tmp_path, "[server]\nhandler_timeout = 0.2\n")
    never = asyncio.Event()

    @app.get("/stuck")
    async def stuck(context):
        await never.wait()

    async with TestClient(app) as client, client.get("/stuck") as resp:
        assert resp.status == 503
        assert await resp.json() == {"error": "Service Unavailable",
                                     "detail": "the handler took longer than 0.2 s"}


async def test_line_and_header_limits(tmp_path):
    app = app_with(tmp_path, "[server]\nmax_line_size = 256\nmax_field_size = 256\n"
                             "max_headers = 5\n")
    async with TestClient(app) as client:
        long_line = b"GET /" + b"a" * 300 + b" HTTP/1.1\r\nHost: x\r\n\r\n"
        assert status_and_body(await raw_exchange(client.port, long_line)) == (
            414, {"error": get_description(414),
                  "detail": "the request line is longer than 256 bytes"})
        long_header = b"GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + b"b" * 300 + b"\r\n\r\n"
        assert status_and_body(await raw_exchange(client.port, long_header)) == (
            431, {"error": "Request Header Fields Too Large",
                  "detail": "a header is longer than 256 bytes"})
        many = b"GET / HTTP/1.1\r\nHost: x\r\n" + b"".join(
            b"X-%d: 1\r\n" % i for i in range(10)) + b"\r\n"
        assert status_and_body(await raw_exchange(client.port, many)) == (
            431, {"error": "Request Header Fields Too Large", "detail": "more than 5 headers"})
        within = b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
        assert (await raw_exchange(client.port, within)).endswith(b"\r\n\r\nok")


@pytest.mark.parametrize("second,status", [
    (b"GET /" + b"a" * 300 + b" HTTP/1.1\r\nHost: x\r\n\r\n", 414),
    (b"GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + b"b" * 300 + b"\r\n\r\n", 431),
])
async def test_limits_tell_a_long_line_from_a_long_header_on_a_kept_alive_connection(
        tmp_path, second, status):
    # The connection counts the bytes of each head afresh, after a GET and after a POST body.
    app = app_with(tmp_path, "[server]\nmax_line_size = 256\nmax_field_size = 256\n")
    app.post("/")(lambda context: "posted")
    first = b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"
    post = b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello"
    async with TestClient(app) as client:
        reader, writer = await asyncio.open_connection("127.0.0.1", client.port)
        try:
            for request, body in ((first, b"ok"), (post, b"posted")):
                writer.write(request)
                head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), DEADLINE)
                length = int(head.split(b"Content-Length: ")[1].split(b"\r\n")[0])
                assert await asyncio.wait_for(reader.readexactly(length), DEADLINE) == body
            writer.write(second)
            answer = await asyncio.wait_for(reader.read(), DEADLINE)
        finally:
            writer.close()
    assert status_and_body(answer)[0] == status


@pytest.mark.parametrize("garbage", [
    b"GET /<script>alert(1)</script> HTTP/1.1 garbage\r\n\r\n",
    b"<script>alert(1)</script> / HTTP/1.1\r\n\r\n",
    b"GET / HTTP/1.1\r\nHost: x\r\nX-<script>alert(1)</script>: 1\r\n\r\n",
    b"GET / HTTP/1.1\r\nHost: x\r\nContent-Length: <script>alert(1)</script>\r\n\r\n",
    b"GET /" + b"<script>alert(1)</script>" * 400 + b" HTTP/1.1\r\n\r\n",
    b"\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03<script>alert(1)</script>",
])
async def test_bad_requests_never_quote_the_request(tmp_path, garbage):
    app = app_with(tmp_path, "")
    async with TestClient(app) as client:
        response = await raw_exchange(client.port, garbage)
    status, body = status_and_body(response)
    assert 400 <= status < 500
    assert b"script" not in response and b"alert" not in response
    assert set(body) == {"error", "detail"} and len(body["detail"]) < 80


async def test_a_routed_odd_path_is_not_quoted_either(tmp_path):
    app = app_with(tmp_path, "")
    async with TestClient(app) as client:
        response = await raw_exchange(
            client.port, b"GET /<script>alert(1)</script> HTTP/1.1\r\nHost: x\r\n"
                         b"Connection: close\r\n\r\n")
    assert status_and_body(response) == (404, {"error": "Not Found"})
    assert b"script" not in response


async def test_connections_over_the_cap_get_503(tmp_path):
    app = app_with(tmp_path, "[server]\nmax_connections = 2\n")
    async with TestClient(app) as client:
        held = [await asyncio.open_connection("127.0.0.1", client.port) for _ in range(2)]
        handler = client.server.handler
        await wait_until(lambda: len(handler.connections) == 2, what="two open connections")
        response = await raw_exchange(client.port, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        status, body = status_and_body(response)
        assert status == 503 and b"Retry-After: 1" in response
        assert body["detail"] == "the server is at its limit of 2 open connections"
        assert handler.refused == 1
        # The held connections are served normally, and a freed slot is usable again.
        reader, writer = held[0]
        writer.write(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        assert (await asyncio.wait_for(reader.read(), 10)).endswith(b"ok")
        writer.close()
        await wait_until(lambda: len(handler.connections) == 1, what="a freed slot")
        assert (await raw_exchange(client.port, b"GET / HTTP/1.1\r\nHost: x\r\n"
                                                b"Connection: close\r\n\r\n")).endswith(b"ok")
        held[1][1].close()


async def test_backlog_bounds_the_accept_queue():
    # Nobody accepts on this socket: the kernel queues at most backlog + 1 handshakes and
    # drops the rest, so those connects time out.
    sock = bind_socket("127.0.0.1", 0, backlog=2)
    port = sock.getsockname()[1]

    async def connect() -> bool:
        try:
            _, writer = await asyncio.wait_for(asyncio.open_connection("127.0.0.1", port), 0.5)
        except (TimeoutError, OSError):
            return False
        writers.append(writer)
        return True

    writers: list[asyncio.StreamWriter] = []
    try:
        connected = await asyncio.gather(*(connect() for _ in range(8)))
        assert 1 <= sum(connected) <= 3
    finally:
        for writer in writers:
            writer.close()
        sock.close()


@pytest.mark.skipif(shutil.which("ss") is None, reason="needs ss (iproute2)")
async def test_backlog_comes_from_the_config(tmp_path):
    app = app_with(tmp_path, "[server]\nbacklog = 7\n")
    async with TestClient(app) as client:
        out = subprocess.run(["ss", "-ltnH", f"sport = :{client.port}"], capture_output=True,
                             text=True, check=True).stdout.split()
        assert out[0] == "LISTEN" and out[2] == "7"  # Send-Q of a listener is its backlog


async def test_streamed_body_has_the_inactivity_timeout_and_route_limit(tmp_path):
    app = app_with(tmp_path, "[server]\nbody_timeout = 0.3\n")

    @app.post("/upload", stream_body=True, max_body_size=8)
    async def upload(context):
        size = 0
        async for chunk in context.stream():
            size += len(chunk)
        return {"size": size}

    async with TestClient(app) as client:
        response = await raw_exchange(
            client.port, b"POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: 6\r\n\r\nabc")
        status, body = status_and_body(response)
        assert (status, body["detail"]) == (408, "no body data arrived for 0.3 s")
        async with client.post("/upload", data=b"123456") as resp:
            assert await resp.json() == {"size": 6}
        async with client.post("/upload", data=b"123456789") as resp:
            assert resp.status == 413


async def test_whole_head_over_max_head_size_is_431(tmp_path):
    # Every line within max_field_size, fewer than max_headers: the total is what is capped.
    app = app_with(tmp_path, "[server]\nmax_head_size = 2048\n")
    lines = b"".join(b"X-Line-%d: %s\r\n" % (i, b"v" * 300) for i in range(10))
    async with TestClient(app) as client:
        response = await raw_exchange(client.port, b"GET / HTTP/1.1\r\nHost: x\r\n" + lines
                                      + b"\r\n")
        status, body = status_and_body(response)
        assert status == 431
        assert body["detail"] == "the request head is larger than 2048 bytes"
        response = await raw_exchange(client.port, b"GET / HTTP/1.1\r\nHost: x\r\n"
                                      + lines[:1500] + b"\r\nConnection: close\r\n\r\n")
        assert response.startswith(b"HTTP/1.1 200")


async def test_a_slow_reader_is_not_cut_by_send_timeout(tmp_path):
    # The client takes the response a megabyte at a time, pausing between reads: the server's
    # buffer stays over its high-water mark far longer than send_timeout, but it shrinks
    # within every send_timeout, and that is progress.
    app = app_with(tmp_path, "[server]\nsend_timeout = 1\n")
    size = 8 * 1024 * 1024

    @app.get("/big")
    async def big(context):
        return b"b" * size

    async with TestClient(app) as client:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 64 * 1024)
        sock.setblocking(False)
        await asyncio.get_running_loop().sock_connect(sock, ("127.0.0.1", client.port))
        reader, writer = await asyncio.open_connection(sock=sock)
        try:
            writer.write(b"GET /big HTTP/1.1\r\nHost: x\r\n\r\n")
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), DEADLINE)
            assert b"200 OK" in head
            received = 0
            while received < size:
                chunk = await asyncio.wait_for(reader.readexactly(min(1 << 20, size - received)),
                                               DEADLINE)
                received += len(chunk)
                await asyncio.sleep(0.3)  # the client's own pace
            assert received == size
        finally:
            writer.close()
