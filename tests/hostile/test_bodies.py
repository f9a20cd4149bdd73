"""Request bodies: size limits, JSON depth and encoding, multipart abuse.

A bad body is the client's fault: 400, 413 or 415, never a 500 and never a traceback.
Compressed bodies (finding 2) are in test_compressed_bodies.py.
"""

from __future__ import annotations

import pytest

from pyframe.testing import TestClient

from .support import assert_still_serving, connect

HOST = b"Host: hostile.test\r\n"


def post(path: str, body: bytes, content_type: str = "application/json",
         extra: bytes = b"") -> bytes:
    return (f"POST {path} HTTP/1.1\r\n".encode() + HOST
            + f"Content-Type: {content_type}\r\nContent-Length: {len(body)}\r\n".encode()
            + extra + b"\r\n" + body)


@pytest.fixture
async def port(make_app):
    async with TestClient(make_app("[server]\nmax_body_size = 1048576\n")) as client:
        yield client.port


async def answer(port: int, data: bytes):
    async with await connect(port) as conn:
        response, _ = await conn.send_until_answered([data])
    assert response is not None, "the server closed without answering"
    return response


async def test_declared_length_over_the_limit_is_413_without_reading(port):
    async with await connect(port) as conn:
        # Only the head is sent: the answer cannot wait for a body that never comes.
        await conn.send(b"POST /echo HTTP/1.1\r\n" + HOST + b"Content-Length: 1048577\r\n\r\n")
        response = await conn.response()
        assert response.status == 413
    await assert_still_serving(port)


async def test_chunked_body_over_the_limit_is_413(port):
    chunk = b"x" * 65536
    body = b"".join(b"%x\r\n" % len(chunk) + chunk + b"\r\n" for _ in range(17)) + b"0\r\n\r\n"
    data = b"POST /echo HTTP/1.1\r\n" + HOST + b"Transfer-Encoding: chunked\r\n\r\n" + body
    assert (await answer(port, data)).status == 413
    await assert_still_serving(port)


@pytest.mark.parametrize("body", [
    b'{"a": 1e99999}', b'{"a": 1' + b"0" * 5000 + b"}", b'{"a": "\\ud800"}', b'{"a": 1',
    b'{"a": 1}{"b": 2}', b"\xef\xbb\xbf{}", b"[" * 10 + b"]" * 9, b"NaN",
], ids=["float-overflow", "int-overflow", "lone-surrogate", "truncated", "two-documents",
        "bom", "unbalanced", "nan"])
async def test_malformed_json_is_400(port, body):
    response = await answer(port, post("/json", body))
    assert response.status in (200, 400)  # a lone surrogate may decode; never a 500
    if body != b'{"a": "\\ud800"}':
        assert response.status == 400
    await assert_still_serving(port)


async def test_deeply_nested_json_array_is_400(port):
    response = await answer(port, post("/json", b"[" * 1000 + b"]" * 1000))
    assert response.status == 400
    await assert_still_serving(port)


async def test_deeply_nested_json_object_is_400(port):
    response = await answer(port, post("/data", b'{"a":' * 1000 + b"1" + b"}" * 1000))
    assert response.status == 400
    await assert_still_serving(port)


async def test_json_with_invalid_utf8_is_400(port):
    response = await answer(port, post("/json", b'{"a": "\xff\xfe"}'))
    assert response.status == 400
    await assert_still_serving(port)


async def test_form_with_invalid_utf8_is_400(port):
    response = await answer(port, post("/form", b"a=\xff", "application/x-www-form-urlencoded"))
    assert response.status == 400
    await assert_still_serving(port)


async def test_form_with_too_many_fields_is_400(port):
    response = await answer(port, post("/form", b"a=1&" * 20_000,
                                       "application/x-www-form-urlencoded"))
    assert response.status == 400
    await assert_still_serving(port)


MULTIPART = "multipart/form-data; boundary=B"


def part(name: bytes, value: bytes, headers: bytes = b"") -> bytes:
    return (b"--B\r\nContent-Disposition: form-data; name=\"" + name + b"\"\r\n" + headers
            + b"\r\n" + value + b"\r\n")


MALFORMED_MULTIPART = {
    "no-boundary-parameter": (b"--B--\r\n", "multipart/form-data"),
    "unterminated": (b"--B\r\nContent-Disposition: form-data; name=a\r\n\r\nvalue", MULTIPART),
    "part-without-name": (b"--B\r\nContent-Disposition: form-data\r\n\r\nv\r\n--B--\r\n",
                          MULTIPART),
    "part-without-disposition": (b"--B\r\nX-Other: y\r\n\r\nv\r\n--B--\r\n", MULTIPART),
    "too-many-part-headers": (part(b"a", b"v", b"".join(b"X-%d: 1\r\n" % i for i in range(40)))
                              + b"--B--\r\n", MULTIPART),
    "huge-part-header": (part(b"a", b"v", b"X-Big: " + b"h" * 500_000 + b"\r\n") + b"--B--\r\n",
                         MULTIPART),
    "field-not-utf8": (part(b"a", b"\xff\xfe") + b"--B--\r\n", MULTIPART),
    "garbage": (b"\x00\xff" * 1000, MULTIPART),
    "bare-lf": (b"--B\nContent-Disposition: form-data; name=a\n\nv\n--B--\n", MULTIPART),
}


@pytest.mark.parametrize("body,content_type", MALFORMED_MULTIPART.values(),
                         ids=MALFORMED_MULTIPART.keys())
async def test_malformed_multipart_is_400(port, body, content_type):
    response = await answer(port, post("/form", body, content_type))
    assert response.status == 400
    await assert_still_serving(port)


async def test_multipart_round_trip_with_ascii_names(port):
    # The control case for the next one.
    response = await answer(port, post("/form", part(b"a", b"v") + part(b"b", b"w")
                                       + b"--B--\r\n", MULTIPART))
    assert (response.status, response.json()["keys"]) == (200, ["a", "b"])


@pytest.mark.parametrize("name", ["é", "日本"], ids=["latin1", "cjk"])
async def test_multipart_field_name_outside_ascii(port, name):
    response = await answer(port, post("/form", part(name.encode(), b"v") + b"--B--\r\n",
                                       MULTIPART))
    assert (response.status, response.json().get("keys")) == (200, [name])
    await assert_still_serving(port)


async def test_multipart_with_too_many_parts_is_refused(port):
    body = part(b"p", b"") * 20_000 + b"--B--\r\n"
    assert len(body) < 1048576  # within the body limit: the part count is the attack
    response = await answer(port, post("/form", body, MULTIPART))
    assert response.status in (400, 413)
    await assert_still_serving(port)


@pytest.mark.parametrize("body", [b"[" * 1000 + b"]" * 1000, b'["\xff\xfe"]'],
                         ids=["deep", "not-utf8"])
async def test_typed_json_that_does_not_decode_is_400(make_app, body):
    # context.json_as(type) decodes on its own path: the same bodies are a 400 there too.
    app = make_app()

    @app.post("/typed")
    async def typed(context):
        return {"items": len(context.json_as(list))}

    async with TestClient(app) as client:
        response = await answer(client.port, post("/typed", body))
        assert response.status == 400
        await assert_still_serving(client.port)
