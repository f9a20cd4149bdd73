"""HTTP framing and request smuggling: every ambiguous message is refused and its connection
closed, so no second request can hide in its body, and the server keeps serving others.
"""

from __future__ import annotations

import gzip

import pytest

from pyframe.testing import TestClient

from .support import assert_still_serving, connect

HOST = b"Host: hostile.test\r\n"
SMUGGLED = b"GET /smuggled HTTP/1.1\r\n" + HOST + b"\r\n"


def post(headers: bytes, body: bytes = b"", version: bytes = b"HTTP/1.1") -> bytes:
    return b"POST /echo " + version + b"\r\n" + HOST + headers + b"\r\n" + body


# Each of these must get a 400 and a closed connection: nothing after it is read as a request.
REFUSED = {
    "cl-and-te": post(b"Content-Length: 4\r\nTransfer-Encoding: chunked\r\n",
                      b"0\r\n\r\n" + SMUGGLED),
    "te-and-cl": post(b"Transfer-Encoding: chunked\r\nContent-Length: 40\r\n",
                      b"0\r\n\r\n" + SMUGGLED),
    "two-different-content-lengths": post(b"Content-Length: 4\r\nContent-Length: 40\r\n",
                                          b"abcd" + SMUGGLED),
    "two-equal-content-lengths": post(b"Content-Length: 4\r\nContent-Length: 4\r\n", b"abcd"),
    "content-length-list": post(b"Content-Length: 4, 4\r\n", b"abcd"),
    "content-length-plus-sign": post(b"Content-Length: +4\r\n", b"abcd"),
    "content-length-negative": post(b"Content-Length: -1\r\n", b"abcd"),
    "content-length-hex": post(b"Content-Length: 0x4\r\n", b"abcd"),
    "content-length-space-before-colon": post(b"Content-Length : 4\r\n", b"abcd"),
    "content-length-overflow": post(b"Content-Length: " + b"9" * 30 + b"\r\n", b"abcd"),
    "obs-fold": b"GET / HTTP/1.1\r\n" + HOST + b"X-Folded: one\r\n two\r\n\r\n",
    "obs-fold-into-transfer-encoding": post(b"Transfer-Encoding:\r\n chunked\r\n",
                                            b"0\r\n\r\n" + SMUGGLED),
    "te-xchunked": post(b"Transfer-Encoding: xchunked\r\n", b"0\r\n\r\n" + SMUGGLED),
    "te-chunked-not-last": post(b"Transfer-Encoding: chunked, identity\r\n", b"0\r\n\r\n"),
    "te-twice": post(b"Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n",
                     b"0\r\n\r\n"),
    "te-vertical-tab": post(b"Transfer-Encoding: \x0bchunked\r\n", b"0\r\n\r\n" + SMUGGLED),
    "chunk-size-not-hex": post(b"Transfer-Encoding: chunked\r\n", b"zz\r\nabc\r\n0\r\n\r\n"),
    "chunk-size-negative": post(b"Transfer-Encoding: chunked\r\n", b"-3\r\nabc\r\n0\r\n\r\n"),
    "chunk-size-0x-prefix": post(b"Transfer-Encoding: chunked\r\n", b"0x3\r\nabc\r\n0\r\n\r\n"),
    "chunk-size-overflow": post(b"Transfer-Encoding: chunked\r\n",
                                b"F" * 17 + b"1\r\nabc\r\n0\r\n\r\n"),
    "chunk-size-trailing-space": post(b"Transfer-Encoding: chunked\r\n",
                                      b"3 \r\nabc\r\n0\r\n\r\n"),
    "chunk-data-longer-than-size": post(b"Transfer-Encoding: chunked\r\n",
                                        b"3\r\nabcdef\r\n0\r\n\r\n"),
    "chunk-without-crlf": post(b"Transfer-Encoding: chunked\r\n", b"3\r\nabcX0\r\n\r\n"),
    "chunked-with-bare-lf": post(b"Transfer-Encoding: chunked\r\n", b"3\nabc\n0\n\n"),
    "head-with-bare-lf": b"GET / HTTP/1.1\n" + b"Host: hostile.test\n\n",
    "head-with-bare-cr": b"GET / HTTP/1.1\rHost: hostile.test\r\n\r\n",
    "bare-lf-between-headers": b"GET / HTTP/1.1\r\nHost: hostile.test\nX-A: 1\r\n\r\n",
    "nul-in-header-value": b"GET / HTTP/1.1\r\n" + HOST + b"X-A: a\x00b\r\n\r\n",
    "space-before-colon": b"GET / HTTP/1.1\r\n" + HOST + b"X-A : 1\r\n\r\n",
    "empty-header-name": b"GET / HTTP/1.1\r\n" + HOST + b": 1\r\n\r\n",
    "first-header-line-indented": b"GET / HTTP/1.1\r\n Host: hostile.test\r\n\r\n",
    "no-host": b"GET / HTTP/1.1\r\n\r\n",
    "two-hosts": b"GET / HTTP/1.1\r\n" + HOST + b"Host: evil.example\r\n\r\n",
    "method-with-separator": b"G(T / HTTP/1.1\r\n" + HOST + b"\r\n",
    "lower-case-method": b"get / HTTP/1.1\r\n" + HOST + b"\r\n",
    "tab-in-request-target": b"GET /\t HTTP/1.1\r\n" + HOST + b"\r\n",
    "http2-preface": b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n",
    "http-1.2": b"GET / HTTP/1.2\r\n" + HOST + b"\r\n",
}


@pytest.fixture
async def port(make_app):
    async with TestClient(make_app("[server]\nkeepalive_timeout = 2\n")) as client:
        yield client.port


@pytest.mark.parametrize("data", REFUSED.values(), ids=REFUSED.keys())
async def test_ambiguous_message_is_refused_and_closed(port, data):
    async with await connect(port) as conn:
        try:
            await conn.send(data)
        except ConnectionError:
            pass
        response = await conn.response()
        assert response is not None and response.status == 400
        # Whatever followed the bad message was not served as another request.
        assert await conn.rest() == b""
    await assert_still_serving(port)


async def test_body_of_a_get_is_not_a_second_request(port):
    # A GET with a Content-Length whose body looks like a request: the body is read as
    # a body, and the connection is still in step for the next real request.
    async with await connect(port) as conn:
        await conn.send(b"GET / HTTP/1.1\r\n" + HOST + b"Content-Length: %d\r\n\r\n"
                        % len(SMUGGLED) + SMUGGLED)
        response = await conn.response()
        assert (response.status, response.body) == (200, b"ok")
        await conn.send(b"GET / HTTP/1.1\r\n" + HOST + b"\r\n")
        response = await conn.response()
        assert (response.status, response.body) == (200, b"ok")
    await assert_still_serving(port)


@pytest.mark.parametrize("coding", [b"chunked", b"CHUNKED", b"\tchunked"],
                         ids=["lower", "upper", "tab"])
async def test_valid_chunked_spellings_are_read_exactly(port, coding):
    async with await connect(port) as conn:
        await conn.send(post(b"Transfer-Encoding: " + coding + b"\r\n",
                             b"3\r\nabc\r\n0\r\n\r\n"))
        response = await conn.response()
        assert (response.status, response.json()) == (200, {"size": 3})
        await conn.send(b"GET / HTTP/1.1\r\n" + HOST + b"\r\n")
        assert (await conn.response()).body == b"ok"
    await assert_still_serving(port)


async def test_chunked_body_in_http10_closes_the_connection(port):
    # RFC 9112 6.1: Transfer-Encoding in HTTP/1.0 is faulty framing; at the least the
    # connection must not be reused, so no request can follow it.
    async with await connect(port) as conn:
        await conn.send(post(b"Transfer-Encoding: chunked\r\n",
                             b"3\r\nabc\r\n0\r\n\r\n" + SMUGGLED, version=b"HTTP/1.0"))
        response = await conn.response()
        assert response is None or response.status in (200, 400)
        assert b"HTTP/1." not in await conn.rest()  # no answer to the smuggled request
    await assert_still_serving(port)


@pytest.mark.parametrize("target,status,body", [
    (b"http://evil.example/", 200, b"ok"),
    (b"http://evil.example/admin", 404, None),
], ids=["root", "unrouted"])
async def test_absolute_form_is_routed_by_its_path_only(port, target, status, body):
    async with await connect(port) as conn:
        await conn.send(b"GET " + target + b" HTTP/1.1\r\n" + HOST + b"\r\n")
        response = await conn.response()
        assert response.status == status
        if body is not None:
            assert response.body == body
    await assert_still_serving(port)


@pytest.mark.parametrize("request_line", [
    b"CONNECT evil.example:443 HTTP/1.1", b"OPTIONS * HTTP/1.1",
], ids=["authority-form", "asterisk-form"])
async def test_other_request_target_forms_are_not_served(port, request_line):
    async with await connect(port) as conn:
        await conn.send(request_line + b"\r\n" + HOST + b"\r\n")
        response = await conn.response()
        assert response is None or 400 <= response.status < 500  # never a tunnel, never 200
    await assert_still_serving(port)


async def test_request_after_an_h2c_upgrade_is_not_served(port):
    # pyframe does not speak HTTP/2: the Upgrade is ignored, and the bytes after the first
    # request are never served as a request of their own.
    async with await connect(port) as conn:
        await conn.send(b"GET / HTTP/1.1\r\n" + HOST + b"Upgrade: h2c\r\nConnection: Upgrade, "
                        b"HTTP2-Settings\r\nHTTP2-Settings: AAMAAABkAAQAAP__\r\n\r\n" + SMUGGLED)
        first = await conn.response()
        assert (first.status, first.body) == (200, b"ok")
        assert b"HTTP/1." not in await conn.rest(timeout=10)
    await assert_still_serving(port)


async def test_request_after_an_h2c_upgrade_in_a_later_read_is_not_served(port):
    # Not only the bytes that came with it: the answer to an upgrade that is not made closes
    # the connection, so whatever the client sends next is never a request.
    async with await connect(port) as conn:
        await conn.send(b"GET / HTTP/1.1\r\n" + HOST + b"Upgrade: h2c\r\nConnection: Upgrade, "
                        b"HTTP2-Settings\r\nHTTP2-Settings: AAMAAABkAAQAAP__\r\n\r\n")
        first = await conn.response()
        assert (first.status, first.body) == (200, b"ok")
        assert first.header("Connection") == "close"
        try:
            await conn.send(SMUGGLED)
        except ConnectionError:
            pass
        assert b"HTTP/1." not in await conn.rest(timeout=10)
    await assert_still_serving(port)


async def test_http_2_0_request_line_is_refused(port):
    async with await connect(port) as conn:
        await conn.send(b"GET / HTTP/2.0\r\n" + HOST + b"\r\n")
        response = await conn.response()
        assert response is not None and response.status in (400, 505)
    await assert_still_serving(port)


async def test_http_0_9_request_line_is_refused(port):
    async with await connect(port) as conn:
        await conn.send(b"GET /\r\n\r\n")
        response = await conn.response()
        assert response is not None and response.status in (400, 505)
    await assert_still_serving(port)


async def test_transfer_coding_other_than_chunked_is_refused(port):
    coded = gzip.compress(b"hello")
    async with await connect(port) as conn:
        await conn.send(post(b"Transfer-Encoding: gzip, chunked\r\n",
                             b"%x\r\n" % len(coded) + coded + b"\r\n0\r\n\r\n"))
        response = await conn.response()
        assert response is not None and response.status in (400, 501)
    await assert_still_serving(port)
