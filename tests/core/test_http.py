"""The request path over real HTTP: routing, sync handlers, responses, cookies, errors."""

import asyncio
import threading

import msgspec
import pytest

from pyframe import (FileResponse, HTMLResponse, HTTPError, JSONResponse, PyFrameApp,
                     RedirectResponse, Response, ResponseCookie, StreamingResponse, get_description)
from pyframe.testing import TestClient


@pytest.fixture
def app():
    return PyFrameApp()


async def test_params_are_converted(app):
    @app.route("/users/<int:id>/<name>")
    async def user(context):
        return {"id": context.params["id"], "name": context.params["name"]}

    async with TestClient(app) as client, client.get("/users/7/ada") as resp:
        assert resp.status == 200
        assert await resp.json() == {"id": 7, "name": "ada"}


async def test_404_405_and_head(app):
    @app.get("/only-get")
    async def only_get(context):
        return "body"

    async with TestClient(app) as client:
        async with client.get("/missing") as resp:
            assert resp.status == 404
            assert await resp.json() == {"error": "Not Found"}
        async with client.post("/only-get") as resp:
            assert resp.status == 405
            assert resp.headers["Allow"] == "GET, HEAD"
        async with client.head("/only-get") as resp:
            assert resp.status == 200
            assert resp.headers["Content-Length"] == "4"
            assert await resp.read() == b""


async def test_shorthands_register_their_method(app):
    for verb in ("get", "post", "put", "patch", "delete", "options"):
        getattr(app, verb)(f"/{verb}")(lambda context, verb=verb: verb)
    async with TestClient(app) as client:
        for verb in ("get", "post", "put", "patch", "delete", "options"):
            async with client.request(verb.upper(), f"/{verb}") as resp:
                assert (resp.status, await resp.text()) == (200, verb)


async def test_sync_handlers_run_off_the_loop(app):
    loop_thread = threading.get_ident()

    @app.get("/sync")
    def sync(context):
        return {"same_thread": threading.get_ident() == loop_thread}

    async with TestClient(app) as client, client.get("/sync") as resp:
        assert await resp.json() == {"same_thread": False}


class Item(msgspec.Struct):
    name: str
    price: float


@pytest.mark.parametrize("result,status,content_type,body", [
    ({"status": 201, "headers": {"X-A": "1"}, "body": "made"}, 201, "text/plain; charset=utf-8", b"made"),
    ({"status": 302, "headers": {"Location": "/new-path"}}, 302, None, b""),
    ({"body": {"a": 1}}, 200, "application/json", b'{"a":1}'),
    ({"status": "ok"}, 200, "application/json", b'{"status":"ok"}'),
    ({"message": "hi"}, 200, "application/json", b'{"message":"hi"}'),
    ([1, 2], 200, "application/json", b"[1,2]"),
    (Item("pen", 1.5), 200, "application/json", b'{"name":"pen","price":1.5}'),
    ("text", 200, "text/plain; charset=utf-8", b"text"),
    (b"\x00\x01", 200, "application/octet-stream", b"\x00\x01"),
    (JSONResponse({"status": 1}, status=202), 202, "application/json", b'{"status":1}'),
    (HTMLResponse("<h1>x</h1>"), 200, "text/html; charset=utf-8", b"<h1>x</h1>"),
])
async def test_return_values(app, result, status, content_type, body):
    app.get("/r")(lambda context: result)
    async with TestClient(app) as client, client.get("/r", allow_redirects=False) as resp:
        assert resp.status == status
        assert resp.headers.get("Content-Type") == content_type
        assert await resp.read() == body


async def test_redirect_response(app):
    app.get("/redirect")(lambda context: RedirectResponse("/destination", status=302))
    async with TestClient(app) as client, client.get("/redirect", allow_redirects=False) as resp:
        assert resp.status == 302 and resp.headers["Location"] == "/destination"
    with pytest.raises(ValueError):
        RedirectResponse("/x", status=200)


async def test_unsendable_return_is_a_500_without_internals(app):
    app.get("/none")(lambda context: None)
    app.get("/int")(lambda context: 5)
    app.get("/bad-status")(lambda context: {"status": 9999, "body": "x"})
    async with TestClient(app) as client:
        for path in ("/none", "/int", "/bad-status"):
            async with client.get(path) as resp:
                assert resp.status == 500
                assert await resp.json() == {"error": "Internal Server Error"}


async def test_cookies_carry_every_attribute(app):
    @app.get("/c")
    async def cookies(context):
        response = Response("ok", cookies={"plain": "v"})
        response.cookies["full"] = ResponseCookie(
            "x", max_age=60, domain="example.test", http_only=True, secure=True, path="/app",
            same_site="None")
        response.set_cookie("lax", "y", same_site="lax", expires="Wed, 21 Oct 2037 07:28:00 GMT")
        return response

    async with TestClient(app) as client, client.get("/c") as resp:
        cookies = {c.split("=", 1)[0]: c for c in resp.headers.getall("Set-Cookie")}
    full = cookies["full"].lower()
    for part in ("max-age=60", "domain=example.test", "httponly", "secure", "path=/app",
                 "samesite=none"):
        assert part in full
    assert "samesite=lax" in cookies["lax"].lower() and "expires=wed, 21 oct 2037" in cookies["lax"].lower()
    assert cookies["plain"].startswith("plain=v")


def test_cookie_attribute_errors():
    with pytest.raises(ValueError, match="same_site"):
        ResponseCookie("v", same_site="sometimes")
    with pytest.raises(ValueError, match="secure"):
        ResponseCookie("v", same_site="None")


async def test_response_dict_cookies(app):
    app.get("/c")(lambda context: {"status": 200, "body": "x",
                                   "cookies": {"sid": {"value": "abc", "http_only": True}}})
    async with TestClient(app) as client, client.get("/c") as resp:
        assert "HttpOnly" in resp.headers["Set-Cookie"] and "sid=abc" in resp.headers["Set-Cookie"]


async def test_streaming_response(app):
    @app.get("/stream")
    async def stream(context):
        async def gen():
            yield "a"
            yield b"b"
            yield {"c": 1}
        return StreamingResponse(gen(), content_type="application/x-ndjson")

    @app.get("/bare")
    async def bare(context):
        async def gen():
            yield b"x"
        return gen()

    async with TestClient(app) as client:
        async with client.get("/stream") as resp:
            assert resp.headers["Transfer-Encoding"] == "chunked"
            assert await resp.read() == b'ab{"c":1}\n'
        async with client.get("/bare") as resp:
            assert await resp.read() == b"x"


async def test_file_response(app, tmp_path):
    path = tmp_path / "report.pdf"
    path.write_bytes(b"0123456789" * 100)
    app.get("/file")(lambda context: FileResponse(str(path), filename="download.pdf"))
    async with TestClient(app) as client:
        async with client.get("/file") as resp:
            assert resp.status == 200
            assert resp.headers["Content-Type"] == "application/pdf"
            assert resp.headers["Content-Disposition"] == 'attachment; filename="download.pdf"'
            assert await resp.read() == path.read_bytes()
            etag, modified = resp.headers["ETag"], resp.headers["Last-Modified"]
        async with client.get("/file", headers={"If-None-Match": etag}) as resp:
            assert resp.status == 304
        async with client.get("/file", headers={"If-Modified-Since": modified}) as resp:
            assert resp.status == 304
        async with client.get("/file", headers={"Range": "bytes=10-19"}) as resp:
            assert resp.status == 206 and await resp.read() == b"0123456789"
            assert resp.headers["Content-Range"] == "bytes 10-19/1000"
        async with client.get("/file", headers={"Range": "bytes=5000-"}) as resp:
            assert resp.status == 416


def test_non_ascii_download_name():
    response = FileResponse("/tmp/x", filename="résumé.pdf")
    assert response.headers["Content-Disposition"] == (
        "attachment; filename=\"r?sum?.pdf\"; filename*=UTF-8''r%C3%A9sum%C3%A9.pdf")


def test_get_description():
    assert get_description(404) == "Not Found"
    assert get_description(200) == "OK"
    assert get_description(599) == "Server Error"


async def test_http_errors_and_error_handlers(app):
    @app.get("/teapot")
    async def teapot(context):
        raise HTTPError(418, "short and stout", headers={"X-Pot": "1"})

    @app.get("/boom")
    async def boom(context):
        raise RuntimeError("secret internals")

    async with TestClient(app) as client:
        async with client.get("/teapot") as resp:
            assert resp.status == 418 and resp.headers["X-Pot"] == "1"
            assert await resp.json() == {"error": "I'm a Teapot", "detail": "short and stout"}
        async with client.get("/boom") as resp:
            assert resp.status == 500
            assert "secret" not in await resp.text()
        app.set_errorhandler(404, lambda context, error: {"status": 404, "body": "custom 404"})

        async def on_500(context, error):
            return {"status": 500, "body": f"sorry: {type(error.__cause__).__name__}"}

        app.set_errorhandler(500, on_500)
        async with client.get("/nowhere") as resp:
            assert (resp.status, await resp.text()) == (404, "custom 404")
        async with client.get("/boom") as resp:
            assert (resp.status, await resp.text()) == (500, "sorry: RuntimeError")
        app.remove_errorhandler(404)
        async with client.get("/nowhere") as resp:
            assert await resp.json() == {"error": "Not Found"}


async def test_debug_mode_shows_the_traceback():
    app = PyFrameApp(debug=True)

    @app.get("/boom")
    async def boom(context):
        raise RuntimeError("visible in debug")

    async with TestClient(app) as client:
        async with client.get("/boom") as resp:
            data = await resp.json()
            assert resp.status == 500 and data["message"] == "visible in debug"
            assert any("RuntimeError" in line for line in data["traceback"])
        async with client.get("/boom", headers={"Accept": "text/html"}) as resp:
            assert "<pre>" in await resp.text() and "visible in debug" in await resp.text()


async def test_handler_timeout_is_a_503(tmp_path):
    config = tmp_path / "pyframe.toml"
    config.write_text("[server]\nhandler_timeout = 0.05\n")
    app = PyFrameApp(config=str(config))
    never = asyncio.Event()

    @app.get("/slow")
    async def slow(context):
        await never.wait()

    release = threading.Event()

    @app.get("/slow-sync")
    def slow_sync(context):
        release.wait(10)  # a blocking handler; the client gets its 503 while the thread runs on
        return "late"

    async with TestClient(app) as client:
        async with client.get("/slow") as resp:
            assert resp.status == 503
            assert "longer than 0.05 s" in (await resp.json())["detail"]
        async with client.get("/slow-sync") as resp:
            assert resp.status == 503
        release.set()
        assert app.dispatcher._deadlines.running == {}


def test_add_vary_merges_without_repeating():
    from multidict import CIMultiDict

    from pyframe.responses import add_vary

    headers = CIMultiDict()
    add_vary(headers, "Origin")
    assert headers["Vary"] == "Origin"
    add_vary(headers, "origin", "Accept-Encoding")
    assert headers.getall("Vary") == ["Origin, Accept-Encoding"]
    star = CIMultiDict({"Vary": "*"})
    add_vary(star, "Origin")
    assert star.getall("Vary") == ["*"]


def test_compressed_files_are_typed_as_archives():
    assert FileResponse("/tmp/data.json.gz").content_type == "application/gzip"
    assert FileResponse("/tmp/page.html.br").content_type == "application/x-brotli"
    assert FileResponse("/tmp/page.html").content_type == "text/html"


async def test_requests_leave_no_cyclic_garbage():
    import gc

    from pyframe.request.context import RequestContext

    app = PyFrameApp()
    app.get("/plain")(lambda context: "ok")
    app.post("/json")(lambda context: {"got": context.json})
    assert app.access_log  # the default, and the case that used to keep a cycle
    async with TestClient(app) as client:
        gc.collect()
        gc.disable()
        try:
            for _ in range(10):
                async with client.get("/plain") as resp:
                    await resp.read()
                async with client.post("/json", json={"a": 1}) as resp:
                    await resp.read()
            # Only what is unreachable counts: the last request's context may still be in
            # use by the server's task when the client has read its answer.
            gc.set_debug(gc.DEBUG_SAVEALL)
            gc.collect()
            cyclic = [o for o in gc.garbage if type(o) is RequestContext]
        finally:
            gc.set_debug(0)
            gc.garbage.clear()
            gc.enable()
    assert cyclic == []


async def test_handler_timeout_zero_turns_it_off(tmp_path):
    config = tmp_path / "pyframe.toml"
    config.write_text("[server]\nhandler_timeout = 0\n")
    app = PyFrameApp(config=str(config))
    app.get("/")(lambda context: "ok")
    async with TestClient(app) as client, client.get("/") as resp:
        assert resp.status == 200
    assert app.dispatcher._deadlines is None
