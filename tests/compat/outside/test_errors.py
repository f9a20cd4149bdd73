"""Error handlers: ``set_errorhandler(code, handler(request, message=None))`` for no route, an
exception, a ``(code, message)`` return, and the errors pyframe itself answers."""

from __future__ import annotations

import threading

import aiohttp

from pyframe.compat.outside import OutsideHTTP, Response

from .support import DEADLINE, exchange, running, split_response


async def get(url, method="GET", **kwargs):
    async with aiohttp.ClientSession() as session:
        async with session.request(method, url, **kwargs) as resp:
            return resp.status, await resp.text()


def boom(request):
    raise ValueError("broken handler")


async def test_an_exception_goes_to_the_500_handler_with_its_type():
    server = OutsideHTTP(("127.0.0.1", 0))
    server.set_route("/boom", boom)
    with running(server) as r:
        assert await get(r.base + "/boom") == (
            500, "500 Internal Server Error (Unexpected Exception: ValueError)")
        seen = []

        def my_500(request, message=None):
            seen.append((request.url, message))
            return Response(500, {"Content-Type": "text/html"}, "<h1>sorry</h1>")

        server.set_errorhandler(500, my_500)  # while serving
        assert await get(r.base + "/boom") == (500, "<h1>sorry</h1>")
    assert seen == [("/boom", "Unexpected Exception: ValueError")]


async def test_custom_and_removed_404_handlers():
    server = OutsideHTTP(("127.0.0.1", 0))
    server.set_errorhandler(404, lambda request, message=None: Response(
        404, {}, f"nothing at {request.url}"))
    with running(server) as r:
        assert await get(r.base + "/missing") == (404, "nothing at /missing")
        server.remove_errorhandler(404)
        # outside's process died here (a KeyError); the stock answer comes back instead.
        assert await get(r.base + "/missing") == (404, "404 Not Found (No further information.)")
    assert 404 not in server._error_routes


async def test_a_code_and_message_return_uses_that_error_handler():
    server = OutsideHTTP(("127.0.0.1", 0))
    server.set_route("/forbidden", lambda request: (403, "members only"))
    server.set_route("/teapot", lambda request: (418, None))
    with running(server) as r:
        assert await get(r.base + "/forbidden") == (403, "403 Forbidden (members only)")
        status, text = await get(r.base + "/teapot")
        assert status == 418 and text.endswith("(No further information.)")


async def test_bad_return_values_are_a_500():
    server = OutsideHTTP(("127.0.0.1", 0))
    server.set_route("/none", lambda request: None)
    server.set_route("/status", lambda request: Response(1000, {}, "x"))
    server.set_route("/content", lambda request: Response(200, {}, 12))
    with running(server) as r:
        for path in ("/none", "/status", "/content"):
            status, text = await get(r.base + path)
            assert status == 500, path
            assert text.startswith("500 Internal Server Error (Unexpected Exception: ")


async def test_a_failing_500_handler_still_gets_an_answer():
    server = OutsideHTTP(("127.0.0.1", 0))
    server.set_route("/boom", boom)

    def broken_500(request, message=None):
        raise RuntimeError("the error page broke too")

    server.set_errorhandler(500, broken_500)
    with running(server) as r:
        status, text = await get(r.base + "/boom")
    assert status == 500 and "Internal Server Error" in text


async def test_a_body_over_max_body_size_mb_goes_to_the_413_handler():
    server = OutsideHTTP(("127.0.0.1", 0))
    server.config["max_body_size_mb"] = 1 / 1024  # 1 KiB
    server.set_route("/upload", lambda request: Response(200, {}, str(len(request.content))))
    with running(server) as r:
        assert await get(r.base + "/upload", "POST", data=b"x" * 1024) == (200, "1024")
        status, text = await get(r.base + "/upload", "POST", data=b"x" * 1025)
    assert status == 413
    assert text == "413 Content Too Large (the body is 1025 bytes; the limit is 1024)"


async def test_a_handler_past_process_timeout_goes_to_the_503_handler():
    server = OutsideHTTP(("127.0.0.1", 0))
    server.config["process_timeout"] = 0.2
    release = threading.Event()
    server.set_route("/stuck", lambda request: release.wait(DEADLINE) and Response(200, {}, ""))
    with running(server) as r:
        try:
            status, text = await get(r.base + "/stuck")
        finally:
            release.set()
    assert status == 503
    assert text == "503 Service Unavailable (the handler took longer than 0.2 s)"


def test_a_method_pyframe_does_not_route_goes_to_the_405_handler():
    server = OutsideHTTP(("127.0.0.1", 0))
    server.set_route("/", lambda request: Response(200, {}, "ok"))
    with running(server) as r:
        raw = exchange(r.server.port, b"PROPFIND / HTTP/1.1\r\nHost: x\r\n"
                                      b"Connection: close\r\n\r\n")
    status, headers, body = split_response(raw)
    assert status == "HTTP/1.1 405 Method Not Allowed"
    assert body.startswith(b"405 Method Not Allowed (")
    assert ("Allow" in dict(headers))
