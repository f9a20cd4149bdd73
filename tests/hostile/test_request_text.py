"""Request text that is not UTF-8 (or not text): in the target, the query, a header, a cookie.

Such bytes are the client's business. Whatever a handler does with the decoded strings it is
given (return them as JSON, log them) must work: 200, or 400 for the request, never a 500.
"""

from __future__ import annotations

import pytest

from pyframe.testing import TestClient

from .support import assert_still_serving, exchange

HOST = b"Host: hostile.test\r\n"


@pytest.fixture
async def port(make_app):
    app = make_app()

    @app.get("/agent")
    async def agent(context):
        return {"agent": context.user_agent}

    @app.get("/cookie")
    async def cookie(context):
        return {"session": context.get_cookie("session")}

    @app.get("/query")
    async def query(context):
        return {"q": context.get_query_param("q")}

    @app.get("/name/<name>")
    async def name(context):
        return {"name": context.params["name"]}

    async with TestClient(app) as client:
        yield client.port


async def get(port: int, target: bytes, *headers: bytes):
    response = await exchange(port, b"GET " + target + b" HTTP/1.1\r\n" + HOST
                              + b"".join(h + b"\r\n" for h in headers) + b"\r\n")
    assert response is not None, "the server closed without answering"
    return response


@pytest.mark.parametrize("target", [b"/query?q=%ff%fe", b"/name/%ff", b"/name/%ed%a0%80",
                                    b"/query?q=%c0%af"],
                         ids=["query", "path-param", "encoded-surrogate", "overlong"])
async def test_percent_encoded_bytes_that_are_not_utf8(port, target):
    response = await get(port, target)
    assert response.status in (200, 400)
    await assert_still_serving(port)


async def test_raw_byte_over_0x7f_in_the_target_is_400(port):
    assert (await get(port, b"/name/\xff")).status == 400
    await assert_still_serving(port)


async def test_header_value_that_is_not_utf8(port):
    response = await get(port, b"/agent", b"User-Agent: Mozilla\xff\xfe")
    assert response.status in (200, 400)
    await assert_still_serving(port)


async def test_cookie_value_that_is_not_utf8(port):
    response = await get(port, b"/cookie", b"Cookie: session=\xff\xfe")
    assert response.status in (200, 400)
    await assert_still_serving(port)


async def test_utf8_header_value_is_decoded(port):
    response = await get(port, b"/agent", "User-Agent: café ☕".encode())
    assert (response.status, response.json()) == (200, {"agent": "café ☕"})
    await assert_still_serving(port)


async def test_header_bytes_that_are_not_utf8_read_as_latin1(port):
    # Each byte one character: a handler gets "Mozilla\xff\xfe" and .encode("latin-1") gives
    # the bytes back; nothing it is handed fails to encode.
    response = await get(port, b"/agent", b"User-Agent: Mozilla\xff\xfe")
    assert (response.status, response.json()) == (200, {"agent": "Mozilla\u00ff\u00fe"})
    response = await get(port, b"/cookie", b"Cookie: session=caf\xc3\xa9\xff")
    assert (response.status, response.json()) == (200, {"session": "caf\u00c3\u00a9\u00ff"})
    await assert_still_serving(port)


@pytest.mark.parametrize("header", [b"Cookie: session=first; session=second",
                                    b'Cookie: session="first"; other=1; session=second'],
                         ids=["bare", "quoted"])
async def test_cookie_name_sent_twice_takes_the_first_value(port, header):
    # RFC 6265 5.4 has browsers list the cookie with the longest path first: the first is
    # the most specific one. (Against a sibling subdomain tossing in its own cookie, neither
    # first nor last is a defence; a __Host- name is: docs/security.md.)
    response = await get(port, b"/cookie", header)
    assert (response.status, response.json()) == (200, {"session": "first"})
    await assert_still_serving(port)
