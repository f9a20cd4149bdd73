"""Routes: outside's prefix matching with the longest (so an exact) match winning, changes
while serving, every method, and handlers in a thread pool."""

from __future__ import annotations

import asyncio
import threading

import aiohttp
import pytest

from pyframe.compat.outside import OutsideHTTP, Response, WebSocket

from .support import DEADLINE, exchange, running, split_response, wait_until


def answer(text):
    def handler(request):
        return Response(200, {}, f"{text} {request.method} {request.url}")

    handler.__name__ = f"answer_{text}"
    return handler


async def fetch(session, url, method="GET"):
    async with session.request(method, url) as resp:
        return resp.status, await resp.text()


async def test_longest_prefix_wins_and_an_exact_match_beats_every_prefix():
    server = OutsideHTTP(("127.0.0.1", 0))
    server.set_route("/", answer("root"))
    server.set_route("/api", answer("api"))
    server.set_route("/api/users", answer("users"))
    with running(server) as r:
        async with aiohttp.ClientSession() as session:
            assert await fetch(session, r.base + "/api/users") == (200, "users GET /api/users")
            assert await fetch(session, r.base + "/api/users/7") == (200, "users GET /api/users/7")
            # A prefix, not a path segment: outside matched "/apiary" to "/api", and so do we.
            assert await fetch(session, r.base + "/apiary") == (200, "api GET /apiary")
            assert await fetch(session, r.base + "/api") == (200, "api GET /api")
            assert await fetch(session, r.base + "/other?q=1") == (200, "root GET /other")


def test_paths_pyframes_router_has_no_pattern_for_still_match_by_prefix():
    server = OutsideHTTP(("127.0.0.1", 0))
    server.set_route("/", answer("root"))
    with running(server) as r:
        for target in (b"//x", b"/a//b/", b"/%2F"):
            raw = exchange(r.server.port, b"POST " + target + b" HTTP/1.1\r\nHost: h\r\n"
                           b"Content-Length: 2\r\nConnection: close\r\n\r\nhi")
            status, _, body = split_response(raw)
            assert (status, body) == ("HTTP/1.1 200 OK", b"root POST " + target), target


async def test_no_route_goes_to_the_404_error_handler():
    server = OutsideHTTP(("127.0.0.1", 0))
    server.set_route("/hello", answer("hello"))
    with running(server) as r:
        async with aiohttp.ClientSession() as session:
            status, text = await fetch(session, r.base + "/")
            assert (status, text) == (404, "404 Not Found (No further information.)")


async def test_routes_set_and_removed_while_serving_take_effect():
    server = OutsideHTTP(("127.0.0.1", 0))
    server.set_route("/a", answer("short"))
    with running(server) as r:
        async with aiohttp.ClientSession() as session:
            assert await fetch(session, r.base + "/a/b") == (200, "short GET /a/b")
            server.set_route("/a/b", answer("long"))
            assert await fetch(session, r.base + "/a/b") == (200, "long GET /a/b")
            server.set_route("/a/b", answer("replaced"))
            assert await fetch(session, r.base + "/a/b") == (200, "replaced GET /a/b")
            server.remove_route("/a/b")
            assert await fetch(session, r.base + "/a/b") == (200, "short GET /a/b")
            server.remove_route("/a")
            assert (await fetch(session, r.base + "/a/b"))[0] == 404
    assert server._routes == {}


def test_route_table_is_the_documented_dict():
    server = OutsideHTTP(("127.0.0.1", 0))
    first, second = answer("1"), answer("2")
    server.set_route("/x", first)
    server.set_route("/y", second)
    assert server._routes == {"/x": first, "/y": second}
    with pytest.raises(KeyError):
        server.remove_route("/never-set")  # as outside: a route that is not there
    with pytest.raises(TypeError, match="a route handler is a function"):
        server.set_route("/z", "not callable")


def test_a_websocket_route_is_in_the_route_table():
    # Served by the ws plugin (test_websocket.py); kept in the same table as outside did.
    server = OutsideHTTP(("127.0.0.1", 0))
    ws = WebSocket()
    server.set_route("/ws", ws)
    assert server._routes == {"/ws": ws}
    server.remove_route("/ws")
    assert server._routes == {}


@pytest.mark.parametrize("method", ["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"])
async def test_every_method_reaches_the_handler(method):
    server = OutsideHTTP(("127.0.0.1", 0))
    server.set_route("/m", answer("m"))
    with running(server) as r:
        async with aiohttp.ClientSession() as session:
            assert await fetch(session, r.base + "/m", method) == (200, f"m {method} /m")


async def test_a_slow_handler_does_not_hold_up_other_clients():
    server = OutsideHTTP(("127.0.0.1", 0))
    release, entered = threading.Event(), threading.Event()

    def slow(request):
        entered.set()
        release.wait(DEADLINE)
        return Response(200, {}, "slow done")

    server.set_route("/slow", slow)
    server.set_route("/fast", answer("fast"))
    with running(server) as r:
        async with aiohttp.ClientSession() as session:
            slow_call = asyncio.ensure_future(fetch(session, r.base + "/slow"))
            try:
                await asyncio.to_thread(entered.wait, DEADLINE)
                assert entered.is_set()
                # The slow handler still holds its thread; another client is answered.
                assert await fetch(session, r.base + "/fast") == (200, "fast GET /fast")
                assert not slow_call.done()
                # While it runs, the slow request is in _active_requests.
                active = wait_until(lambda: [q for q in server._active_requests
                                             if q.url == "/slow"], "the slow request listed")
                assert active[0].method == "GET"
            finally:
                release.set()
            assert await slow_call == (200, "slow done")
    wait_until(lambda: server._active_requests == [], "the active list emptied")
