"""CORS look-alike origins: an origin that merely resembles an allowed one gets no
``Access-Control-Allow-Origin``, on simple requests and on preflights, listed or by regex.
"""

from __future__ import annotations

import pytest

from pyframe.testing import TestClient

from .support import assert_still_serving, connect

HOST = b"Host: hostile.test\r\n"
ALLOWED = "https://app.example"
LOOK_ALIKES = [
    "https://app.example.evil", "https://evil-app.example", "https://app.example@evil.example",
    "http://app.example", "https://app.examplex", "https://app.example.", "https://app.exampl",
    "https://app.example/", "https://app.example:8443", "https://app%2eexample", "null",
    "https://xn--app-example", "https://app.example\\.evil", "https://app.example%00.evil",
]
REGEX = r"https://[a-z0-9-]+\.example\.com"
REGEX_LOOK_ALIKES = [
    "https://evil.example.com.attacker.net", "https://example.com", "https://a.example.comx",
    "https://a_b.example.com", "https://a.b.example.com", "http://a.example.com",
    "https://a.example.com/", "https://.example.com", "https://a.exampleXcom",
]


async def request(port: int, method: bytes, origin: str, *extra: bytes):
    async with await connect(port) as conn:
        await conn.send(method + b" /items HTTP/1.1\r\n" + HOST + b"Origin: "
                        + origin.encode("latin-1") + b"\r\n" + b"".join(e + b"\r\n" for e in extra)
                        + b"\r\n")
        return await conn.response()


async def simple(port: int, origin: str):
    return await request(port, b"GET", origin)


async def preflight(port: int, origin: str):
    return await request(port, b"OPTIONS", origin, b"Access-Control-Request-Method: PUT")


def app_with(make_app, **cors):
    app = make_app()
    app.get("/items")(lambda context: {"items": []})
    app.plugins.enable("cors", allow_methods=["GET", "PUT"], **cors)
    return app


@pytest.fixture
async def port(make_app):
    async with TestClient(app_with(make_app, allow_origins=[ALLOWED])) as client:
        yield client.port


@pytest.fixture
async def regex_port(make_app):
    async with TestClient(app_with(make_app, allow_origin_regex=REGEX,
                                   allow_credentials=True)) as client:
        yield client.port


async def test_the_allowed_origin_is_allowed(port):
    response = await simple(port, ALLOWED)
    assert response.header("Access-Control-Allow-Origin") == ALLOWED
    response = await preflight(port, ALLOWED)
    assert (response.status, response.header("Access-Control-Allow-Origin")) == (204, ALLOWED)
    await assert_still_serving(port)


@pytest.mark.parametrize("origin", LOOK_ALIKES)
async def test_look_alike_gets_no_cors_headers(port, origin):
    response = await simple(port, origin)
    assert response.status == 200  # answered, but the browser withholds it from the page
    assert not any(k.lower().startswith("access-control-") for k, _ in response.headers)
    assert "Origin" in (response.header("Vary") or "")
    response = await preflight(port, origin)
    assert response.status in (400, 403)
    assert not any(k.lower().startswith("access-control-") for k, _ in response.headers)
    await assert_still_serving(port)


async def test_regex_allows_what_it_says(regex_port):
    response = await simple(regex_port, "https://a-1.example.com")
    assert response.header("Access-Control-Allow-Origin") == "https://a-1.example.com"
    assert response.header("Access-Control-Allow-Credentials") == "true"
    await assert_still_serving(regex_port)


@pytest.mark.parametrize("origin", REGEX_LOOK_ALIKES)
async def test_regex_look_alike_gets_no_cors_headers(regex_port, origin):
    # The whole origin must match: a prefix or a substring match would let these through,
    # with credentials.
    response = await simple(regex_port, origin)
    assert response.header("Access-Control-Allow-Origin") is None
    assert response.header("Access-Control-Allow-Credentials") is None
    response = await preflight(regex_port, origin)
    assert response.status in (400, 403)
    assert response.header("Access-Control-Allow-Origin") is None
    await assert_still_serving(regex_port)


async def test_second_origin_header_is_not_a_second_chance(port):
    # Two Origin headers: the answer must not allow the request on the strength of either.
    response = await request(port, b"GET", "https://evil.example", b"Origin: " + ALLOWED.encode())
    assert response is None or response.header("Access-Control-Allow-Origin") is None
    await assert_still_serving(port)
