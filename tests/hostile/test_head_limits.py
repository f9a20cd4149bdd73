"""Request line and header limits: whole, and trickled one byte per TCP segment.

A limit that only holds when the head arrives in one read is no limit: each case is sent both
ways. The total size of a head is capped too (finding 3), counted as the bytes arrive.
"""

from __future__ import annotations

import pytest

from pyframe.testing import TestClient

from .support import assert_still_serving, connect

HOST = b"Host: hostile.test\r\n"
LIMITS = ("[server]\nmax_line_size = 256\nmax_field_size = 256\nmax_headers = 8\n"
          "body_timeout = 2\n")

CASES = {
    "long-request-line": (b"GET /" + b"a" * 400 + b" HTTP/1.1\r\n" + HOST + b"\r\n", 414),
    "long-header": (b"GET / HTTP/1.1\r\n" + HOST + b"X-Big: " + b"b" * 400 + b"\r\n\r\n", 431),
    "long-header-name": (b"GET / HTTP/1.1\r\n" + HOST + b"X-" + b"n" * 400 + b": 1\r\n\r\n",
                         431),
    "too-many-headers": (b"GET / HTTP/1.1\r\n" + HOST
                         + b"".join(b"X-%d: 1\r\n" % i for i in range(20)) + b"\r\n", 431),
    "long-trailer": (b"POST /echo HTTP/1.1\r\n" + HOST + b"Transfer-Encoding: chunked\r\n\r\n"
                     b"3\r\nabc\r\n0\r\nX-Trailer: " + b"t" * 400 + b"\r\n\r\n", 431),
}


@pytest.fixture
async def port(make_app):
    async with TestClient(make_app(LIMITS)) as client:
        yield client.port


@pytest.mark.parametrize("data,status", CASES.values(), ids=CASES.keys())
async def test_limit_in_one_write(port, data, status):
    async with await connect(port) as conn:
        response, _ = await conn.send_until_answered([data])
        assert response is not None and response.status == status
        assert await conn.rest() == b""
    await assert_still_serving(port)


@pytest.mark.parametrize("data,status", CASES.values(), ids=CASES.keys())
async def test_limit_one_byte_per_segment(port, data, status):
    async with await connect(port) as conn:
        response, sent = await conn.send_until_answered(data, step=1)
        assert response is not None and response.status == status
        assert await conn.rest() == b""
    await assert_still_serving(port)


async def test_head_within_limits_one_byte_per_segment_is_served(port):
    # The control case: trickling alone is not refused.
    data = b"GET / HTTP/1.1\r\n" + HOST + b"".join(b"X-%d: %s\r\n" % (i, b"v" * 200)
                                                   for i in range(6)) + b"\r\n"
    async with await connect(port) as conn:
        response, sent = await conn.send_until_answered(data, step=1)
        assert (response.status, response.body, sent) == (200, b"ok", len(data))
    await assert_still_serving(port)


async def test_whole_head_is_capped_as_it_arrives(make_app):
    # Default limits. The answer must come once the cap is passed, before the head ends,
    # not after a megabyte has been buffered.
    lines = [b"GET / HTTP/1.1\r\n" + HOST]
    lines += [b"X-Filler-%03d: %s\r\n" % (i, b"v" * 7980) for i in range(125)]
    lines.append(b"\r\n")
    total = sum(map(len, lines))
    async with TestClient(make_app("")) as client:
        async with await connect(client.port) as conn:
            response, sent = await conn.send_until_answered(lines)
            assert response is not None and response.status == 431
            assert sent < total
        await assert_still_serving(client.port)
