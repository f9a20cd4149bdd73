"""WebSocketManager in one process (the embedded backend): the reference's API over real
clients, users and groups, counts, namespaces, binding to the app, and encoding once."""

from __future__ import annotations

import asyncio
import json
from contextlib import AsyncExitStack
from pathlib import Path

import msgspec
import pytest

from pyframe.testing import TestClient
from pyframe_ws import WebSocketManager

from .support import DEADLINE, Peer, client, load_module, wait_until, ws_app, ws_url

COMMAND_APP = Path(__file__).with_name("command_app.py")


@pytest.fixture
def commands(tmp_path, monkeypatch):
    """A fresh command_app (its own app and manager) with ``[plugins.ws]`` in its cwd."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "pyframe.toml").write_text("[plugins.ws]\n")
    return load_module(COMMAND_APP, "ws_command_app")


async def peers(port: int, *queries: str) -> list[Peer]:
    return list(await asyncio.gather(*(Peer.open(ws_url(port, f"/ws{q}")) for q in queries)))


async def test_broadcast_reaches_every_connection_and_counts_follow(commands):
    manager = commands.manager
    async with TestClient(commands.app) as server:
        group = await peers(server.port, "", "", "")
        assert manager.get_connection_count() == 3
        await group[0].ask("broadcast", data={"msg": "hi"})
        for peer in group:
            assert await peer.receive() == {"msg": "hi"}
        await group[2].close()
        # The connection closed: the manager forgot it without a disconnect call of its own.
        await wait_until(lambda: manager.get_connection_count() == 2, what="one left")
        await group[0].ask("broadcast", data={"msg": "again"})
        for peer in group[:2]:
            assert await peer.receive() == {"msg": "again"}
        for peer in group[:2]:
            await peer.close()
        await wait_until(lambda: manager.get_connection_count() == 0, what="all gone")


async def test_disconnect_is_idempotent_and_stops_delivery(commands):
    manager = commands.manager
    async with TestClient(commands.app) as server:
        a, b = await peers(server.port, "", "")
        await a.ask("join", group="room")
        await a.ask("disconnect")
        await a.ask("disconnect")
        assert manager.get_connection_count() == 1
        assert manager.get_group_size("room") == 0
        await b.ask("broadcast", data={"msg": "only b"})
        assert await b.receive() == {"msg": "only b"}
        await b.ask("broadcast", data={"msg": "still only b"})
        assert await b.receive() == {"msg": "still only b"}
        assert a.inbox.empty()
        for peer in (a, b):
            await peer.close()


async def test_send_to_user_by_context_user_and_by_id_given_to_connect(commands):
    async with TestClient(commands.app) as server:
        ada1, ada2, bob, carl = await peers(server.port, "?as=ada", "?as=ada", "?as=bob",
                                            "?uid=carl")
        await bob.ask("user", user="ada", data={"msg": "for ada"})
        assert await ada1.receive() == {"msg": "for ada"}
        assert await ada2.receive() == {"msg": "for ada"}
        await ada1.ask("user", user="carl", data={"msg": "for carl"})
        assert await carl.receive() == {"msg": "for carl"}
        await ada1.ask("broadcast", data={"msg": "fence"})
        # Each saw the fence next: nobody got another user's message.
        assert await bob.receive() == {"msg": "fence"}
        assert await carl.receive() == {"msg": "fence"}
        for peer in (ada1, ada2):
            assert await peer.receive() == {"msg": "fence"}
        for peer in (ada1, ada2, bob, carl):
            await peer.close()


async def test_groups(commands):
    manager = commands.manager
    async with TestClient(commands.app) as server:
        a, b, c = await peers(server.port, "", "", "")
        await a.ask("join", group="red")
        await b.ask("join", group="red")
        await c.ask("join", group="blue")
        assert (manager.get_group_size("red"), manager.get_group_size("blue")) == (2, 1)
        assert (await c.ask("count", group="red"))["size"] == 2
        await c.ask("group", group="red", data={"msg": "to red"})
        assert await a.receive() == {"msg": "to red"}
        assert await b.receive() == {"msg": "to red"}
        await b.ask("leave", group="red")
        await b.ask("leave", group="red")  # idempotent
        assert manager.get_group_size("red") == 1
        await c.ask("group", group="red", data={"msg": "red again"})
        assert await a.receive() == {"msg": "red again"}
        await a.close()
        await wait_until(lambda: manager.get_group_size("red") == 0, what="red empty")
        await c.ask("broadcast", data={"msg": "fence"})
        assert await b.receive() == {"msg": "fence"}  # b got nothing in between
        for peer in (b, c):
            await peer.close()


async def test_an_http_handler_can_broadcast_through_a_module_level_manager(commands):
    async with TestClient(commands.app) as server:
        (a,) = await peers(server.port, "")
        async with server.post("/announce", json={"msg": "from http"}) as resp:
            assert resp.status == 200
        assert await a.receive() == {"msg": "from http"}
        async with server.get("/stats") as resp:
            assert (await resp.json())["count"] == 1
        await a.close()


async def test_a_broadcast_is_encoded_once_for_every_receiver(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    calls = []

    def counting_encode(message):
        calls.append(message)
        return msgspec.json.encode(message)

    manager = WebSocketManager("encoded-once", json_encode=counting_encode)
    app = ws_app(tmp_path)

    @app.websocket("/ws")
    async def handler(websocket):
        await manager.connect(websocket)
        await websocket.send_text("in")
        async for _ in websocket:
            pass

    async with TestClient(app) as server, AsyncExitStack() as stack:
        sockets = [await stack.enter_async_context(client(server.port, "/ws")) for _ in range(5)]
        for ws in sockets:
            assert await ws.recv(DEADLINE) == "in"
        await manager.broadcast({"n": 1})
        assert calls == [{"n": 1}]
        for ws in sockets:
            assert json.loads(await ws.recv(DEADLINE)) == {"n": 1}


async def test_several_managers_in_one_app_each_have_their_own_namespace(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    chat, alerts = WebSocketManager("chat"), WebSocketManager("alerts")
    app = ws_app(tmp_path)

    @app.websocket("/ws/<which>")
    async def handler(websocket):
        manager = chat if websocket.params["which"] == "chat" else alerts
        await manager.connect(websocket)
        await manager.join_group(websocket, "room")
        await websocket.send_text("ready")
        async for _ in websocket:
            pass

    async with TestClient(app) as server:
        async with client(server.port, "/ws/chat") as c, client(server.port, "/ws/alerts") as a:
            assert await c.recv(DEADLINE) == "ready" and await a.recv(DEADLINE) == "ready"
            assert (chat.get_connection_count(), alerts.get_connection_count()) == (1, 1)
            await chat.broadcast_to_group("room", "chat only")
            await alerts.broadcast("alerts only")
            assert await c.recv(DEADLINE) == "chat only"
            assert await a.recv(DEADLINE) == "alerts only"


async def test_two_managers_with_one_namespace_in_one_app_are_refused(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    first, second = WebSocketManager("twin"), WebSocketManager("twin")
    app = ws_app(tmp_path)

    @app.websocket("/ws/<n>")
    async def handler(websocket):
        try:
            await (first if websocket.params["n"] == "1" else second).connect(websocket)
        except ValueError as exc:
            await websocket.send_text(str(exc))
        await websocket.send_text("connected")

    async with TestClient(app) as server:
        async with client(server.port, "/ws/1") as one:
            assert await one.recv(DEADLINE) == "connected"
        async with client(server.port, "/ws/2") as two:
            assert "two WebSocketManagers named 'twin' in one app" in await two.recv(DEADLINE)


async def test_without_a_running_app_a_manager_has_nobody_to_send_to():
    manager = WebSocketManager("idle")
    await manager.broadcast({"lost": True})
    await manager.send_to_user("ada", "x")
    await manager.broadcast_to_group("g", b"x")
    assert manager.get_connection_count() == 0 and manager.get_group_size("g") == 0


def test_unnamed_managers_are_numbered_and_names_are_checked():
    first, second = WebSocketManager(), WebSocketManager()
    assert first.namespace.startswith("default") and second.namespace.startswith("default-")
    assert first.namespace != second.namespace
    with pytest.raises(ValueError, match="namespace"):
        WebSocketManager("has space")
    with pytest.raises(TypeError, match="group name"):
        asyncio.run(first.broadcast_to_group(None, "x"))


def test_messages_are_text_binary_or_json():
    manager = WebSocketManager("kinds")
    assert manager.encode("hé") == manager.encode("hé") and manager.encode("hé").text
    assert manager.encode("hé").payload == "hé".encode()
    assert not manager.encode(b"\x00").text and manager.encode(b"\x00").payload == b"\x00"
    assert manager.encode({"a": [1]}).payload == b'{"a":[1]}' and manager.encode({}).text
