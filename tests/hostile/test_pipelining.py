"""Pipelining floods: many requests in one write are answered in order, a bad one ends the
connection there, and bodies never bleed into the next request.

The memory side of pipelining to a client that does not read is finding 1, in test_memory.py.
"""

from __future__ import annotations

import pytest

from pyframe.testing import TestClient

from .support import assert_still_serving, connect

HOST = b"Host: hostile.test\r\n"


@pytest.fixture
async def port(make_app):
    app = make_app()

    @app.get("/n/<int:n>")
    async def numbered(context):
        return str(context.params["n"])

    @app.get("/fail")
    async def fail(context):
        raise RuntimeError("this request fails, the next one does not")

    async with TestClient(app) as client:
        yield client.port


async def test_flood_is_answered_in_order(port):
    count = 2000
    async with await connect(port) as conn:
        await conn.send(b"".join(b"GET /n/%d HTTP/1.1\r\n" % i + HOST + b"\r\n"
                                 for i in range(count)))
        for i in range(count):
            response = await conn.response()
            assert (response.status, response.body) == (200, b"%d" % i)
    await assert_still_serving(port)


async def test_bad_request_after_a_good_one_ends_the_connection_there(port):
    async with await connect(port) as conn:
        await conn.send(b"GET /n/1 HTTP/1.1\r\n" + HOST + b"\r\n")
        first = await conn.response()
        assert (first.status, first.body) == (200, b"1")
        await conn.send(b"GET /n/2 HTTP/1.1\r\n" + HOST + b"Content-Length: x\r\n\r\n"
                        + b"GET /n/3 HTTP/1.1\r\n" + HOST + b"\r\n")
        second = await conn.response()
        assert second is not None and second.status == 400
        assert await conn.rest() == b""  # /n/3 is never served
    await assert_still_serving(port)


async def test_bad_request_in_a_pipeline_ends_the_connection_there(port):
    async with await connect(port) as conn:
        await conn.send(b"GET /n/1 HTTP/1.1\r\n" + HOST + b"\r\n"
                        + b"GET /n/2 HTTP/1.1\r\n" + HOST + b"Content-Length: x\r\n\r\n"
                        + b"GET /n/3 HTTP/1.1\r\n" + HOST + b"\r\n")
        first = await conn.response()
        assert (first.status, first.body) == (200, b"1")
        second = await conn.response()
        assert second is not None and second.status == 400
        assert await conn.rest() == b""  # /n/3 is never served
    await assert_still_serving(port)


async def test_bodies_in_a_pipeline_stay_in_their_requests(port):
    body = b"GET /n/666 HTTP/1.1\r\n" + HOST + b"\r\n"  # a body that looks like a request
    requests = []
    for i in range(50):
        requests.append(b"POST /echo HTTP/1.1\r\n" + HOST + b"Content-Length: %d\r\n\r\n"
                        % len(body) + body)
        requests.append(b"GET /n/%d HTTP/1.1\r\n" % i + HOST + b"\r\n")
    async with await connect(port) as conn:
        await conn.send(b"".join(requests))
        for i in range(50):
            echoed = await conn.response()
            assert (echoed.status, echoed.json()) == (200, {"size": len(body)})
            numbered = await conn.response()
            assert numbered.body == b"%d" % i
    await assert_still_serving(port)


async def test_failing_request_in_a_pipeline_costs_only_itself(port):
    async with await connect(port) as conn:
        await conn.send(b"".join(b"GET /%s HTTP/1.1\r\n" % path + HOST + b"\r\n"
                                 for path in (b"n/1", b"fail", b"n/2", b"fail", b"n/3")))
        statuses = [(await conn.response()).status for _ in range(5)]
        assert statuses == [200, 500, 200, 500, 200]
    await assert_still_serving(port)
