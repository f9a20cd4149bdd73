"""Error bodies never quote the request's bytes back, and carry ``nosniff`` (finding 8).

A quoted ``Content-Type``, method or origin turns an error page into a reflection an attacker
controls; ``X-Content-Type-Options: nosniff`` stops browsers from reading a JSON error as HTML.
"""

from __future__ import annotations

import pytest

from pyframe import HTTPError
from pyframe.testing import TestClient

from .support import assert_still_serving, connect

HOST = b"Host: hostile.test\r\n"
MARK = b"<script>alert(7)</script>"


def post(path: bytes, body: bytes, content_type: bytes) -> bytes:
    return (b"POST " + path + b" HTTP/1.1\r\n" + HOST + b"Content-Type: " + content_type
            + b"\r\nContent-Length: %d\r\n\r\n" % len(body) + body)


def preflight(origin: bytes = b"https://app.example", method: bytes = b"PUT",
              headers: bytes | None = None) -> bytes:
    extra = b"Access-Control-Request-Headers: " + headers + b"\r\n" if headers else b""
    return (b"OPTIONS /items HTTP/1.1\r\n" + HOST + b"Origin: " + origin
            + b"\r\nAccess-Control-Request-Method: " + method + b"\r\n" + extra + b"\r\n")


@pytest.fixture
async def port(make_app):
    app = make_app()
    app.plugins.enable("cors", allow_origins=["https://app.example"],
                       allow_methods=["GET", "PUT"], allow_headers=["x-token"])
    async with TestClient(app) as client:
        yield client.port


async def answer(port: int, data: bytes):
    async with await connect(port) as conn:
        response, _ = await conn.send_until_answered([data])
    assert response is not None, "the server closed without answering"
    return response


QUOTED_TODAY = {
    "json-415-content-type": (post(b"/json", b"{}", b"text/" + MARK), 415),
    "data-415-content-type": (post(b"/data", b"{}", b"text/" + MARK), 415),
    "form-415-content-type": (post(b"/form", b"a=1", b"text/" + MARK), 415),
    "form-field-name-not-utf8": (post(b"/form", b"--B\r\nContent-Disposition: form-data; name=\""
                                      + MARK + b"\"\r\n\r\n\xff\r\n--B--\r\n",
                                      b"multipart/form-data; boundary=B"), 400),
    "cors-preflight-method": (preflight(method=MARK), 400),
    "cors-preflight-origin": (preflight(origin=b"https://" + MARK), 400),
    "cors-preflight-header-names": (preflight(headers=MARK), 400),
}


@pytest.mark.parametrize("data,status", QUOTED_TODAY.values(), ids=QUOTED_TODAY.keys())
async def test_error_detail_does_not_quote_the_request(port, data, status):
    response = await answer(port, data)
    assert response.status == status
    assert MARK not in response.body and b"alert" not in response.body
    await assert_still_serving(port)


async def test_preflight_with_many_header_names_gets_a_short_answer(port):
    names = b",".join(b"h%03d" % i for i in range(1000))  # within max_field_size
    response = await answer(port, preflight(headers=names))
    assert response.status == 400
    assert len(response.body) < 512 and b"h001" not in response.body
    await assert_still_serving(port)


NOT_QUOTED = {
    "bad-request-line": (b"GET /" + MARK + b" x HTTP/1.1\r\n" + HOST + b"\r\n", 400),
    "unrouted-path": (b"GET /" + MARK.replace(b" ", b"") + b" HTTP/1.1\r\n" + HOST + b"\r\n",
                      404),
    "bad-header": (b"GET / HTTP/1.1\r\n" + HOST + b"X-Bad" + MARK + b": 1\r\n\r\n", 400),
    "long-header": (b"GET / HTTP/1.1\r\n" + HOST + b"X-Long: " + MARK * 400 + b"\r\n\r\n", 431),
    "malformed-json": (post(b"/json", b'{"a": "' + MARK, b"application/json"), 400),
    "malformed-multipart": (post(b"/form", MARK, b"multipart/form-data; boundary=B"), 400),
}


@pytest.mark.parametrize("data,status", NOT_QUOTED.values(), ids=NOT_QUOTED.keys())
async def test_fixed_reasons_do_not_quote_the_request(port, data, status):
    response = await answer(port, data)
    assert response.status == status
    assert b"script" not in response.body and b"alert" not in response.body
    await assert_still_serving(port)


def error_app(make_app, config: str = ""):
    app = make_app("[server]\nmax_body_size = 100\nheader_timeout = 0.3\n" + config)

    @app.get("/boom")
    async def boom(context):
        raise RuntimeError("a handler bug")

    @app.get("/gone")
    async def gone(context):
        raise HTTPError(410, "no longer here")

    return app


ERRORS = {
    "404-no-route": (b"GET /nowhere HTTP/1.1\r\n" + HOST + b"\r\n", 404),
    "405-method": (b"DELETE / HTTP/1.1\r\n" + HOST + b"\r\n", 405),
    "413-body": (post(b"/echo", b"x" * 200, b"text/plain"), 413),
    "415-media-type": (post(b"/json", b"{}", b"text/plain"), 415),
    "400-json": (post(b"/json", b"{", b"application/json"), 400),
    "400-parser": (b"G(T / HTTP/1.1\r\n" + HOST + b"\r\n", 400),
    "431-header": (b"GET / HTTP/1.1\r\n" + HOST + b"X-Big: " + b"b" * 9000 + b"\r\n\r\n", 431),
    "408-head-timeout": (b"GET / HTTP/1.1\r\n", 408),
    "410-raised": (b"GET /gone HTTP/1.1\r\n" + HOST + b"\r\n", 410),
    "500-exception": (b"GET /boom HTTP/1.1\r\n" + HOST + b"\r\n", 500),
}


@pytest.mark.parametrize("data,status", ERRORS.values(), ids=ERRORS.keys())
async def test_error_bodies_carry_nosniff(make_app, data, status):
    async with TestClient(error_app(make_app)) as client:
        response = await answer(client.port, data)
        assert response.status == status
        assert response.header("X-Content-Type-Options") == "nosniff"
        await assert_still_serving(client.port)


async def test_connection_refusal_carries_nosniff(make_app):
    async with TestClient(error_app(make_app, "max_connections = 1\n")) as client:
        async with await connect(client.port) as holder:
            await holder.send(b"GET / HTTP/1.1\r\n" + HOST + b"\r\n")
            assert (await holder.response()).status == 200
            response = await answer(client.port, b"GET / HTTP/1.1\r\n" + HOST + b"\r\n")
            assert response.status == 503
            assert response.header("X-Content-Type-Options") == "nosniff"
