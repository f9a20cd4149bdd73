"""``set_route(route, WebSocket())`` served by the ws plugin on the same server as the HTTP
routes, with a real client (the ``websockets`` library): the page's echo handler, text and
binary, ``exit()``, ``on_exit``, routes set while serving, prefix precedence between HTTP and
WebSocket routes, a slow handler beside other clients, errors, deadlines and the drain."""

from __future__ import annotations

import asyncio
import importlib.metadata
import signal
import threading

import aiohttp
import pytest

from pyframe import PluginError
from pyframe.compat.outside import OutsideHTTP, Response, WebSocket, WebSocketClosed
from pyframe.compat.outside import sockets
from pyframe.logging import flush_logs
from pyframe.plugin import install_hint

from .support import DEADLINE, pyframe_run, running

pytest.importorskip("websockets")
pytest.importorskip("pyframe_ws")
from websockets.asyncio.client import connect  # noqa: E402
from websockets.exceptions import InvalidStatus  # noqa: E402


def client(base: str, path: str):
    return connect(base.replace("http://", "ws://") + path, proxy=None,
                   open_timeout=DEADLINE, close_timeout=DEADLINE)


async def recv(ws):
    return await asyncio.wait_for(ws.recv(), DEADLINE)


async def http_answer_to_upgrade(base: str, path: str) -> tuple[int, bytes]:
    """What the server answers a WebSocket handshake it serves as HTTP."""
    with pytest.raises(InvalidStatus) as info:
        async with client(base, path):
            pass
    return info.value.response.status_code, info.value.response.body


async def wait_closed(ws) -> int:
    await asyncio.wait_for(ws.wait_closed(), DEADLINE)
    return ws.close_code


def answer(text):
    return lambda request: Response(200, {}, f"{text} {request.url}")


def websocket_handler(connection):  # the page's example, as printed
    while True:
        message = connection.recv()
        connection.send(message)  # Echo back the message


class Exits:
    """An ``on_exit`` handler that counts its calls (from worker threads)."""

    def __init__(self) -> None:
        self.calls = 0
        self.called = threading.Event()

    def __call__(self) -> None:
        self.calls += 1
        self.called.set()

    async def wait(self) -> None:
        assert await asyncio.to_thread(self.called.wait, DEADLINE), "on_exit was not called"


def echo_socket(exits: Exits | None = None) -> WebSocket:
    websocket_server = WebSocket()
    websocket_server.on_connection(websocket_handler)
    if exits is not None:
        websocket_server.on_exit(exits)
    return websocket_server


async def test_the_pages_echo_handler_on_the_http_servers_port():
    server = OutsideHTTP(("127.0.0.1", 0))
    exits = Exits()
    server.set_route("/hello", answer("hello"))
    server.set_route("/ws", echo_socket(exits))
    with running(server) as r:
        async with client(r.base, "/ws") as ws:
            await ws.send("text in")
            assert await recv(ws) == b"text in"  # recv() gave bytes; send(bytes) is binary
            await ws.send(b"\x00\xffbinary")
            assert await recv(ws) == b"\x00\xffbinary"
        await exits.wait()
        async with aiohttp.ClientSession() as session:  # HTTP on the same port meanwhile
            async with session.get(r.base + "/hello") as resp:
                assert (resp.status, await resp.text()) == (200, "hello /hello")
    assert exits.calls == 1


async def test_send_str_is_text_send_bytes_is_binary_and_exit_closes_normally():
    after_exit: list[BaseException] = []

    def greet(connection):
        connection.send("hello")
        connection.send(b"\x01bytes")
        connection.exit()
        connection.exit()  # once only
        try:
            connection.recv()
        except WebSocketClosed as exc:
            after_exit.append(exc)

    exits = Exits()
    ws_route = WebSocket()
    ws_route.on_connection(greet)
    ws_route.on_exit(exits)
    server = OutsideHTTP(("127.0.0.1", 0))
    server.set_route("/greet", ws_route)
    with running(server) as r:
        async with client(r.base, "/greet") as ws:
            assert await recv(ws) == "hello"
            assert await recv(ws) == b"\x01bytes"
            assert await wait_closed(ws) == 1000
        await exits.wait()
    assert exits.calls == 1 and len(after_exit) == 1


async def test_on_exit_runs_when_the_client_leaves_even_while_the_handler_is_busy():
    busy, release, send_raised = threading.Event(), threading.Event(), threading.Event()

    def pusher(connection):
        connection.send("ready")
        busy.set()
        release.wait(DEADLINE)  # not touching the connection while the client leaves
        try:
            connection.send("too late")
        except WebSocketClosed:
            send_raised.set()

    exits = Exits()
    ws_route = WebSocket()
    ws_route.on_connection(pusher)
    ws_route.on_exit(exits)
    server = OutsideHTTP(("127.0.0.1", 0))
    server.set_route("/push", ws_route)
    with running(server) as r:
        async with client(r.base, "/push") as ws:
            assert await recv(ws) == "ready"
        await exits.wait()  # the handler is still blocked: on_exit did not wait for it
        assert busy.is_set() and not release.is_set()
        release.set()
        assert await asyncio.to_thread(send_raised.wait, DEADLINE)
    assert exits.calls == 1


async def test_prefix_precedence_between_http_and_websocket_routes():
    server = OutsideHTTP(("127.0.0.1", 0))
    server.set_route("/", answer("root"))
    server.set_route("/ws", echo_socket())
    server.set_route("/ws/http", answer("inner"))
    with running(server) as r:
        for path in ("/ws", "/ws/room", "/wsx"):  # a prefix, not a segment, as in outside
            async with client(r.base, path) as ws:
                await ws.send(path)
                assert await recv(ws) == path.encode()
        # A longer HTTP route wins over the WebSocket prefix: the handshake is answered as
        # HTTP, before any upgrade; so is a path only an HTTP prefix takes.
        assert await http_answer_to_upgrade(r.base, "/ws/http/x") == (200, b"inner /ws/http/x")
        assert await http_answer_to_upgrade(r.base, "/other") == (200, b"root /other")
        async with aiohttp.ClientSession() as session:
            # A request that is no handshake, to a WebSocket route: 426 via the 426 handler.
            async with session.get(r.base + "/ws/room") as resp:
                assert resp.status == 426
                assert resp.headers["Upgrade"] == "websocket"
                assert await resp.text() == ("426 Upgrade Required (this route takes "
                                             "WebSocket connections only)")


async def test_websocket_routes_set_and_removed_while_serving():
    server = OutsideHTTP(("127.0.0.1", 0))
    server.set_route("/", answer("root"))
    server.app.plugins.enable("ws")  # no WebSocket route yet when it starts
    with running(server) as r:
        assert await http_answer_to_upgrade(r.base, "/live") == (200, b"root /live")
        server.set_route("/live", echo_socket())
        async with client(r.base, "/live") as ws:
            await ws.send("now")
            assert await recv(ws) == b"now"
        server.remove_route("/live")
        assert await http_answer_to_upgrade(r.base, "/live") == (200, b"root /live")
        server.set_route("/live", echo_socket())
        async with client(r.base, "/live/2") as ws:
            await ws.send("again")
            assert await recv(ws) == b"again"


async def test_a_first_websocket_route_while_serving_needs_the_plugin_at_start():
    server = OutsideHTTP(("127.0.0.1", 0))
    server.set_route("/", answer("root"))
    with running(server) as r:
        with pytest.raises(PluginError, match="before the app starts"):
            server.set_route("/live", echo_socket())
        assert "/live" not in server._routes
        assert await http_answer_to_upgrade(r.base, "/live") == (200, b"root /live")
    # Set before run(), it starts the plugin.
    server.set_route("/live", echo_socket())
    with running(server) as r:
        async with client(r.base, "/live") as ws:
            await ws.send("ok")
            assert await recv(ws) == b"ok"


async def test_a_slow_handler_does_not_hold_up_other_clients():
    entered, release = threading.Event(), threading.Event()

    def handler(connection):
        message = connection.recv()
        if message == b"slow":
            entered.set()
            release.wait(DEADLINE)
        connection.send(message)
        connection.recv()  # until the client leaves

    ws_route = WebSocket()
    ws_route.on_connection(handler)
    server = OutsideHTTP(("127.0.0.1", 0))
    server.set_route("/ws", ws_route)
    server.set_route("/http", answer("http"))
    with running(server) as r:
        async with client(r.base, "/ws") as slow:
            await slow.send("slow")
            assert await asyncio.to_thread(entered.wait, DEADLINE)
            try:
                async with client(r.base, "/ws") as fast:  # another client, answered now
                    await fast.send("fast")
                    assert await recv(fast) == b"fast"
                async with aiohttp.ClientSession() as session:
                    async with session.get(r.base + "/http") as resp:
                        assert await resp.text() == "http /http"
                assert not release.is_set()
            finally:
                release.set()
            assert await recv(slow) == b"slow"


async def test_a_failing_handler_closes_with_1011_and_still_calls_on_exit(capfd):
    def broken(connection):
        connection.recv()
        raise ValueError("handler bug")

    exits = Exits()
    ws_route = WebSocket()
    ws_route.on_connection(broken)
    ws_route.on_exit(exits)
    without_handler = WebSocket()  # on_connection never called
    server = OutsideHTTP(("127.0.0.1", 0))
    server.set_route("/broken", ws_route)
    server.set_route("/nothing", without_handler)
    with running(server) as r:
        async with client(r.base, "/broken") as ws:
            await ws.send("x")
            assert await wait_closed(ws) == 1011
        await exits.wait()
        async with client(r.base, "/nothing") as ws:
            assert await wait_closed(ws) == 1011
    flush_logs()  # run() logs through pyframe's own set-up, to stderr
    logged = capfd.readouterr().err
    assert "outside_websocket_handler_failed" in logged and "ValueError: handler bug" in logged
    assert "outside_websocket_without_handler" in logged
    assert exits.calls == 1


async def test_process_timeout_bounds_a_recv():
    exits = Exits()
    server = OutsideHTTP(("127.0.0.1", 0))
    server.config["process_timeout"] = 0.5
    server.set_route("/ws", echo_socket(exits))
    with running(server) as r:
        async with client(r.base, "/ws") as ws:
            # The client says nothing: recv() gives up after process_timeout, and the
            # connection ends as after exit().
            assert await wait_closed(ws) == 1000
        await exits.wait()


async def test_a_websocket_route_set_while_the_server_starts_is_served():
    # set_route between run()'s preparation and the first request: added once it listens.
    server = OutsideHTTP(("127.0.0.1", 0))
    server.app.plugins.enable("ws")
    server._sockets.prepare = lambda: None  # as if set_route came just after it
    server.set_route("/ws", echo_socket())
    assert not server._sockets.added
    with running(server) as r:
        assert server._sockets.added
        async with client(r.base, "/ws") as ws:
            await ws.send("late")
            assert await recv(ws) == b"late"


async def test_terminate_closes_open_connections_with_1001_and_run_returns():
    exits = Exits()
    server = OutsideHTTP(("127.0.0.1", 0))
    server.set_route("/ws", echo_socket(exits))
    with running(server) as r:
        async with client(r.base, "/ws") as ws:
            await ws.send("before")
            assert await recv(ws) == b"before"
            await asyncio.to_thread(server.terminate)
            assert await wait_closed(ws) == 1001  # the ws plugin's drain
        await exits.wait()
        await asyncio.to_thread(r.thread.join, DEADLINE)
        assert not r.thread.is_alive()  # run() returned: the handler's thread let it
    assert exits.calls == 1


GUARDED_APP = """
    from pyframe.compat.outside import OutsideHTTP, WebSocket

    def websocket_handler(connection):
        while True:
            connection.send(connection.recv())

    websocket_server = WebSocket()
    websocket_server.on_connection(websocket_handler)
    server = OutsideHTTP(("127.0.0.1", 0))
    server.set_route("/ws", websocket_server)

    if __name__ == "__main__":
        server.run()
"""


async def test_pyframe_run_serves_a_guarded_apps_websocket_route_and_drains_it(tmp_path):
    # run() is never called here: set_route alone readied the app for `pyframe run`.
    async with pyframe_run(tmp_path, GUARDED_APP, "--host", "127.0.0.1", "--port", "0") \
            as (proc, url):
        async with asyncio.timeout(DEADLINE * 2):
            async with client(url, "/ws") as ws:
                await ws.send("through pyframe run")
                assert await recv(ws) == b"through pyframe run"
                proc.send_signal(signal.SIGTERM)
                assert await wait_closed(ws) == 1001
            assert await proc.wait() == 0


def test_without_the_ws_plugin_installed_a_websocket_route_names_the_extra(monkeypatch):
    assert sockets.ws_installed()  # in this workspace it is
    monkeypatch.setattr(importlib.metadata, "entry_points", lambda **selection: ())
    server = OutsideHTTP(("127.0.0.1", 0))
    with pytest.raises(ImportError) as info:
        server.set_route("/ws", echo_socket())
    assert install_hint("ws") in str(info.value)
    assert server._routes == {}
    assert not server.app.plugins.is_enabled("ws")


def test_send_takes_bytes_or_str_only():
    from pyframe.compat.outside import Request, WebSocketConnection

    loop = asyncio.new_event_loop()
    try:
        connection = WebSocketConnection(Request("GET", {}, b"", "HTTP/1.1", "/", ("", 0)),
                                         None, loop=loop)  # type: ignore[arg-type]
        with pytest.raises(TypeError, match="send takes bytes or str, got int"):
            connection.send(5)  # bytes(5) would have sent five NUL bytes
    finally:
        loop.close()
