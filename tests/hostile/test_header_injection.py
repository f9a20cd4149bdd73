"""Response header injection: request data a handler copies into a header, a redirect or a
cookie never splits the response or adds a header of the attacker's choosing.

A value that cannot be written safely is the app's bug: 500, with no header injected.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from pyframe import FileResponse, RedirectResponse, Response, StreamingResponse
from pyframe.testing import TestClient

from .support import assert_still_serving, connect

HOST = b"Host: hostile.test\r\n"
BREAKS = {"crlf": "%0d%0aX-Injected:%201", "lf": "%0aX-Injected:%201",
          "cr": "%0dX-Injected:%201", "nul": "%00X-Injected"}


@pytest.fixture
async def port(make_app, tmp_path: Path):
    app = make_app()
    (tmp_path / "file.txt").write_bytes(b"file")

    def echo(context) -> str:
        return context.query_params.get("v", "")

    @app.get("/header")
    async def header(context):
        return {"status": 200, "headers": {"X-Echo": echo(context)}, "body": "h"}

    @app.get("/header-big")
    async def header_big(context):  # past the direct writer: aiohttp's own path
        return {"status": 200, "headers": {"X-Echo": echo(context)}, "body": "h" * 100_000}

    @app.get("/header-stream")
    async def header_stream(context):
        async def body():
            yield b"s"

        return StreamingResponse(body(), headers={"X-Echo": echo(context)})

    @app.get("/header-file")
    async def header_file(context):
        return FileResponse(tmp_path / "file.txt", headers={"X-Echo": echo(context)})

    @app.get("/header-name")
    async def header_name(context):
        return {"status": 200, "headers": {echo(context): "1"}, "body": "n"}

    @app.get("/redirect")
    async def redirect(context):
        return RedirectResponse("/next" + echo(context))

    @app.get("/content-type")
    async def content_type(context):
        return Response("c", content_type="text/plain" + echo(context))

    @app.get("/cookie")
    async def cookie(context):
        response = Response("c")
        response.set_cookie("s", echo(context))
        return response

    async with TestClient(app) as client:
        yield client.port


async def get(port: int, target: str):
    async with await connect(port) as conn:
        await conn.send(f"GET {target} HTTP/1.1\r\n".encode() + HOST + b"\r\n")
        return await conn.response()


def assert_not_injected(response) -> None:
    assert response is not None, "the connection was dropped instead of an answer"
    assert response.status == 500
    assert response.header("X-Injected") is None
    assert b"X-Injected" not in response.head


@pytest.mark.parametrize("path", ["/header", "/header-stream", "/redirect"])
@pytest.mark.parametrize("value", BREAKS.values(), ids=BREAKS.keys())
async def test_line_break_in_a_header_value_is_a_500(port, path, value):
    assert_not_injected(await get(port, f"{path}?v=a{value}"))
    await assert_still_serving(port)


@pytest.mark.parametrize("value", ["%0d%0aX-Injected:%201", "%0aX-Injected:%201"],
                         ids=["crlf", "lf"])
async def test_line_break_in_the_content_type_is_a_500(port, value):
    assert_not_injected(await get(port, f"/content-type?v={value}"))
    await assert_still_serving(port)


async def test_nul_in_the_content_type_is_a_500(port):
    response = await get(port, "/content-type?v=%00X-Injected")
    assert response is not None and response.status == 500
    assert b"\x00" not in response.head
    await assert_still_serving(port)


@pytest.mark.parametrize("path", ["/header-big", "/header-file"], ids=["big-body", "file"])
async def test_line_break_on_the_slow_path_is_a_500(port, path):
    assert_not_injected(await get(port, f"{path}?v=a%0d%0aX-Injected:%201"))
    await assert_still_serving(port)


async def test_line_break_in_a_header_name_is_a_500(port):
    assert_not_injected(await get(port, "/header-name?v=X-A%0d%0aX-Injected"))
    await assert_still_serving(port)


@pytest.mark.parametrize("name", ["X-A:%20injected", "X%20A"], ids=["colon", "space"])
async def test_header_name_that_is_not_a_token_is_a_500(port, name):
    response = await get(port, f"/header-name?v={name}")
    assert response is not None and response.status == 500
    assert all(key.lower() != "x-a" for key, _ in response.headers)
    await assert_still_serving(port)


@pytest.mark.parametrize("value", ["a%0d%0aX-Injected:%201", "a;%20Domain=evil.example",
                                   "a%22;%20Secure", "a%00b"],
                         ids=["crlf", "attribute", "quote", "nul"])
async def test_cookie_value_cannot_add_attributes_or_headers(port, value):
    response = await get(port, f"/cookie?v={value}")
    assert response is not None and response.header("X-Injected") is None
    if response.status == 200:
        cookies = response.all("Set-Cookie")
        assert len(cookies) == 1
        # Whatever the value held is inside the quotes; the only attribute is Path.
        quoted, _, attributes = cookies[0].rpartition('"')
        assert quoted.startswith('s="') and attributes == "; Path=/"
    else:
        assert response.status == 500
    await assert_still_serving(port)


async def test_header_value_outside_latin1_is_not_a_line_break(port):
    # U+2028 and U+0085 are line breaks to some decoders, never to HTTP/1.1.
    response = await get(port, "/header?v=a%e2%80%a8b%c2%85c")
    assert response is not None and response.status in (200, 500)
    assert response.header("X-Injected") is None and b"\r\nb" not in response.head
    await assert_still_serving(port)
