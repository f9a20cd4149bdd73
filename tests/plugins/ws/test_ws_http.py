"""The ws plugin over real sockets: the handler's view of the request, the handshake checks
(Origin, caps, draining), limits, and how a handler's end becomes a close code."""

from __future__ import annotations

import asyncio
import json

import pytest
from websockets.exceptions import InvalidStatus

from pyframe import MiddlewareOrder
from pyframe.plugin import draining
from pyframe.testing import TestClient
from pyframe_ws.registry import runtime_of

from .frames import TEXT, RawClient, deflate, frame
from .support import DEADLINE, client, wait_until, ws_app


@pytest.fixture(autouse=True)
def _here(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)


class User:
    def __init__(self, user_id: str) -> None:
        self.id = user_id


async def fake_auth(context, call_next):
    """Stands in for the auth plugin's middleware: ``?as=<id>`` becomes ``context.user``."""
    name = context.query_params.get("as")
    if name:
        context.user = User(name)
    return await call_next(context)


fake_auth.order = MiddlewareOrder.AUTH


def echo_app(tmp_path, config="[plugins.ws]\n"):
    app = ws_app(tmp_path, config)
    app.middleware.append(fake_auth)

    @app.websocket("/ws/rooms/<room>")
    async def room(websocket):
        await websocket.send_json({
            "room": websocket.params["room"],
            "token": websocket.query_params.get("token"),
            "header": websocket.get_header("X-Client"),
            "cookie": websocket.get_cookie("sid"),
            "user": websocket.user.id if websocket.user else None,
            "path": websocket.path,
        })
        async for message in websocket:
            await websocket.send_text(message)

    @app.websocket("/ws/fails")
    async def fails(websocket):
        await websocket.receive_text()
        raise RuntimeError("handler bug")

    @app.websocket("/ws/closes")
    async def closes(websocket):
        await websocket.close(4000, "done here")

    @app.websocket("/ws/returns")
    async def returns(websocket):
        return None

    return app


async def refused_status(port: int, path: str, **options) -> int:
    with pytest.raises(InvalidStatus) as info:
        async with client(port, path, **options):
            pass
    return info.value.response.status_code


async def test_the_handler_sees_the_request(tmp_path):
    async with TestClient(echo_app(tmp_path)) as server:
        async with client(server.port, "/ws/rooms/lobby?token=t1&as=ada",
                          additional_headers={"X-Client": "tests", "Cookie": "sid=s1"}) as ws:
            seen = json.loads(await ws.recv(DEADLINE))
            assert seen == {"room": "lobby", "token": "t1", "header": "tests", "cookie": "s1",
                            "user": "ada", "path": "/ws/rooms/lobby"}
            await ws.send("echo")
            assert await ws.recv(DEADLINE) == "echo"


@pytest.mark.parametrize("path, code", [("/ws/fails", 1011), ("/ws/closes", 4000),
                                        ("/ws/returns", 1000)])
async def test_how_a_handler_ends_is_the_close_code(tmp_path, path, code):
    async with TestClient(echo_app(tmp_path)) as server:
        async with client(server.port, path) as ws:
            if path == "/ws/fails":
                await ws.send("x")  # the handler raises once it has it
            await asyncio.wait_for(ws.wait_closed(), DEADLINE)
            assert ws.close_code == code


async def test_origin_same_origin_by_default_and_no_origin_allowed(tmp_path):
    async with TestClient(echo_app(tmp_path)) as server:
        port = server.port
        own = f"http://127.0.0.1:{port}"
        for origin in (None, own, own.upper()):
            async with client(port, "/ws/rooms/a", origin=origin) as ws:
                assert json.loads(await ws.recv(DEADLINE))["room"] == "a"
        for origin in ("https://evil.example", f"http://127.0.0.1:{port + 1}",
                       "http://127.0.0.1", "null"):
            assert await refused_status(port, "/ws/rooms/a", origin=origin) == 403
        assert runtime_of(server.app).refused["origin"] == 4


async def test_listed_origins_and_any(tmp_path):
    app = echo_app(tmp_path, '[plugins.ws]\nallowed_origins = ["https://chat.example:443"]\n')
    async with TestClient(app) as server:
        async with client(server.port, "/ws/rooms/a", origin="https://chat.example") as ws:
            assert json.loads(await ws.recv(DEADLINE))["room"] == "a"
        assert await refused_status(server.port, "/ws/rooms/a",
                                    origin="https://chat.example.evil.test") == 403
    app = echo_app(tmp_path, '[plugins.ws]\nallowed_origins = ["*"]\n')
    async with TestClient(app) as server:
        async with client(server.port, "/ws/rooms/a", origin="https://anyone.example") as ws:
            assert json.loads(await ws.recv(DEADLINE))["room"] == "a"


async def test_connection_caps_per_address_and_per_user(tmp_path):
    app = echo_app(tmp_path, "[plugins.ws]\nmax_connections_per_ip = 3\n"
                             "max_connections_per_user = 2\n")
    async with TestClient(app) as server:
        port = server.port
        async with client(port, "/ws/rooms/a?as=ada") as a1, \
                client(port, "/ws/rooms/a?as=ada") as a2:
            for ws in (a1, a2):
                await ws.recv(DEADLINE)
            assert await refused_status(port, "/ws/rooms/a?as=ada") == 429
            async with client(port, "/ws/rooms/a?as=bob") as b1:
                await b1.recv(DEADLINE)
                assert await refused_status(port, "/ws/rooms/a?as=cyd") == 429  # per address
            # A closed connection frees its slot.
            async with client(port, "/ws/rooms/a?as=cyd") as c1:
                assert json.loads(await c1.recv(DEADLINE))["user"] == "cyd"


async def test_max_message_size_is_64_kib_by_default(tmp_path):
    async with TestClient(echo_app(tmp_path)) as server:
        async with client(server.port, "/ws/rooms/a", max_size=None) as ws:
            await ws.recv(DEADLINE)
            await ws.send("x" * 65536)  # exactly the limit
            assert len(await ws.recv(DEADLINE)) == 65536
            await ws.send("x" * 65537)
            await ws.wait_closed()
            assert ws.close_code == 1009


async def test_deflate_is_off_by_default(tmp_path):
    async with TestClient(echo_app(tmp_path)) as server:
        raw = await RawClient.connect(server.port, "/ws/rooms/a",
                                      extensions="permessage-deflate")
        assert raw.extensions == ""
        await raw.aclose()


async def test_deflate_when_on_is_bounded_by_max_message_size(tmp_path):
    app = echo_app(tmp_path, "[plugins.ws]\ncompress = true\nmax_message_size = 65536\n")
    async with TestClient(app) as server:
        async with client(server.port, "/ws/rooms/a") as ws:  # websockets offers deflate
            await ws.recv(DEADLINE)
            await ws.send("y" * 60_000)
            assert await ws.recv(DEADLINE) == "y" * 60_000
        raw = await RawClient.connect(server.port, "/ws/rooms/a",
                                      extensions="permessage-deflate")
        assert "permessage-deflate" in raw.extensions
        # 10 MiB of zeros compress to about 10 KiB: inflated at most to the limit, then 1009.
        await raw.send(frame(TEXT, deflate(b"\0" * (10 * 1024 * 1024)), rsv1=True))
        _, close = await raw.read_until_close()
        assert close is not None and close.close_code == 1009
        await raw.aclose()


async def test_an_upgrade_while_draining_is_refused_and_open_sockets_get_1001(tmp_path):
    app = echo_app(tmp_path)
    async with TestClient(app) as server:
        async with client(server.port, "/ws/rooms/a") as ws:
            await ws.recv(DEADLINE)
            draining(app).set()
            await asyncio.wait_for(ws.wait_closed(), DEADLINE)
            assert ws.close_code == 1001
        assert await refused_status(server.port, "/ws/rooms/a") == 503


async def test_a_plain_get_to_a_websocket_route_is_told_to_upgrade(tmp_path):
    async with TestClient(echo_app(tmp_path)) as server:
        async with server.get("/ws/rooms/a") as resp:
            assert resp.status == 426
            assert resp.headers["Upgrade"].lower() == "websocket"


async def test_unmasked_client_frame_is_refused_with_1002(tmp_path):
    app = echo_app(tmp_path)
    async with TestClient(app) as server:
        raw = await RawClient.connect(server.port, "/ws/rooms/a")
        await raw.read_frame()  # the handler's greeting
        await raw.send(frame(TEXT, b"hello", masked=False))
        _, close = await raw.read_until_close()
        assert close is not None and close.close_code == 1002
        assert await raw.closed_by_server()
        await raw.aclose()
        counters = runtime_of(app).counters
        await wait_until(lambda: counters.closes["protocol_error"] == 1, what="the close counted")
