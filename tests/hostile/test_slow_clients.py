"""Slow and idle clients: a connection that sends nothing, a head or a body trickled slowly,
idle connections filling the connection cap, and ``Expect: 100-continue``.

Each slow client costs its own connection only: the test ends with a normal request served.
"""

from __future__ import annotations

import asyncio

import pytest

from pyframe.testing import TestClient

from .support import DEADLINE, RawResponse, assert_still_serving, connect

HOST = b"Host: hostile.test\r\n"


async def trickle_until_answered(conn, data: bytes, *, every: float, window: float
                                 ) -> tuple[bool, RawResponse | None]:
    """Send ``data`` one byte per ``every`` seconds until the server answers or closes, or
    ``window`` seconds pass: whether it answered (or closed), and its response."""
    loop = asyncio.get_running_loop()
    answer = asyncio.ensure_future(conn.response(timeout=DEADLINE))
    deadline = loop.time() + window
    for byte in data:
        if answer.done() or loop.time() > deadline:
            break
        try:
            conn.writer.write(bytes([byte]))
            await conn.writer.drain()
        except ConnectionError:
            break
        await asyncio.wait([answer], timeout=every)  # the attack's pace, not a wait for it
    if not answer.done():
        await asyncio.wait([answer], timeout=every * 2)
    if not answer.done():
        answer.cancel()
        await asyncio.gather(answer, return_exceptions=True)
        return False, None
    return True, answer.result()


async def test_connection_that_sends_nothing_gets_408(make_app):
    async with TestClient(make_app("[server]\nheader_timeout = 0.3\nkeepalive_timeout = 60\n")
                          ) as client:
        async with await connect(client.port) as conn:
            response = await conn.response()
            assert response is not None and response.status == 408
            assert await conn.rest() == b""
        await assert_still_serving(client.port)


async def test_head_trickled_a_byte_at_a_time_gets_408(make_app):
    # Bytes keep coming, but the head is never done: the deadline counts from the first
    # byte, not from the last one.
    async with TestClient(make_app("[server]\nheader_timeout = 0.5\nkeepalive_timeout = 60\n")
                          ) as client:
        async with await connect(client.port) as conn:
            endless = b"GET / HTTP/1.1\r\n" + HOST + b"X-Slow: " + b"s" * 5000
            answered, response = await trickle_until_answered(conn, endless, every=0.02,
                                                              window=8)
            assert answered, "a trickled head was never cut"
            assert response is not None and response.status == 408
        await assert_still_serving(client.port)


async def test_idle_keepalive_connection_is_closed(make_app):
    async with TestClient(make_app("[server]\nkeepalive_timeout = 0.3\n")) as client:
        async with await connect(client.port) as conn:
            await conn.send(b"GET / HTTP/1.1\r\n" + HOST + b"\r\n")
            assert (await conn.response()).body == b"ok"
            assert await conn.rest(timeout=DEADLINE) == b""
        await assert_still_serving(client.port)


async def test_idle_connections_at_the_cap_do_not_lock_others_out_for_good(make_app):
    async with TestClient(make_app("[server]\nmax_connections = 4\nheader_timeout = 30\n")
                          ) as client:
        idle = [await connect(client.port) for _ in range(4)]
        try:
            # One more: refused at once with 503 and Retry-After, never queued.
            async with await connect(client.port) as extra:
                await extra.send(b"GET / HTTP/1.1\r\n" + HOST + b"\r\n")
                response = await extra.response()
                assert response is not None and response.status == 503
                assert response.header("Retry-After") == "1"
            idle.pop().close()
            # The freed slot serves again (the close reaches the server asynchronously).
            for _ in range(100):
                async with await connect(client.port) as conn:
                    await conn.send(b"GET / HTTP/1.1\r\n" + HOST + b"\r\n")
                    response = await conn.response()
                if response is not None and response.status == 200:
                    break
            assert (response.status, response.body) == (200, b"ok")
        finally:
            for conn in idle:
                conn.close()


async def test_steady_body_is_accepted(make_app):
    # The control case for the next one: slow but steady uploads are fine.
    async with TestClient(make_app("[server]\nbody_timeout = 0.5\n")) as client:
        async with await connect(client.port) as conn:
            await conn.send(b"POST /echo HTTP/1.1\r\n" + HOST + b"Content-Length: 2000\r\n\r\n")
            for _ in range(10):
                await conn.send(b"x" * 200)
                await asyncio.sleep(0.02)  # the upload's pace
            response = await conn.response()
            assert (response.status, response.json()) == (200, {"size": 2000})
        await assert_still_serving(client.port)


async def test_trickled_body_is_cut(make_app):
    async with TestClient(make_app("[server]\nbody_timeout = 0.5\n")) as client:
        async with await connect(client.port) as conn:
            await conn.send(b"POST /echo HTTP/1.1\r\n" + HOST
                            + b"Content-Length: 100000\r\n\r\n")
            answered, response = await trickle_until_answered(conn, b"x" * 100_000,
                                                              every=0.1, window=5)
            assert answered, "a body trickled at 10 bytes a second was never cut"
            assert response is None or response.status == 408
        await assert_still_serving(client.port)


async def test_huge_chunk_extension_is_refused(make_app):
    async with TestClient(make_app()) as client:
        async with await connect(client.port) as conn:
            data = (b"POST /echo HTTP/1.1\r\n" + HOST + b"Transfer-Encoding: chunked\r\n\r\n"
                    b"3;ext=" + b"e" * (1024 * 1024) + b"\r\nabc\r\n0\r\n\r\n")
            response, _ = await conn.send_until_answered(
                [data[i:i + 65536] for i in range(0, len(data), 65536)])
            assert response is None or response.status in (400, 413, 431)
        await assert_still_serving(client.port)


async def test_expect_100_continue_is_answered(make_app):
    async with TestClient(make_app()) as client:
        async with await connect(client.port) as conn:
            await conn.send(b"POST /echo HTTP/1.1\r\n" + HOST
                            + b"Content-Length: 5\r\nExpect: 100-continue\r\n\r\n")
            interim = await conn.response(timeout=2)
            assert interim is not None and interim.status == 100
            await conn.send(b"hello")
            response = await conn.response()
            assert (response.status, response.json()) == (200, {"size": 5})
        await assert_still_serving(client.port)


async def test_expect_100_continue_over_the_limit_is_refused_at_once(make_app):
    async with TestClient(make_app("[server]\nmax_body_size = 1000\n")) as client:
        async with await connect(client.port) as conn:
            await conn.send(b"POST /echo HTTP/1.1\r\n" + HOST
                            + b"Content-Length: 50000000\r\nExpect: 100-continue\r\n\r\n")
            response = await conn.response(timeout=2)  # without the body ever being sent
            assert response is not None and response.status in (413, 417)
        await assert_still_serving(client.port)


async def test_expect_100_continue_is_not_sent_where_the_body_is_not_read(make_app):
    # 100 Continue is sent only when the body is about to be read: a request that is answered
    # without it (no route here) gets its final answer at once, and the client keeps its body.
    async with TestClient(make_app()) as client:
        async with await connect(client.port) as conn:
            await conn.send(b"POST /nowhere HTTP/1.1\r\n" + HOST
                            + b"Content-Length: 5\r\nExpect: 100-continue\r\n\r\n")
            response = await conn.response(timeout=2)
            assert response is not None and response.status == 404
        await assert_still_serving(client.port)


async def test_body_slower_than_the_minimum_rate_is_cut(make_app):
    # A body that never pauses for body_timeout but arrives at 20 bytes a second, against a
    # minimum of 100: cut once body_timeout plus what its bytes bought has passed.
    async with TestClient(make_app("[server]\nbody_timeout = 0.5\nbody_min_rate = 100\n")
                          ) as client:
        async with await connect(client.port) as conn:
            await conn.send(b"POST /echo HTTP/1.1\r\n" + HOST + b"Content-Length: 1000\r\n\r\n")
            answered, response = await trickle_until_answered(conn, b"x" * 1000, every=0.05,
                                                              window=5)
            assert answered and response is not None and response.status == 408
            assert "slower than 100 bytes a second" in response.json()["detail"]
        await assert_still_serving(client.port)
