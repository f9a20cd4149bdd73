"""WebSocket routes added while the app serves, and WebSocket routes that decline an upgrade
before the handshake (``claims``), over real sockets with a real client (``websockets``).

The WebSocket side is a plugin of the test's own on the core's public handshake
(``pyframe.plugin.accept_websocket``), so these tests hold the core alone; the ws plugin's
suite and tests/compat/outside run the same paths with pyframe_ws.
"""

from __future__ import annotations

import asyncio

import pytest
from structlog.testing import capture_logs
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus

from pyframe import WEBSOCKET, PluginError, PyFrameApp
from pyframe.plugin import UpgradedResponse, accept_websocket, get_logger, hookimpl
from pyframe.request import dispatch
from pyframe.request.routing import Route, Router
from pyframe.testing import TestClient

DEADLINE = 10.0


@pytest.fixture(autouse=True)
def _no_config_file(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # a pyframe.toml where the suite runs is not this app's


class TinyWebSockets:
    """Serves every WebSocket route with the bare handshake; counts what the core asked."""

    def __init__(self) -> None:
        self.made = 0       # pyframe_make_websocket_handler calls
        self.upgraded = 0   # handshakes done

    @hookimpl
    def pyframe_make_websocket_handler(self, app):
        self.made += 1
        return self.serve

    async def serve(self, context, route):
        accepted = await accept_websocket(context, max_msg_size=65536)
        self.upgraded += 1
        await route.handler(accepted.response)
        await accepted.response.close()
        return UpgradedResponse(accepted.response)


async def echo(ws) -> None:
    async for message in ws:
        await ws.send_str(f"echo {message.data}")


def app_with(plugin: TinyWebSockets | None = None) -> PyFrameApp:
    app = PyFrameApp()
    if plugin is not None:
        app.plugins.register(plugin, "tinyws")
    return app


def client(server: TestClient, path: str):
    return connect(server.url(path).replace("http://", "ws://"), proxy=None,
                   open_timeout=DEADLINE, close_timeout=DEADLINE)


async def refused(server: TestClient, path: str) -> tuple[int, bytes]:
    """The HTTP answer to an upgrade that did not become a WebSocket."""
    with pytest.raises(InvalidStatus) as info:
        async with client(server, path):
            pass
    response = info.value.response
    return response.status_code, response.body


async def echoes(server: TestClient, path: str) -> str:
    async with client(server, path) as ws:
        await ws.send("hi")
        return await asyncio.wait_for(ws.recv(), DEADLINE)


async def test_a_websocket_route_added_while_serving_is_served_at_once():
    plugin = TinyWebSockets()
    app = app_with(plugin)
    app.get("/live")(lambda context: "plain")
    async with TestClient(app) as server:
        # Started without WebSocket routes: nobody was asked to serve them, and an upgrade is
        # an ordinary GET.
        assert (plugin.made, app.router.websockets) == (0, 0)
        assert await refused(server, "/live") == (200, b"plain")
        app.add_route("/live", echo, [WEBSOCKET])
        assert (plugin.made, app.router.websockets) == (1, 1)
        assert await echoes(server, "/live") == "echo hi"
        app.websocket("/second")(echo)  # asked once: the handler serves every route
        assert await echoes(server, "/second") == "echo hi"
        assert plugin.made == 1
        async with server.get("/live") as resp:  # a plain GET still reaches the GET route
            assert (resp.status, await resp.text()) == (200, "plain")


async def test_removing_the_last_websocket_route_makes_upgrades_plain_gets_again():
    plugin = TinyWebSockets()
    app = app_with(plugin)
    app.get("/live")(lambda context: "plain")
    app.websocket("/live")(echo)
    async with TestClient(app) as server:
        assert await echoes(server, "/live") == "echo hi"
        app.remove_route("/live", [WEBSOCKET])
        assert app.router.websockets == 0
        assert await refused(server, "/live") == (200, b"plain")
        app.websocket("/live")(echo)  # and back, while serving
        assert await echoes(server, "/live") == "echo hi"
    assert plugin.upgraded == 2


async def test_claims_declines_before_the_handshake_and_the_get_route_answers():
    plugin = TinyWebSockets()
    app = app_with(plugin)
    asked: list[str] = []

    def claims(raw_path: str) -> bool:
        asked.append(raw_path)
        return raw_path.startswith("/ws")

    app.add_route("/<path:rest>", echo, [WEBSOCKET], claims=claims)
    app.get("/<path:rest>")(lambda context: f"http {context.params['rest']}")
    async with TestClient(app) as server:
        assert await echoes(server, "/ws/room") == "echo hi"
        assert await refused(server, "/page") == (200, b"http page")
        # The path as sent, still percent-encoded: what a prefix table compares.
        assert await refused(server, "/p%20q") == (200, b"http p q")
    assert asked == ["/ws/room", "/page", "/p%20q"]
    assert plugin.upgraded == 1  # no handshake for what was declined


async def test_a_declined_upgrade_without_a_get_route_is_told_to_upgrade():
    app = app_with(TinyWebSockets())
    app.add_route("/only", echo, [WEBSOCKET], claims=lambda raw_path: False)
    async with TestClient(app) as server:
        status, _ = await refused(server, "/only")
        assert status == 426  # the path has a WebSocket route and nothing else


async def test_a_failing_claims_is_a_500_and_a_log_line(monkeypatch):
    app = app_with(TinyWebSockets())

    def claims(raw_path: str) -> bool:
        raise LookupError("table broken")

    app.add_route("/ws", echo, [WEBSOCKET], claims=claims)
    with capture_logs() as logs:
        # A logger not used yet, so it logs to capture_logs (one in use keeps its output).
        monkeypatch.setattr(dispatch, "log", get_logger("pyframe"))
        async with TestClient(app) as server:
            status, _ = await refused(server, "/ws")
    assert status == 500
    failed = [entry for entry in logs if entry["event"] == "websocket_claims_failed"]
    assert len(failed) == 1 and failed[0]["path"] == "/ws"
    assert isinstance(failed[0]["exc_info"], LookupError)


async def test_a_started_app_nobody_serves_websockets_for_refuses_the_route():
    app = app_with()  # no plugin serves WebSocket routes
    app.get("/live")(lambda context: "plain")
    async with TestClient(app) as server:
        with pytest.raises(PluginError) as info:
            app.add_route("/live", echo, [WEBSOCKET])
        assert "no plugin serves them" in str(info.value)
        assert "before the app starts" in str(info.value)
        # Nothing changed: the route is not half-added.
        assert app.router.websockets == 0
        assert [route.methods for route in app.router] == [("GET",)]
        assert await refused(server, "/live") == (200, b"plain")


def test_claims_is_for_websocket_routes_only():
    with pytest.raises(ValueError, match="only a WebSocket route takes claims="):
        Route("/x", ["GET"], echo, claims=lambda raw_path: True)


def test_the_router_counts_paths_with_a_websocket_route():
    router = Router()
    router.add(Route("/a", [WEBSOCKET], echo))
    router.add(Route("/b/<path:rest>", [WEBSOCKET], echo))
    router.add(Route("/a", ["GET"], echo))
    assert router.websockets == 2
    router.add(Route("/a", [WEBSOCKET], echo), replace=True)  # replaced, not one more
    assert router.websockets == 2
    router.remove("/a")  # GET and WEBSOCKET both go
    assert router.websockets == 1
    router.remove("/b/<path:rest>", [WEBSOCKET])
    assert router.websockets == 0
    with pytest.raises(ValueError):
        router.add(Route("/c", [WEBSOCKET], echo))
        router.add(Route("/c", [WEBSOCKET], echo))  # a clash leaves the count alone
    assert router.websockets == 1
