"""A client that stops reading costs only its own connection: the others keep receiving every
broadcast within a bound, and the stalled one is closed (1008, slow_consumer) once its bounded
queue is full, never awaited."""

from __future__ import annotations

import asyncio
import socket

from pyframe.testing import TestClient
from pyframe_ws import WebSocketManager
from pyframe_ws.registry import runtime_of

from .frames import RawClient
from .support import DEADLINE, client, wait_until, ws_app

CONFIG = """[plugins.ws]
send_queue_messages = 16
send_queue_bytes = 262144
"""


async def test_a_stalled_client_does_not_slow_the_others(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    manager = WebSocketManager("slow-client")
    app = ws_app(tmp_path, CONFIG)

    @app.websocket("/ws")
    async def chat(websocket):
        if websocket.query_params.get("stall"):
            # Small kernel buffers on the server side, so the stall reaches the queue soon.
            sock = websocket.context.request.transport.get_extra_info("socket")
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4096)
        await manager.connect(websocket)
        try:
            async for message in websocket:
                await manager.broadcast(message)
        finally:
            await manager.disconnect(websocket)

    payload = "m" * 32 * 1024
    rounds = 100
    async with TestClient(app) as server:
        port = server.port
        stalled = await RawClient.connect(port, "/ws?stall=1", receive_buffer=4096)
        async with client(port, "/ws", max_size=None) as sender, \
                client(port, "/ws", max_size=None) as second, \
                client(port, "/ws", max_size=None) as third:
            await wait_until(lambda: manager.get_connection_count() == 4, what="4 connected")
            loop = asyncio.get_running_loop()
            started = loop.time()
            for n in range(rounds):
                await sender.send(f"{n}:{payload}")
                # Lockstep with the sender: the next message goes once this one came back.
                assert (await asyncio.wait_for(sender.recv(), DEADLINE)).startswith(f"{n}:")
            for other in (second, third):
                for n in range(rounds):
                    message = await asyncio.wait_for(other.recv(), DEADLINE)
                    assert message.startswith(f"{n}:")
            elapsed = loop.time() - started
            counters = runtime_of(app).counters
            await wait_until(lambda: counters.closes["slow_consumer"] == 1,
                             what="the stalled client closed as a slow consumer")
            assert manager.get_connection_count() == 3
            # 3.2 MB to each reader through one loop: seconds at worst, whatever the stalled
            # client does (it never read a byte).
            assert elapsed < DEADLINE
        stalled.abort()
